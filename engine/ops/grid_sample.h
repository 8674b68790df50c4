// Affine grid sampling, as StyleGAN2-ADA's geometric augmentation does it
// (training/augment.py): torch's affine_grid(theta, [N, C, out_h, out_w],
// align_corners=False), then grid_sample(x, grid, mode='bilinear',
// padding_mode='zeros', align_corners=False). The formulas are in
// kernels/grid_sample.h.
#pragma once
#include <cstdint>

#include "engine/tensor.h"

namespace gf {

// x [N, C, H, W] (f32 or f64); theta [N, 2, 3] of x's dtype, on x's device: per-sample affine maps
// from normalized output coordinates to normalized input coordinates (torch's affine_grid,
// align_corners=False). Returns [N, C, out_h, out_w]: bilinear samples of x, zero outside.
// theta is a constant (no gradient). Differentiable with respect to x to any order.
// The gradient is affine_grid_sample_adjoint, with its requirements on theta.
Tensor affine_grid_sample(const Tensor& x, const Tensor& theta, int64_t out_h, int64_t out_w);

// The adjoint (transpose) in x of affine_grid_sample: g [N, C, out_h, out_w] ->
// [N, C, in_h, in_w], each input pixel the sum of g * bilinear weight over the
// output pixels that read it, in a fixed order (output pixels row by row: a
// scatter on the CPU, one thread per plane; a gather on the GPU, no atomics;
// deterministic on both). Its gradient is affine_grid_sample again.
// theta's 2x2 part must be invertible for every sample (the GPU's gather scans
// the inverse image of each input pixel's footprint; the CPU's scatter would not
// need it, but both devices take the same thetas); a singular or non-finite theta,
// or one that magnifies so much that the scan would be absurd (over 2^30 output
// pixels per input pixel), throws naming the sample. theta is read on the host
// (a device-to-host copy of N * 6 values on the GPU).
Tensor affine_grid_sample_adjoint(const Tensor& g, const Tensor& theta, int64_t in_h, int64_t in_w);

}  // namespace gf
