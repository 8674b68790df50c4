// AdaIN: StyleGAN1's instance norm over H, W of each (sample, channel) plane,
// x - mean then * rsqrt(mean(x^2) + 1e-8), followed by the style:
// y = ys * x_norm + yb, ys and yb of shape [N, C]. (StyleGAN1 passes ys + 1.)
#pragma once
#include "engine/ops.h"

namespace gf {

constexpr double kAdainEps = 1e-8;

Tensor adain(const Tensor& x, const Tensor& ys, const Tensor& yb);

}  // namespace gf
