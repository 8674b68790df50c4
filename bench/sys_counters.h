// Process-wide counts for bench/profile_step.cpp, taken by interposition:
// the program that includes this header (one translation unit, once)
// defines malloc and its relatives and libgomp's parallel-region entry
// points itself. The dynamic linker binds every caller to the program's
// definitions (ours, libstdc++'s operator new, OpenBLAS, oneDNN), which
// count and forward to glibc's __libc_* functions and to libgomp's own
// entry points (found with dlsym(RTLD_NEXT)). Counting costs one relaxed
// atomic add per call. Linux with glibc and libgomp (GCC) only.
//
// Optionally (record_sites), each malloc also records its call stack in a
// fixed table (no allocation of its own), so a program can print where the
// steady state's mallocs come from: print_sites writes the busiest stacks,
// each frame as object+offset (for addr2line -C -f -e <object> <offset>) and
// the nearest exported symbol.
#pragma once
#include <dlfcn.h>
#include <execinfo.h>

#include <cxxabi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/profile.h"

namespace gf::bench::sys {

inline std::atomic<int64_t> regions{0}, serial_regions{0}, mallocs{0}, malloc_bytes{0};

// GCC passes num_threads = 1 for a region whose if clause is false.
inline void count_region(unsigned num_threads) {
  (num_threads == 1 ? serial_regions : regions).fetch_add(1, std::memory_order_relaxed);
}

// ---- call sites (only the thread that turned recording on records) ----
constexpr int kSiteFrames = 10, kSiteSlots = 8192;
struct Site {
  void* frames[kSiteFrames];
  int depth;
  int64_t count;
};
inline Site g_sites[kSiteSlots];
inline thread_local bool t_record = false, t_in_hook = false;
inline int64_t g_sites_dropped = 0;

inline void record_site() {
  if (t_in_hook) return;
  t_in_hook = true;
  void* f[kSiteFrames + 1];
  const int n = backtrace(f, kSiteFrames + 1) - 1;  // drop the hook's own frame (malloc, with this inlined)
  if (n > 0) {
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; ++i) h = (h ^ reinterpret_cast<uintptr_t>(f[i + 1])) * 1099511628211ull;
    for (int probe = 0; probe < kSiteSlots; ++probe) {
      Site& s = g_sites[(h + probe) % kSiteSlots];
      if (s.count == 0) {
        std::memcpy(s.frames, f + 1, sizeof(void*) * n);
        s.depth = n;
        s.count = 1;
        break;
      }
      if (s.depth == n && std::memcmp(s.frames, f + 1, sizeof(void*) * n) == 0) {
        s.count++;
        break;
      }
      if (probe == kSiteSlots - 1) g_sites_dropped++;
    }
  }
  t_in_hook = false;
}

// Starts recording on the calling thread (clears the table).
inline void record_sites(bool on) {
  if (on) {
    void* f[2];
    backtrace(f, 2);  // loads the unwinder now, not inside a recorded malloc
    std::memset(static_cast<void*>(g_sites), 0, sizeof g_sites);
    g_sites_dropped = 0;
  }
  t_record = on;
}

// The `top` stacks with the most mallocs, `per` divides the counts.
inline void print_sites(int top, double per) {
  Site* order[kSiteSlots];
  int n = 0;
  for (Site& s : g_sites)
    if (s.count) order[n++] = &s;
  std::sort(order, order + n, [](const Site* a, const Site* b) { return a->count > b->count; });
  std::printf("\nmalloc call stacks, %d distinct (%lld dropped), busiest %d (frames as object+offset):\n", n,
              static_cast<long long>(g_sites_dropped), top);
  for (int i = 0; i < n && i < top; ++i) {
    std::printf("  %.1f per minibatch:", double(order[i]->count) / per);
    for (int k = 0; k < order[i]->depth; ++k) {
      Dl_info info{};
      const uintptr_t at = reinterpret_cast<uintptr_t>(order[i]->frames[k]) - 1;  // inside the call
      if (dladdr(order[i]->frames[k], &info) && info.dli_fname) {
        const char* base = std::strrchr(info.dli_fname, '/');
        std::printf("\n      %s+0x%lx", base ? base + 1 : info.dli_fname,
                    static_cast<unsigned long>(at - reinterpret_cast<uintptr_t>(info.dli_fbase)));
        if (info.dli_sname) {  // the nearest exported symbol (the program exports its own)
          int status = 0;
          char* name = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
          std::printf(" %.140s", status == 0 && name ? name : info.dli_sname);
          std::free(name);
        }
      } else {
        std::printf("\n      %p", order[i]->frames[k]);
      }
    }
    std::printf("\n");
  }
}

