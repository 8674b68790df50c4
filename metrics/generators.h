// Each family's generator as the metrics call it (metrics::ImageGenerator):
// n images in [-1, 1] from latents, labels of random dataset items (for a
// conditional network; `labels` is where they come from) and noise drawn
// from the metric's rng, as each family's official metrics run G:
//   - StyleGAN2-ADA: G_ema(z, c) with the default G_kwargs: truncation 1,
//     random noise (metrics/metric_utils.py);
//   - StyleGAN (v1): Gs with is_validation=True: no truncation, random noise,
//     at the network's lod (metrics/metric_base.py);
//   - PGGAN: G at its lod (its official metrics run Gs as trained).
// The generator and the dataset must outlive the returned function.
//
// Beside them, each family's path sampler for the Perceptual Path Length
// (metrics/perceptual_path_length.h), as its official PPL runs G:
//   - StyleGAN2-ADA (metrics/perceptual_path_length.py, PPLSampler): labels,
//     then t = rand([n]) (times 0 for "end"), z = randn([2n, z_dim]) with
//     z0 the first n rows and z1 the last n, the mapping of both (W) or of
//     the slerps (Z) with the labels twice, fresh values for every
//     noise_const buffer (in the network's buffer order) used as constant
//     noise, synthesis without truncation, the crop when the metric has it,
//     then the mean over blocks of img_resolution / 256 pixels;
//   - StyleGAN (v1, metrics/perceptual_path_length.py of NVlabs/stylegan):
//     labels, then z = randn([2n, latent_size]) with z0 the even rows and z1
//     the odd ones, then t; the W lerp as tflib.lerp (a + (b - a) t); the
//     noise inputs noise0.. drawn afresh; synthesis at the network's lod;
//     downsampled by H / 256 only when the cropped image is taller than 256
//     (the two families differ there: v2 divides by the network's
//     resolution / 256 after its crop, v1 brings the crop to 256); labels
//     of random dataset items for a conditional network (v1's PPL passed
//     none: it took unconditional networks only). v1's own code, not the
//     ADA sampler on a v1 G: the ADA file says it matches the original,
//     but above 256 it does not (a 1024 G's crop comes to 128, not 256),
//     and a v1 network's PPL should compare with the StyleGAN paper's.
// PGGAN has no W (no mapping network): it has no path sampler and the PPL
// metrics refuse it. The network is not changed: the fresh noise reaches
// the synthesis through its noise hook, not by writing the buffers.
//
// And the latent samplers of the linear separability
// (metrics/linear_separability.h), as its official metric (NVlabs/stylegan
// and NVlabs/stylegan2 metrics/linear_separability.py) runs G: z, the
// mapping without truncation (w: its last layer's), the synthesis with
// random noise (v1 at the network's lod). The draws are the image
// generators' (z, labels, noise), so a seed gives the images FID sees.
// Labels of random dataset items for a conditional network (the official
// passed none: it took unconditional networks).
#pragma once
#include "metrics/compute_features.h"
#include "metrics/linear_separability.h"
#include "metrics/perceptual_path_length.h"
#include "models/pggan/networks.h"
#include "models/stylegan/networks.h"
#include "models/stylegan2/generator.h"

namespace gf::metrics {

ImageGenerator stylegan2_images(stylegan2::Generator& G, const Dataset& labels, Device device);
ImageGenerator stylegan_images(const stylegan::Generator& G, const Dataset& labels, Device device);
ImageGenerator pggan_images(const pggan::Generator& G, const Dataset& labels, Device device);

LatentSampler stylegan2_latents(stylegan2::Generator& G, const Dataset& labels, Device device);
LatentSampler stylegan_latents(const stylegan::Generator& G, const Dataset& labels, Device device);

PathSampler stylegan2_paths(stylegan2::Generator& G, const Dataset& labels, Device device);
PathSampler stylegan_paths(const stylegan::Generator& G, const Dataset& labels, Device device);

// One batch of each sampler from given draws (PathDraws: t, z0, z1, labels
// and every constant noise buffer's values, on the network's device), so a
// test hands a reference the same ones: the image pairs [2n, C, h, w] as
// PathSampler returns them.
Tensor stylegan2_path_images(stylegan2::Generator& G, const PathDraws& d, const PplSpec& spec);
Tensor stylegan_path_images(const stylegan::Generator& G, const PathDraws& d, const PplSpec& spec);
// The draws the samplers make, in their official order, from rng.
PathDraws stylegan2_path_draws(const stylegan2::Generator& G, const Dataset& labels, int64_t n, const PplSpec& spec,
                               gf::Generator& rng, Device device);
PathDraws stylegan_path_draws(const stylegan::Generator& G, const Dataset& labels, int64_t n, const PplSpec& spec,
                              gf::Generator& rng, Device device);

}  // namespace gf::metrics
