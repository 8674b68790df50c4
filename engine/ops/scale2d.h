// PGGAN's resampling layers (networks.py upscale2d and downscale2d, also
// StyleGAN v1's): nearest-neighbour upscaling and box-filter (average pool)
// downscaling by an integer factor. Each one's gradient is the other, so both
// are differentiable to any order.
#pragma once
#include "engine/tensor.h"

namespace gf {

// x [N, C, H, W] -> [N, C, H f, W f], every value repeated over an f x f
// block, times gain. factor 1 returns x (times gain).
Tensor upscale2d(const Tensor& x, int factor = 2, double gain = 1);

// x [N, C, H, W] (H and W multiples of f) -> [N, C, H / f, W / f], the mean
// of each f x f block (TF avg_pool, 'VALID'), times gain.
Tensor downscale2d(const Tensor& x, int factor = 2, double gain = 1);

}  // namespace gf
