// Detector features of real and generated images, as the official
// compute_feature_stats_for_dataset and compute_feature_stats_for_generator
// (StyleGAN2-ADA metrics/metric_utils.py) gather them:
//  - real images: dataset items 0, 1, ... in order (x-flipped copies where
//    the dataset has them and the metric keeps them), up to max_items;
//  - generated images: batches of 4 from the generator (latents, labels of
//    random dataset items, random noise), quantized as the official
//    (img * 127.5 + 128).clamp(0, 255).to(uint8), 64 per detector call,
//    until max_items;
//  - a grey image is repeated to three channels before the detector.
// The detector sees float32 [n, 3, H, W] holding the 0..255 pixel values.
// With a process group (FeatureOptions::comm) the ranks share the detector
// batches and rank 0 gathers the rows (metrics/sharding.h), as the official
// code shares the items among its GPUs; the statistics are those of one
// process, bit for bit, whatever the number of ranks: generator batch j
// draws from its own place in the Philox stream (batch_rng), so a rank
// forms batch j without drawing the batches before it.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "engine/dist/communicator.h"
#include "engine/ops.h"
#include "metrics/feature_stats.h"
#include "data/dataset.h"

namespace gf::metrics {

// Images [n, 3, H, W] float32 of 0..255 values -> features [n, D] float32
// (InceptionV3::features, or ::probabilities for the Inception Score).
using Detector = std::function<Tensor(const Tensor& images)>;
// n generated images [n, C, H, W] in [-1, 1] on any device; latents, labels
// and noise come from rng.
using ImageGenerator = std::function<Tensor(int64_t n, gf::Generator& rng)>;
// A progress line ("generator features: 2048 of 50000 items, 12.3 ms/item").
using ProgressFn = std::function<void(const std::string&)>;

// Progress lines of one pass over `total` items: fn gets "<tag>: <items> of
// <total> items, <ms> ms/item" every ~1000 items and at the end, as the
// official ProgressMonitor flushes. fn must outlive it.
class Progress {
 public:
  Progress(const ProgressFn& fn, std::string tag, int64_t total) : fn_(fn), tag_(std::move(tag)), total_(total) {}
  void update(int64_t items);

 private:
  const ProgressFn& fn_;
  std::string tag_;
  int64_t total_, last_ = 0;
  std::chrono::steady_clock::time_point t_ = std::chrono::steady_clock::now();
};

struct FeatureOptions {
  Device device = Device::cpu();  // where the detector runs
  // The ranks that share each pass (metrics/sharding.h), every one calling
  // with the same arguments; rank 0 gets the statistics, the others empty
  // ones. Null: this process does it all.
  Communicator* comm = nullptr;
  int64_t batch_size = 64;        // images per detector call (the official batch_size; see detector_batch)
  int64_t batch_gen = 4;          // images per generator call (the official batch_gen)
  ProgressFn progress;            // every ~1000 items and at the end; may be empty
};

// Images per detector call on a device: the official 64 on a GPU; 8 on the
// CPU, where 64 images' activations (about 180 MB for each early layer) run
// out of the caches (a fixed batch gives every image the same features).
inline int64_t detector_batch(Device d) { return d.is_cuda() ? 64 : 8; }

// The dataset's items [0, count) with count = size(), or its first half when
// keep_xflips is false and the dataset holds mirrored copies; at most
// max_items (<= 0: all).
std::vector<int64_t> real_items(const Dataset& ds, bool keep_xflips, int64_t max_items);

FeatureStats dataset_features(const Dataset& ds, const std::vector<int64_t>& items, const Detector& detector,
                              bool capture_all, bool capture_mean_cov, const FeatureOptions& opt);

// Where generated batch j (and PPL's path batch j) draws its latents, labels
// and noise: rng's seed at rng.offset + j * 2^32 Philox counters (2^34
// values, far more than a batch of 1024x1024 images draws), so any rank
// can form batch j alone. A batch that drew past its share would overlap
// the next one's: generator_features and perceptual_path_length refuse it.
gf::Generator batch_rng(const gf::Generator& rng, int64_t j);
// Throws gf::Error when a batch's generator g (from batch_rng(rng, j))
// drew past batch j + 1's start.
void check_batch_draws(const gf::Generator& rng, int64_t j, const gf::Generator& g);

// The dataset's `items` through the detector, in batches of opt.batch_size
// in item order (shared among opt.comm's ranks: the statistics on rank 0).
// max_items > 0 generated images through the detector: detector batch b
// holds generator batches b * K .. b * K + K - 1 (K = batch_size /
// batch_gen), each of batch_gen images from batch_rng(rng, j); rows past
// max_items are dropped. Deterministic for a given rng; rng is unchanged.
FeatureStats generator_features(const ImageGenerator& generator, int64_t max_items, const Detector& detector,
                                gf::Generator& rng, bool capture_all, bool capture_mean_cov,
                                const FeatureOptions& opt);

// [n, 1 or 3, H, W] -> [n, 3, H, W]: grey repeated to three channels, as the
// official images.repeat([1, 3, 1, 1]); gf::Error for another shape.
Tensor three_channels(const Tensor& x);

// float32 [n, C, H, W] in [-1, 1] -> float32 [n, 3, H, W] on the same device
// holding trunc(clamp(x * 127.5 + 128, 0, 255)) (the official conversion to
// uint8), grey repeated to three channels. A NaN pixel gives 0, as torch's
// cast of NaN to uint8 gives in practice (C leaves it undefined).
Tensor quantize_for_detector(const Tensor& images);

}  // namespace gf::metrics
