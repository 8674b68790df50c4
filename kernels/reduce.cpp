#include "kernels/reduce.h"

#include "kernels/parallel.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace gf::cpu {

// A whole-tensor sum (or max) is cut into chunks of this many elements, fixed
// by the size alone: each chunk is one accumulation, and the chunks' results
// are combined in chunk order, so the rounding is the same whatever the
// number of threads that share the chunks. A tensor of one chunk is one
// accumulation on the calling thread, as it always was (the same bits).
constexpr int64_t kWholeChunk = kMinParallelWork;

// Accumulates in double so the float32 reference is accurate to rounding.
template <class T>
double reduce_span(ReduceOp op, const T* x, int64_t r, double init) {
  double acc = init;
  // simd reductions may reorder the sum: several accumulators, not one serial chain.
  if (op == ReduceOp::sum) {
#pragma omp simd reduction(+ : acc)
    for (int64_t k = 0; k < r; ++k) acc += x[k];
  } else {
    // The simd max combines lanes with its own rule, so a NaN is counted aside.
    int nan = 0;
#pragma omp simd reduction(max : acc) reduction(| : nan)
    for (int64_t k = 0; k < r; ++k) {
      acc = x[k] > acc ? x[k] : acc;
      nan |= x[k] != x[k];
    }
    if (nan) acc = std::numeric_limits<double>::quiet_NaN();
  }
  return acc;
}

template <class T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double scale) {
  const double init = op == ReduceOp::sum ? 0.0 : -std::numeric_limits<double>::infinity();
  if (inner == 1 && outer == 1) {  // one long row: its chunks are split across threads
    const int64_t chunks = (r + kWholeChunk - 1) / kWholeChunk;
    double acc = init;
    if (chunks <= 1) {
      acc = reduce_span(op, x, r, init);
    } else {
      thread_local std::vector<double> partial;  // kept between calls (no heap block per call)
      partial.resize(static_cast<size_t>(chunks));
      double* part = partial.data();
      parallel_for(chunks, true, [&](int64_t c) {
        const int64_t begin = c * kWholeChunk;
        part[c] = reduce_span(op, x + begin, std::min(kWholeChunk, r - begin), init);
      });
      for (int64_t c = 0; c < chunks; ++c)
        acc = op == ReduceOp::sum ? acc + part[c] : max_keeping_nan(acc, part[c]);
    }
    y[0] = static_cast<T>(op == ReduceOp::sum ? acc * scale : acc);
    return;
  }
  if (inner == 1) {
    parallel_for(outer, outer * r > 32768, [&](int64_t o) {
      const double acc = reduce_span(op, x + o * r, r, init);
      y[o] = static_cast<T>(acc * (op == ReduceOp::sum ? scale : 1.0));
    });
    return;
  }
  parallel_for(outer, outer * r * inner > 32768, [&](int64_t o) {
    // One accumulator row per thread, kept between calls (no heap block per call).
    thread_local std::vector<double> acc_row;
    acc_row.assign(static_cast<size_t>(inner), init);
    double* acc = acc_row.data();
    int nan = 0;
    for (int64_t k = 0; k < r; ++k) {
      const T* row = x + (o * r + k) * inner;
      if (op == ReduceOp::sum) {
        for (int64_t i = 0; i < inner; ++i) acc[i] += row[i];
      } else {
        // The plain max vectorizes; a NaN is only noted here, and its columns
        // marked in a second pass (rare), not tested per element.
#pragma omp simd reduction(| : nan)
        for (int64_t i = 0; i < inner; ++i) {
          acc[i] = row[i] > acc[i] ? row[i] : acc[i];
          nan |= row[i] != row[i];
        }
      }
    }
    if (nan)
      for (int64_t k = 0; k < r; ++k) {
        const T* row = x + (o * r + k) * inner;
        for (int64_t i = 0; i < inner; ++i)
          if (row[i] != row[i]) acc[i] = std::numeric_limits<double>::quiet_NaN();
      }
    for (int64_t i = 0; i < inner; ++i)
      y[o * inner + i] = static_cast<T>(acc[i] * (op == ReduceOp::sum ? scale : 1.0));
  });
}

template void reduce<float>(ReduceOp, const float*, float*, int64_t, int64_t, int64_t, double);
template void reduce<double>(ReduceOp, const double*, double*, int64_t, int64_t, int64_t, double);

}  // namespace gf::cpu
