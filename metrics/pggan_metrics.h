// PGGAN's own metrics, as its util_scripts.evaluate_metrics runs them for
// config.py's "swd-16k" and "msssim-20k" (progressive_growing_of_gans):
// the generated images made 8-bit as Gs.run(out_mul=127.5, out_add=127.5,
// out_dtype=uint8) makes them (rounded half to even, saturated), grey
// repeated to three channels, in minibatches of clip(8192 / side, 4, 256)
// images. Any family's generator may be measured; the dataset gives the
// real images (SWD) and the side.
//  - swd: num images generated and as many real ones (the dataset's items
//    in order, again from the first when it holds fewer, as the official
//    repeating TFRecord reader; each flipped at random with p = 0.5 where
//    the run mirrors, as its apply_mirror_augment); descriptors and
//    distances as metrics/sliced_wasserstein.h, every draw from one
//    NumpyRandomState(seed): the reals' minibatches, then the generated
//    ones, then the directions. Results: SWDx1e3 per level side, then avg.
//  - msssim: num generated images (even) paired 0-1, 2-3, ... (within each
//    minibatch, as the official pairs them), metrics/ms_ssim.h; the mean;
//    and the same of num real images (taken and mirrored as SWD's, from
//    NumpyRandomState(seed)), the official table's Reals row, which the
//    paper quotes beside it.
// The generated images come from batch_rng(rng, j) batches of
// opt.batch_gen images (metrics/compute_features.h), as the other metrics
// draw them: the same seed gives the same images as FID's. The official
// draws latents from numpy's global stream and labels in dataset order.
// With a process group rank 0 alone computes them (metric_main.cpp; the
// others wait for it, as while it forms any metric from gathered features):
// every rank holding the descriptors (1.2 GB a level and set) would take
// N times the memory of one machine's ranks.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "metrics/compute_features.h"

namespace gf::metrics {

// Refuses (gf::Error "<who>: needs images of a power-of-two side of at
// least 16 ...") a side the pyramid and the scales cannot take: checked
// where a metric is set up (metric_main.cpp's check_metric) and where it runs.
void check_pggan_metric_side(int64_t side, const std::string& who);

// Images a PGGAN metric minibatch holds for a given side (evaluate_metrics'
// np.clip(8192 // side, 4, 256)).
int64_t pggan_metric_minibatch(int64_t side);

// SWDx1e3 for each level side (sliced_wasserstein.h's swd_resolutions), then
// their mean. gf::Error for a side that is not a power of two of at least
// 16, or generated images of another shape than the dataset's.
std::vector<double> swd_metric(const ImageGenerator& generator, const Dataset& dataset, int64_t num, uint64_t seed,
                               gf::Generator& rng, const FeatureOptions& opt);

// The swd-16k table's "Reals2" row (evaluate_metrics with real_passes=2):
// the SWD between num real images and the num after them (the reader going
// on, cycled), both taken as swd_metric's, every draw from
// NumpyRandomState(seed): the first pass's, the second's, then the
// directions. What two samples of the reals score: the estimate's noise
// floor. No generated image. Results and errors as swd_metric's.
std::vector<double> swd_reals2_metric(const Dataset& dataset, int64_t num, uint64_t seed, const FeatureOptions& opt);

// The mean MS-SSIM of num / 2 pairs of generated images (num even, >= 2),
// and of num / 2 pairs of real ones (the real pass first).
struct MsssimResult {
  double generated = 0, reals = 0;
};
MsssimResult msssim_metric(const ImageGenerator& generator, const Dataset& dataset, int64_t num, uint64_t seed,
                           gf::Generator& rng, const FeatureOptions& opt);

}  // namespace gf::metrics
