// Fibers: execution contexts with their own stacks, switched explicitly. Each
// emulated CUDA thread is one; the host thread's own context is another (with
// no stack of its own here). Two ways to switch: a few instructions of x86-64
// assembly (callee-saved registers, MXCSR and the x87 control word), and
// ucontext, which works on any POSIX system but makes a system call per switch
// to save the signal mask. GFEMU_SWITCH=ucontext picks the second on x86-64
// too, so that path is tested where CI runs.
#pragma once
#include <ucontext.h>

#include <cstddef>

namespace gfemu {

struct Fiber {
  void* sp = nullptr;  // the x86-64 switch's saved stack pointer
  ucontext_t uc{};     // the ucontext switch's saved state
  char* stack = nullptr;  // mapped region, its lowest page a guard; null for a host thread
  size_t stack_bytes = 0;
  void (*entry)(void*) = nullptr;  // runs when first switched to; must never return
  void* arg = nullptr;
  // AddressSanitizer's view: the usable stack, and its fake stack while switched away.
  const void* asan_bottom = nullptr;
  size_t asan_size = 0;
  void* asan_fake_stack = nullptr;
};

// Gives `f` a fresh stack of at least `bytes` on which entry(arg) starts when
// `f` is first switched to.
void fiber_init(Fiber& f, size_t bytes, void (*entry)(void*), void* arg);
void fiber_release(Fiber& f);
// Saves the running context into `from` and resumes `to`; returns when some
// context switches back to `from`.
void fiber_switch(Fiber& from, Fiber& to);
// "x86-64" or "ucontext".
const char* fiber_switch_kind();

}  // namespace gfemu
