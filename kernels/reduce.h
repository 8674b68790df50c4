// Reductions over the middle axis of a [outer, r, inner] view:
// y[o, i] = scale * reduce_k x[o, k, i]. The engine brings any choice of
// reduced dims to this form (merging adjacent dims, permuting when needed).
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

enum class ReduceOp { sum, max };

// The running max's step on both sides: a NaN, once met, stays, as torch's
// max/amax propagate it (`x > acc` alone passes over a NaN x, which hid NaN
// logits). Any order of steps gives the same result.
template <class T>
GF_HD inline T max_keeping_nan(T acc, T x) {
  return x > acc || x != x ? x : acc;
}

namespace cpu {
template <class T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double scale);
}
namespace cuda {
// Bytes of scratch the CUDA reduction needs for this shape (0 when it runs in one pass).
size_t reduce_workspace_bytes(int64_t outer, int64_t r, int64_t inner, size_t elem_size);
template <class T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double scale, void* workspace,
            Stream s);
}  // namespace cuda
}  // namespace gf
