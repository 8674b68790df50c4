// Latents for the programs that run a trained generator of any family
// (tools/generate.cpp): z from a seed, rows from .npy arrays.
#pragma once
#include <string>

#include "engine/ops.h"

namespace gf {

// z of a seed as the official scripts draw it (generate.py, style_mixing.py,
// StyleGAN's generate_figures.py): numpy's RandomState(seed).randn(1, z_dim)
// (engine/numpy_random_state.h) in float64, made float32 as the official
// mapping does, so a seed gives the official image of a converted network,
// and the same bits on the CPU and the GPU. seed: 0 to 2^32 - 1 (numpy's range).
Tensor seed_latent(long long seed, int z_dim, Device dev);

// The latent walk of PGGAN's util_scripts.generate_interpolation_video:
// float32 [frames, images, z_dim], RandomState(seed).randn of that shape,
// smoothed along the frames as scipy.ndimage.gaussian_filter with sigma
// `sigma_frames` (the official smoothing_sec * mp4_fps; kernel radius
// int(4 sigma + 0.5), mode 'wrap': the walk loops), each value a float64
// sum in scipy's order (the centre, then the pairs from the farthest; a
// kernel wider than the frames has its weights folded onto them first), then
// divided by the root mean square of all the values. sigma 0: no smoothing.
// On the CPU. frames, images, z_dim > 0 (gf::Error otherwise); a walk past
// the machine's memory is refused by the allocator.
Tensor latent_walk(int64_t frames, int64_t images, int z_dim, double sigma_frames, uint32_t seed);

// A .npy array that must be [N, cols] of finite numbers (float64 is converted to float32).
// Errors name the flag and the file: "--z z.npy: shape [2, 8], expected [N, 16] (N rows of z_dim)",
// "--z z.npy: element [0, 3] is nan (...)" (io::read_input_npy). whole_numbers:
// integer and bool arrays too (labels, --c: the official networks cast c to float32).
Tensor read_rows(const std::string& path, int64_t cols, const std::string& flag, const std::string& cols_name,
                 bool whole_numbers = false);

}  // namespace gf
