// Pixel norm: x * rsqrt(mean(x^2 over dim) + eps). PGGAN normalizes each
// pixel's feature vector with it (dim 1 of NCHW); the mapping network
// normalizes z with it (dim 1 of [N, z_dim]).
#pragma once
#include "engine/tensor.h"

namespace gf {

Tensor pixel_norm(const Tensor& x, int64_t dim = 1, double eps = 1e-8);

// pixel_norm's backward as an op of its own: dx from the forward input x and
// the output gradient g, one fused kernel. Differentiable again in x and g
// (the mapping network's z normalization lies on the path-length penalty's path).
Tensor pixel_norm_grad(const Tensor& x, const Tensor& g, int64_t dim = 1, double eps = 1e-8);

}  // namespace gf
