// Pixel norm over the middle axis of a [outer, r, inner] view:
// y[o, k, i] = x[o, k, i] * rsqrt(mean_k x[o, k, i]^2 + eps).
// The engine maps any `dim` to this form (dim 1 of NCHW: outer N, r C, inner HW).
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {
namespace cpu {
template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps);
}
namespace cuda {
template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps, Stream s);
}
}  // namespace gf
