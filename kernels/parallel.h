// Loops that are split across the OpenMP threads only when they are large
// enough, without entering OpenMP at all otherwise. A region turned off by an
// `if (false)` clause still starts a one-thread team, and libgomp allocates
// and frees that team on every such region (it keeps only its last team of
// two or more threads for reuse): thousands of mallocs per training step.
// These helpers run the plain loop instead. Iterations are split as
// `omp parallel for` (schedule static) splits them, and each iteration
// computes the same values either way.
#pragma once
#include <omp.h>

#include <atomic>
#include <cstdint>
#include <exception>

namespace gf::cpu {

// Whether a loop asked to run in parallel would get more than one thread.
inline bool use_threads(bool parallel) { return parallel && omp_get_max_threads() > 1 && !omp_in_parallel(); }

// f(i) for every i in [0, n): in a parallel region when `parallel`. An
// exception may not leave a parallel region (std::terminate ended the
// process): the first one thrown is rethrown after it, the iterations not yet
// begun are skipped, as the plain loop stops at its throw.
template <class F>
inline void parallel_for(int64_t n, bool parallel, F&& f) {
  if (use_threads(parallel)) {
    std::exception_ptr error;
    std::atomic<bool> failed{false};
#pragma omp parallel for
    for (int64_t i = 0; i < n; ++i) {
      if (failed.load(std::memory_order_relaxed)) continue;
      try {
        f(i);
      } catch (...) {
#pragma omp critical(gf_parallel_for_error)
        if (!error) error = std::current_exception();
        failed.store(true, std::memory_order_relaxed);
      }
    }
    if (error) std::rethrow_exception(error);
  } else {
    for (int64_t i = 0; i < n; ++i) f(i);
  }
}

// The same for maps the compiler should vectorize (omp simd either way).
template <class F>
inline void parallel_for_simd(int64_t n, bool parallel, F&& f) {
  if (use_threads(parallel)) {
#pragma omp parallel for simd
    for (int64_t i = 0; i < n; ++i) f(i);
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) f(i);
  }
}

// f with this thread's OpenMP team size (omp_get_max_threads) at 1, inside a
// parallel region too, then restored: a library that plans its work by it
// (oneDNN builds, keys and runs a primitive for that many threads) plans
// for one.
template <class F>
inline void with_team_size_one(F&& f) {
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  try {
    f();
  } catch (...) {
    omp_set_num_threads(threads);
    throw;
  }
  omp_set_num_threads(threads);
}

// f() with OpenMP limited to the calling thread: a library call made in it
// (OpenBLAS, LAPACK, oneDNN) runs on one thread, so its result does not
// depend on how many there are. Inside a parallel region it already does.
template <class F>
inline void on_one_thread(F&& f) {
  if (omp_get_max_threads() == 1 || omp_in_parallel()) return f();
  with_team_size_one(f);
}

}  // namespace gf::cpu
