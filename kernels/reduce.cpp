#include "kernels/reduce.h"

#include "kernels/parallel.h"

#include <limits>
#include <vector>

namespace gf::cpu {

// Accumulates in double so the float32 reference is accurate to rounding.
template <class T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double scale) {
  const double init = op == ReduceOp::sum ? 0.0 : -std::numeric_limits<double>::infinity();
  if (inner == 1 && outer == 1) {  // one long row: split it across threads
    double acc = init;
    if (op == ReduceOp::sum) {
#pragma omp parallel for simd reduction(+ : acc) if (r > 32768)
      for (int64_t k = 0; k < r; ++k) acc += x[k];
    } else {
#pragma omp parallel for simd reduction(max : acc) if (r > 32768)
      for (int64_t k = 0; k < r; ++k) acc = x[k] > acc ? x[k] : acc;
    }
    y[0] = static_cast<T>(op == ReduceOp::sum ? acc * scale : acc);
    return;
  }
  if (inner == 1) {
    parallel_for(outer, outer * r > 32768, [&](int64_t o) {
      const T* row = x + o * r;
      double acc = init;
      // simd reductions may reorder the sum: several accumulators, not one serial chain.
      if (op == ReduceOp::sum) {
#pragma omp simd reduction(+ : acc)
        for (int64_t k = 0; k < r; ++k) acc += row[k];
      } else {
#pragma omp simd reduction(max : acc)
        for (int64_t k = 0; k < r; ++k) acc = row[k] > acc ? row[k] : acc;
      }
      y[o] = static_cast<T>(acc * (op == ReduceOp::sum ? scale : 1.0));
    });
    return;
  }
  parallel_for(outer, outer * r * inner > 32768, [&](int64_t o) {
    // One accumulator row per thread, kept between calls (no heap block per call).
    thread_local std::vector<double> acc_row;
    acc_row.assign(static_cast<size_t>(inner), init);
    double* acc = acc_row.data();
    for (int64_t k = 0; k < r; ++k) {
      const T* row = x + (o * r + k) * inner;
      if (op == ReduceOp::sum)
        for (int64_t i = 0; i < inner; ++i) acc[i] += row[i];
      else
        for (int64_t i = 0; i < inner; ++i) acc[i] = row[i] > acc[i] ? row[i] : acc[i];
    }
    for (int64_t i = 0; i < inner; ++i)
      y[o * inner + i] = static_cast<T>(acc[i] * (op == ReduceOp::sum ? scale : 1.0));
  });
}

template void reduce<float>(ReduceOp, const float*, float*, int64_t, int64_t, int64_t, double);
template void reduce<double>(ReduceOp, const double*, double*, int64_t, int64_t, int64_t, double);

}  // namespace gf::cpu
