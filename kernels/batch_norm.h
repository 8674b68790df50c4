// Batch normalization over the channel axis of a [outer, C, inner] view
// (NCHW: outer N, inner H*W; [N, C]: inner 1), split as PyTorch's native
// kernels are: per-channel statistics, the per-channel affine transform, and
// the two halves of the training-mode backward.
//   stats:          mean[c] and biased var[c] over the outer * inner values of c
//   apply:          y = (x - mean[c]) * scale[c] + shift[c]
//   backward_reduce: sum_g[c] = sum g, sum_gx[c] = sum g * (x - mean[c])
//   backward_elemt: dx = (g - mean_g[c] - (x - mean[c]) * k[c]) * scale[c]
// with, in training mode, scale = invstd * weight, mean_g = sum_g / n and
// k = invstd^2 * sum_gx / n (n = outer * inner).
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct BatchNormDims {
  int64_t outer = 1, c = 1, inner = 1;
};

namespace cpu {
template <class T>
void batch_norm_stats(const T* x, T* mean, T* var, const BatchNormDims& d);
template <class T>
void batch_norm_apply(const T* x, const T* mean, const T* scale, const T* shift, T* y, const BatchNormDims& d);
template <class T>
void batch_norm_backward_reduce(const T* g, const T* x, const T* mean, T* sum_g, T* sum_gx, const BatchNormDims& d);
template <class T>
void batch_norm_backward_elemt(const T* g, const T* x, const T* mean, const T* mean_g, const T* k, const T* scale,
                               T* dx, const BatchNormDims& d);
}  // namespace cpu
namespace cuda {
template <class T>
void batch_norm_stats(const T* x, T* mean, T* var, const BatchNormDims& d, Stream s);
template <class T>
void batch_norm_apply(const T* x, const T* mean, const T* scale, const T* shift, T* y, const BatchNormDims& d,
                      Stream s);
template <class T>
void batch_norm_backward_reduce(const T* g, const T* x, const T* mean, T* sum_g, T* sum_gx, const BatchNormDims& d,
                                Stream s);
template <class T>
void batch_norm_backward_elemt(const T* g, const T* x, const T* mean, const T* mean_g, const T* k, const T* scale,
                               T* dx, const BatchNormDims& d, Stream s);
}  // namespace cuda
}  // namespace gf