inline void count_alloc(size_t n) {
  mallocs.fetch_add(1, std::memory_order_relaxed);
  malloc_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  if (t_record) record_site();
}

inline profile::Counters read() {
  profile::Counters c;
  c.parallel_regions = regions.load(std::memory_order_relaxed);
  c.serial_regions = serial_regions.load(std::memory_order_relaxed);
  c.mallocs = mallocs.load(std::memory_order_relaxed);
  c.malloc_bytes = malloc_bytes.load(std::memory_order_relaxed);
  return c;
}

// libgomp's entry point `name`, the next definition after the program's.
template <class F>
F next_symbol(const char* name) {
  void* p = dlsym(RTLD_NEXT, name);
  if (!p) __builtin_trap();  // not libgomp: nothing sensible to forward to
  F f;
  std::memcpy(&f, &p, sizeof f);
  return f;
}

}  // namespace gf::bench::sys

extern "C" {

void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) noexcept {
  gf::bench::sys::count_alloc(n);
  return __libc_malloc(n);
}
void* calloc(size_t k, size_t n) noexcept {
  gf::bench::sys::count_alloc(k * n);
  return __libc_calloc(k, n);
}
void* realloc(void* p, size_t n) noexcept {
  gf::bench::sys::count_alloc(n);
  return __libc_realloc(p, n);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(size_t align, size_t n) noexcept {
  gf::bench::sys::count_alloc(n);
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) noexcept {
  gf::bench::sys::count_alloc(n);
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) noexcept {
  gf::bench::sys::count_alloc(n);
  void* p = __libc_memalign(align, n);
  if (!p) return 12;  // ENOMEM
  *out = p;
  return 0;
}

// Every way GCC's OpenMP starts a parallel region (the GOMP 4.0+ entry points).
using GompFn = void (*)(void*);
#define GF_GOMP_FORWARD(name, params, args)                                                        \
  void name params {                                                                               \
    static const auto next = gf::bench::sys::next_symbol<void(*) params>(#name);                   \
    gf::bench::sys::count_region(threads);                                                         \
    next args;                                                                                     \
  }
GF_GOMP_FORWARD(GOMP_parallel, (GompFn fn, void* data, unsigned threads, unsigned flags), (fn, data, threads, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_static,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, long chunk, unsigned flags),
                (fn, data, threads, start, end, incr, chunk, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_dynamic,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, long chunk, unsigned flags),
                (fn, data, threads, start, end, incr, chunk, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_guided,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, long chunk, unsigned flags),
                (fn, data, threads, start, end, incr, chunk, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_runtime,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, unsigned flags),
                (fn, data, threads, start, end, incr, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_nonmonotonic_dynamic,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, long chunk, unsigned flags),
                (fn, data, threads, start, end, incr, chunk, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_nonmonotonic_guided,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, long chunk, unsigned flags),
                (fn, data, threads, start, end, incr, chunk, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_nonmonotonic_runtime,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, unsigned flags),
                (fn, data, threads, start, end, incr, flags))
GF_GOMP_FORWARD(GOMP_parallel_loop_maybe_nonmonotonic_runtime,
                (GompFn fn, void* data, unsigned threads, long start, long end, long incr, unsigned flags),
                (fn, data, threads, start, end, incr, flags))
GF_GOMP_FORWARD(GOMP_parallel_sections, (GompFn fn, void* data, unsigned threads, unsigned count, unsigned flags),
                (fn, data, threads, count, flags))
#undef GF_GOMP_FORWARD

unsigned GOMP_parallel_reductions(GompFn fn, void* data, unsigned threads, unsigned flags) {
  static const auto next = gf::bench::sys::next_symbol<unsigned (*)(GompFn, void*, unsigned, unsigned)>(
      "GOMP_parallel_reductions");
  gf::bench::sys::count_region(threads);
  return next(fn, data, threads, flags);
}

}  // extern "C"
