// Latents and styles for the programs that run a trained generator
// (tools/generate.cpp): z from a seed, z/w/c from .npy arrays, style mixing
// and interpolation in W. Here rather than in the program so tests call them.
#pragma once
#include <string>
#include <vector>

#include "engine/ops.h"
#include "models/latents.h"
#include "models/stylegan2/generator.h"

namespace gf::stylegan2 {

// The shared latent helpers (models/latents.h), by their old names here.
using gf::read_rows;
using gf::seed_latent;

// ws of each seed through G's mapping with truncation psi, one seed at a time
// (so a seed's w does not depend on the others): [N, num_ws, w_dim].
// c: [1, c_dim] label for every seed, or undefined for an unconditional G.
Tensor seed_ws(Generator& G, const std::vector<long long>& seeds, const Tensor& c, double psi, Device dev);

// ws from a .npy array of [N, num_ws, w_dim] or [N, w_dim] (one w for every
// layer, broadcast) -> float32 [N, num_ws, w_dim]; errors as read_rows.
Tensor read_ws(const std::string& path, int num_ws, int w_dim, const std::string& flag);

// Style mixing as the official style_mixing.py: for each row r and column c
// (row-major), row r's ws with the entries at `styles` taken from column c's.
// row_ws [R, num_ws, w_dim], col_ws [C, num_ws, w_dim] -> [R * C, num_ws, w_dim].
Tensor style_mix(const Tensor& row_ws, const Tensor& col_ws, const std::vector<long long>& styles);

// The official mixing canvas, row-major, (R + 1) x (C + 1) cells: the
// top-left cell of the canvas's background (`corner`: -1 black as
// style_mixing.py's, 1 white as StyleGAN (v1)'s generate_figures.py), column
// originals along the top, row originals down the left, mixes (from
// style_mix) elsewhere. Images [n, ch, h, w] on one device.
Tensor mixing_canvas(const Tensor& row_imgs, const Tensor& col_imgs, const Tensor& mixed, double corner = -1);

// Frame k of `frames` ws on the line from wa to wb ([1, num_ws, w_dim]
// each), evenly spaced with both ends included: (1 - t) wa + t wb with
// t = k / (frames - 1), exact at the ends. One frame at a time, so a long
// interpolation holds two ends, not every frame.
Tensor interpolate_w(const Tensor& wa, const Tensor& wb, int64_t k, int64_t frames);

}  // namespace gf::stylegan2
