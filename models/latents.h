// Latents for the programs that run a trained generator of any family
// (tools/generate.cpp): z from a seed, rows from .npy arrays.
#pragma once
#include <string>

#include "engine/ops.h"

namespace gf {

// z of a seed: randn([1, z_dim]) from a Philox generator seeded with it, the
// same bits on the CPU and the GPU. rng is left just after z, so random
// noise can continue the seed's stream.
Tensor seed_latent(gf::Generator& rng, int z_dim, Device dev);

// A .npy array that must be [N, cols] of finite numbers (float64 is converted to float32).
// Errors name the flag and the file: "--z z.npy: shape [2, 8], expected [N, 16] (N rows of z_dim)",
// "--z z.npy: element [0, 3] is nan (...)" (io::read_input_npy). whole_numbers:
// integer and bool arrays too (labels, --c: the official networks cast c to float32).
Tensor read_rows(const std::string& path, int64_t cols, const std::string& flag, const std::string& cols_name,
                 bool whole_numbers = false);

}  // namespace gf
