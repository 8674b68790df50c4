#include "metrics/compute_features.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "engine/autograd.h"
#include "engine/error.h"
#include "metrics/sharding.h"

namespace gf::metrics {
namespace {

// The detector's float32 features [n, D] of images [n, C, H, W].
Tensor detect(const Detector& detector, const Tensor& images, Device device) {
  const Tensor f = detector(three_channels(images.to(device)));  // grey repeated after the copy
  GF_CHECK(f.dim() == 2 && f.size(0) == images.size(0), "metrics",
           "the detector gave " << shape_str(f.shape()) << " for " << images.size(0) << " images");
  return f.to(DType::f32);
}

// Each batch's own stretch of counters: 2^32 of them.
constexpr uint64_t kBatchCounters = uint64_t(1) << 32;

}  // namespace

Tensor three_channels(const Tensor& x) {
  GF_CHECK(x.dim() == 4 && (x.size(1) == 1 || x.size(1) == 3), "metrics",
           "images must be [n, 1 or 3, H, W], got " << shape_str(x.shape()));
  return x.size(1) == 1 ? concat({x, x, x}, 1) : x;
}

void Progress::update(int64_t items) {
  if (!fn_ || (items < last_ + 1000 && items < total_)) return;
  const auto now = std::chrono::steady_clock::now();
  const double ms = std::chrono::duration<double, std::milli>(now - t_).count() / double(std::max<int64_t>(items - last_, 1));
  char b[160];
  std::snprintf(b, sizeof b, "%s: %lld of %lld items, %.2f ms/item", tag_.c_str(), static_cast<long long>(items),
                static_cast<long long>(total_), ms);
  fn_(b);
  last_ = items;
  t_ = now;
}

std::vector<int64_t> real_items(const Dataset& ds, bool keep_xflips, int64_t max_items) {
  std::vector<int64_t> items;
  for (int64_t i = 0; i < ds.size(); ++i)
    if (keep_xflips || !ds.xflipped(i)) items.push_back(i);
  if (max_items > 0 && int64_t(items.size()) > max_items) items.resize(size_t(max_items));
  return items;
}

FeatureStats dataset_features(const Dataset& ds, const std::vector<int64_t>& items, const Detector& detector,
                              bool capture_all, bool capture_mean_cov, const FeatureOptions& opt) {
  GF_CHECK(!items.empty(), "dataset_features", "no dataset images to evaluate");
  GF_CHECK(opt.batch_size > 0, "dataset_features", "batch_size must be positive");
  NoGradGuard ng;
  const int64_t total = int64_t(items.size());
  FeatureStats stats(capture_all, capture_mean_cov, total);
  Progress progress(opt.progress, "dataset features", total);
  const int64_t c = ds.channels(), r = ds.resolution(), plane = c * r * r;
  const auto features = [&](int64_t b) {
    const int64_t at = b * opt.batch_size, n = std::min<int64_t>(opt.batch_size, total - at);
    Tensor batch = Tensor::empty({n, c, r, r});
    float* out = batch.data<float>();
    ds.each_image(items.data() + at, n, [&](int64_t i, const uint8_t* px) {
      for (int64_t k = 0; k < plane; ++k) out[i * plane + k] = float(px[k]);
    });
    return detect(detector, batch, opt.device);
  };
  for_each_batch(opt.comm, (total + opt.batch_size - 1) / opt.batch_size, features, [&](int64_t, const Tensor& f) {
    stats.append(f);
    progress.update(stats.num_items());
  });
  return stats;
}

gf::Generator batch_rng(const gf::Generator& rng, int64_t j) {
  gf::Generator g(rng.seed);
  g.offset = rng.offset + uint64_t(j) * kBatchCounters;
  return g;
}

void check_batch_draws(const gf::Generator& rng, int64_t j, const gf::Generator& g) {
  GF_CHECK(g.offset - rng.offset <= (uint64_t(j) + 1) * kBatchCounters, "metrics",
           "generated batch " << j << " drew " << g.offset - batch_rng(rng, j).offset
                              << " Philox counters, more than a batch's 2^32: it would overlap the next batch's draws");
}

Tensor quantize_for_detector(const Tensor& images) {
  GF_CHECK(images.dtype() == DType::f32, "quantize_for_detector", "images must be float32");
  // On the images' device, in float32 as torch's (img * 127.5 + 128): two
  // roundings, a multiply and then an add (two ops, never one fused
  // multiply-add); then clamp to [0, 255].
  // A NaN pixel (a diverging generator) becomes 0, the byte torch's cast gives
  // it on x86 and CUDA: the official loop reports a metric and trains on.
  const Tensor v = nan_to_num(clamp((images * 127.5) + 128.0, 0.0, 255.0), 0.0, 255.0, 0.0);
  // .to(torch.uint8) truncates, which is the floor here (v >= 0). There is no
  // floor op: adding and removing 2^23 rounds v to the nearest integer (float32
  // has no fraction bits at 2^23), and where that rounded up, 1 comes off.
  const Tensor nearest = (v + 8388608.0) - 8388608.0;
  return three_channels(nearest - gt(nearest, v));
}

FeatureStats generator_features(const ImageGenerator& generator, int64_t max_items, const Detector& detector,
                                gf::Generator& rng, bool capture_all, bool capture_mean_cov,
                                const FeatureOptions& opt) {
  GF_CHECK(max_items > 0, "generator_features", "max_items must be positive");
  GF_CHECK(opt.batch_gen > 0 && opt.batch_size % opt.batch_gen == 0, "generator_features",
           "batch_size must be a multiple of batch_gen");
  NoGradGuard ng;
  FeatureStats stats(capture_all, capture_mean_cov, max_items);
  Progress progress(opt.progress, "generator features", max_items);
  // Whole generator batches, as the official loop (append drops the rows
  // past max_items); the last detector batch only as many as are missing.
  const int64_t gen_batches = (max_items + opt.batch_gen - 1) / opt.batch_gen;
  const int64_t per_detector = opt.batch_size / opt.batch_gen;
  const auto features = [&](int64_t b) {
    std::vector<Tensor> images;
    for (int64_t j = b * per_detector; j < std::min((b + 1) * per_detector, gen_batches); ++j) {
      gf::Generator g = batch_rng(rng, j);
      images.push_back(quantize_for_detector(generator(opt.batch_gen, g)));
      check_batch_draws(rng, j, g);
    }
    return detect(detector, concat(images, 0), opt.device);
  };
  for_each_batch(opt.comm, (gen_batches + per_detector - 1) / per_detector, features, [&](int64_t, const Tensor& f) {
    stats.append(f);
    progress.update(stats.num_items());
  });
  return stats;
}

}  // namespace gf::metrics
