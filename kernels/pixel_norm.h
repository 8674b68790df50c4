// Pixel norm over the middle axis of a [outer, r, inner] view:
// y[o, k, i] = x[o, k, i] * rsqrt(mean_k x[o, k, i]^2 + eps).
// The engine maps any `dim` to this form (dim 1 of NCHW: outer N, r C, inner HW).
// The gradient, from x and the output gradient g (s = rsqrt(mean x^2 + eps)):
// dx = s * (g - y * mean_k(g * y)) = s * g - x * s^3 * mean_k(g * x).
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {
namespace cpu {
template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps);
template <class T>
void pixel_norm_grad(const T* x, const T* g, T* dx, int64_t outer, int64_t r, int64_t inner, double eps);
}  // namespace cpu
namespace cuda {
template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps, Stream s);
template <class T>
void pixel_norm_grad(const T* x, const T* g, T* dx, int64_t outer, int64_t r, int64_t inner, double eps, Stream s);
}  // namespace cuda
}  // namespace gf
