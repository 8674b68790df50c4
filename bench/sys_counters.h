// Process-wide counts for bench/profile_step.cpp, taken by interposition:
// the program that includes this header (one translation unit, once)
// defines malloc and its relatives and libgomp's parallel-region entry
// points itself. The dynamic linker binds every caller to the program's
// definitions (ours, libstdc++'s operator new, OpenBLAS, oneDNN), which
// count and forward to glibc's __libc_* functions and to libgomp's own
// entry points (found with dlsym(RTLD_NEXT)). Counting costs one relaxed
// atomic add per call. Linux with glibc and libgomp (GCC) only.
#pragma once
#include <dlfcn.h>

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

inline void count_alloc(size_t n) {
  mallocs.fetch_add(1, std::memory_order_relaxed);
  malloc_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
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
