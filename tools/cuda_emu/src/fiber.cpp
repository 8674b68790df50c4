#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#if defined(__SANITIZE_ADDRESS__)
#define GFEMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GFEMU_ASAN 1
#endif
#endif
#ifdef GFEMU_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

// ---- x86-64 System V: switch stacks, saving what a callee must preserve ----
// gfemu_swap_stacks(void** save_sp, void* load_sp) pushes rbp, rbx, r12-r15 and
// the SSE/x87 control words, stores the stack pointer in *save_sp, loads
// load_sp and pops the same from there. A new fiber's stack is laid out as if
// it had been saved this way, with gfemu_fiber_trampoline as the return
// address and its Fiber* in rbx.
#if defined(__x86_64__)
extern "C" void gfemu_swap_stacks(void** save_sp, void* load_sp);
extern "C" void gfemu_fiber_trampoline();
asm(R"(
    .text
    .p2align 4
    .globl gfemu_swap_stacks
    .type gfemu_swap_stacks, @function
gfemu_swap_stacks:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size gfemu_swap_stacks, .-gfemu_swap_stacks

    .p2align 4
    .globl gfemu_fiber_trampoline
    .type gfemu_fiber_trampoline, @function
gfemu_fiber_trampoline:
    movq %rbx, %rdi
    call gfemu_fiber_start@PLT
    ud2
    .size gfemu_fiber_trampoline, .-gfemu_fiber_trampoline
)");
#endif

namespace gfemu {
namespace {

// Read once, before main: the choice is on every switch's path.
#if defined(__x86_64__)
const bool g_ucontext = [] {
  const char* e = std::getenv("GFEMU_SWITCH");
  return e && std::strcmp(e, "ucontext") == 0;
}();
#else
const bool g_ucontext = true;
#endif
inline bool use_ucontext() { return g_ucontext; }

// The context this host thread switched away from last: a fiber that starts
// reports its stack to ASan, which needs it to switch back.
thread_local Fiber* t_from = nullptr;

void asan_start(Fiber& from, const Fiber& to) {
#ifdef GFEMU_ASAN
  __sanitizer_start_switch_fiber(&from.asan_fake_stack, to.asan_bottom, to.asan_size);
#else
  (void)from;
  (void)to;
#endif
}

// Runs on the context just switched to; `self` is that context.
void asan_finish(Fiber& self) {
#ifdef GFEMU_ASAN
  const void* bottom = nullptr;
  size_t size = 0;
  __sanitizer_finish_switch_fiber(self.asan_fake_stack, &bottom, &size);
  if (t_from) {  // learns the host thread's stack the first time a fiber starts
    t_from->asan_bottom = bottom;
    t_from->asan_size = size;
  }
#else
  (void)self;
#endif
}

[[noreturn]] void start(Fiber* f) {
  asan_finish(*f);
  f->entry(f->arg);
  std::fprintf(stderr, "gfemu: a fiber's entry function returned\n");
  std::abort();
}

void ucontext_start(int hi, int lo) {
  const uintptr_t p = (static_cast<uintptr_t>(static_cast<unsigned>(hi)) << 32) | static_cast<unsigned>(lo);
  start(reinterpret_cast<Fiber*>(p));
}

// Apart, because getcontext returns twice: nothing of the caller's may live in registers across it.
__attribute__((noinline)) void init_ucontext(Fiber& f, char* stack, size_t bytes) {
  getcontext(&f.uc);
  f.uc.uc_stack.ss_sp = stack;
  f.uc.uc_stack.ss_size = bytes;
  f.uc.uc_link = nullptr;
  const uintptr_t p = reinterpret_cast<uintptr_t>(&f);
  makecontext(&f.uc, reinterpret_cast<void (*)()>(&ucontext_start), 2, static_cast<int>(p >> 32),
              static_cast<int>(p & 0xffffffffu));
}

}  // namespace
}  // namespace gfemu

extern "C" [[noreturn]] void gfemu_fiber_start(gfemu::Fiber* f) { gfemu::start(f); }

namespace gfemu {

void fiber_init(Fiber& f, size_t bytes, void (*entry)(void*), void* arg) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  bytes = (bytes + page - 1) / page * page;
  if (!f.stack || f.stack_bytes != bytes + page) {
    fiber_release(f);
    void* m = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
      std::fprintf(stderr, "gfemu: cannot map a fiber stack of %zu bytes\n", bytes);
      std::abort();
    }
    mprotect(m, page, PROT_NONE);  // a stack overflow faults instead of corrupting the neighbour
    f.stack = static_cast<char*>(m);
    f.stack_bytes = bytes + page;
  }
  f.entry = entry;
  f.arg = arg;
  f.asan_bottom = f.stack + page;
  f.asan_size = bytes;
  f.asan_fake_stack = nullptr;
  char* top = f.stack + f.stack_bytes;
  if (use_ucontext()) {
    init_ucontext(f, f.stack + page, bytes);
    return;
  }
#if defined(__x86_64__)
  // Eight 8-byte slots: control words, r15, r14, r13, r12, rbx, rbp, return
  // address. After the final `ret` the stack pointer is 16-byte aligned, as
  // the trampoline's `call` needs.
  uintptr_t base = (reinterpret_cast<uintptr_t>(top) & ~uintptr_t(15)) - 80;
  uint64_t* slot = reinterpret_cast<uint64_t*>(base);
  uint32_t mxcsr = 0;
  uint16_t fpucw = 0;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  slot[0] = mxcsr | (static_cast<uint64_t>(fpucw) << 32);
  slot[1] = slot[2] = slot[3] = slot[4] = 0;  // r15 r14 r13 r12
  slot[5] = reinterpret_cast<uint64_t>(&f);   // rbx: the fiber, for the trampoline
  slot[6] = 0;                                // rbp
  slot[7] = reinterpret_cast<uint64_t>(&gfemu_fiber_trampoline);
  f.sp = slot;
#else
  (void)top;
#endif
}

void fiber_release(Fiber& f) {
  if (f.stack) munmap(f.stack, f.stack_bytes);
  f.stack = nullptr;
  f.stack_bytes = 0;
}

void fiber_switch(Fiber& from, Fiber& to) {
  asan_start(from, to);
  t_from = &from;
  if (use_ucontext()) {
    swapcontext(&from.uc, &to.uc);
  } else {
#if defined(__x86_64__)
    gfemu_swap_stacks(&from.sp, to.sp);
#endif
  }
  asan_finish(from);
}

const char* fiber_switch_kind() { return use_ucontext() ? "ucontext" : "x86-64"; }

}  // namespace gfemu
