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
#pragma once
#include "metrics/compute_features.h"
#include "models/pggan/networks.h"
#include "models/stylegan/networks.h"
#include "models/stylegan2/generator.h"

namespace gf::metrics {

ImageGenerator stylegan2_images(stylegan2::Generator& G, const Dataset& labels, Device device);
ImageGenerator stylegan_images(const stylegan::Generator& G, const Dataset& labels, Device device);
ImageGenerator pggan_images(const pggan::Generator& G, const Dataset& labels, Device device);

}  // namespace gf::metrics
