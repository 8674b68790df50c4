#include "metrics/perceptual_path_length.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/autograd.h"
#include "engine/error.h"
#include "metrics/sharding.h"

namespace gf::metrics {
namespace {

// t + epsilon as the official float32 tensor plus a Python float: the
// scalar becomes float32, the sum is rounded to float32 (affine's x * 1 +
// float(epsilon)), on t's device.
Tensor shifted(const Tensor& t, double epsilon) { return t.to(DType::f32) + epsilon; }

// Rows over their Euclidean norm (torch's v / v.norm(dim=-1, keepdim=True)).
Tensor normalized(const Tensor& v) { return v / sqrt(sum(square(v), {1}, true)); }

void check_endpoints(const Tensor& a, const Tensor& b, const Tensor& t, const char* op) {
  GF_CHECK(a.dim() == 2 && a.shape() == b.shape() && t.dim() == 1 && t.size(0) == a.size(0), op,
           "endpoints must be [N, D] alike and t [N], got " << shape_str(a.shape()) << ", " << shape_str(b.shape())
                                                             << " and " << shape_str(t.shape()));
}

}  // namespace

Tensor slerp(const Tensor& a, const Tensor& b, const Tensor& t) {
  check_endpoints(a, b, t, "slerp");
  GF_CHECK(a.dtype() == b.dtype() && a.dtype() == t.dtype() && (a.dtype() == DType::f32 || a.dtype() == DType::f64),
           "slerp", "slerp takes float32 or float64 rows and t of one dtype");
  GF_CHECK(a.device() == b.device() && a.device() == t.device(), "slerp", "the rows and t must be on one device");
  // The official steps: normalize both ends, the angle's cosine, the unit
  // vector c orthogonal to a towards b, the point at angle t * acos(d) from
  // a, normalized again.
  const Tensor an = normalized(a), bn = normalized(b);
  const Tensor d = sum(an * bn, {1}, true);
  const Tensor p = t.reshape({t.size(0), 1}) * acos(d);
  const Tensor c = normalized(bn - d * an);
  return normalized(an * cos(p) + c * sin(p));
}

Tensor lerp_rows(const Tensor& w0, const Tensor& w1, const Tensor& t, double epsilon, bool tflib) {
  GF_CHECK(w0.dim() >= 2 && w0.shape() == w1.shape() && t.dim() == 1 && t.size(0) == w0.size(0), "lerp_rows",
           "endpoints must be [N, ...] alike and t [N], got " << shape_str(w0.shape()) << ", " << shape_str(w1.shape())
                                                               << " and " << shape_str(t.shape()));
  Shape ts(size_t(w0.dim()), 1);
  ts[0] = t.size(0);
  const Tensor t0 = t.to(w0.device()).to(w0.dtype()).reshape(ts);
  const Tensor t1 = shifted(t.to(w0.device()), epsilon).to(w0.dtype()).reshape(ts);
  if (tflib) return concat({w0 + (w1 - w0) * t0, w0 + (w1 - w0) * t1}, 0);
  return concat({lerp(w0, w1, t0), lerp(w0, w1, t1)}, 0);
}

Tensor slerp_rows(const Tensor& z0, const Tensor& z1, const Tensor& t, double epsilon) {
  check_endpoints(z0, z1, t, "slerp_rows");
  const Tensor tt = t.to(z0.device()).to(z0.dtype());
  return concat({slerp(z0, z1, tt), slerp(z0, z1, shifted(t.to(z0.device()), epsilon).to(z0.dtype()))}, 0);
}

Tensor crop_and_downsample(const Tensor& images, bool crop, int64_t factor) {
  GF_CHECK(images.dim() == 4, "crop_and_downsample", "images must be [N, C, H, W], got " << shape_str(images.shape()));
  Tensor x = images;
  if (crop) {
    GF_CHECK(x.size(2) == x.size(3), "crop_and_downsample",
             "the crop needs square images, got " << x.size(2) << "x" << x.size(3));
    const int64_t c = x.size(2) / 8;
    x = slice(slice(x, 2, c * 3, c * 7), 3, c * 2, c * 6);
  }
  if (factor > 1) {
    const int64_t h = x.size(2), w = x.size(3);
    GF_CHECK(h % factor == 0 && w % factor == 0, "crop_and_downsample",
             h << "x" << w << " images do not divide into " << factor << "x" << factor << " blocks");
    x = mean(x.reshape({x.size(0), x.size(1), h / factor, factor, w / factor, factor}), {3, 5});
  }
  return x;
}

Tensor ppl_distances(const Tensor& pairs, const Detector& lpips_embedding, double epsilon, Device device) {
  GF_CHECK(pairs.dim() == 4 && pairs.size(0) % 2 == 0 && pairs.size(0) > 0, "ppl_distances",
           "image pairs must be [2n, C, H, W], got " << shape_str(pairs.shape()));
  NoGradGuard ng;
  const int64_t n = pairs.size(0) / 2;
  // (img + 1) * (255 / 2): two float32 roundings, as the official.
  const Tensor img = three_channels(((pairs.to(device) + 1.0) * 127.5));
  const Tensor e = lpips_embedding(img);
  GF_CHECK(e.dim() == 2 && e.size(0) == 2 * n, "ppl_distances",
           "the embedding gave " << shape_str(e.shape()) << " for " << 2 * n << " images");
  const Tensor diff = slice(e, 0, 0, n) - slice(e, 0, n, 2 * n);
  return sum(square(diff), {1}) / (epsilon * epsilon);
}

double filtered_mean(const std::vector<float>& dist) {
  GF_CHECK(!dist.empty(), "filtered_mean", "no distances");
  for (float d : dist)
    if (std::isnan(d)) return std::numeric_limits<double>::quiet_NaN();
  std::vector<float> sorted = dist;
  std::sort(sorted.begin(), sorted.end());
  // numpy's index arithmetic: q / 100 in float64 times (n - 1), then floor
  // ('lower') or ceil ('higher').
  const double last = double(sorted.size() - 1);
  const float lo = sorted[size_t(std::floor(last * (1.0 / 100.0)))];
  const float hi = sorted[size_t(std::ceil(last * (99.0 / 100.0)))];
  double s = 0;
  int64_t k = 0;
  for (float d : dist)
    if (lo <= d && d <= hi) {
      s += double(d);
      ++k;
    }
  return s / double(k);
}

double perceptual_path_length(const PathSampler& paths, const Detector& lpips_embedding, const PplSpec& spec,
                              int64_t num_samples, gf::Generator& rng, const FeatureOptions& opt) {
  GF_CHECK(paths && lpips_embedding, "perceptual_path_length", "needs a path sampler and the LPIPS embedding");
  GF_CHECK(num_samples > 0 && spec.batch > 0, "perceptual_path_length", "num_samples and the batch must be positive");
  NoGradGuard ng;
  std::vector<float> dist;
  dist.reserve(size_t(num_samples + spec.batch));
  Progress progress(opt.progress, "ppl sampling", num_samples);
  // Path batch j draws from batch_rng(rng, j). The distances stay on the
  // device for a chunk of up to kBatchesPerRead batches and come back in one
  // read: no read per batch of 2 on a GPU. (A conditional G's labels are
  // still built on the host and uploaded per batch.) The chunks are what the
  // ranks share, so with several they are smaller (an equal share each);
  // the distances, and their order, are the same whatever the chunk.
  constexpr int64_t kBatchesPerRead = 256;
  const int64_t batches = (num_samples + spec.batch - 1) / spec.batch;
  const int64_t ranks = group_size(opt.comm);
  const int64_t chunk = std::clamp<int64_t>((batches + ranks - 1) / ranks, 1, kBatchesPerRead);
  const auto distances = [&](int64_t c) {
    std::vector<Tensor> pending;
    for (int64_t j = c * chunk; j < std::min((c + 1) * chunk, batches); ++j) {
      gf::Generator g = batch_rng(rng, j);
      pending.push_back(ppl_distances(paths(spec.batch, spec, g), lpips_embedding, spec.epsilon, opt.device));
      check_batch_draws(rng, j, g);
    }
    return concat(pending, 0);
  };
  for_each_batch(opt.comm, (batches + chunk - 1) / chunk, distances, [&](int64_t, const Tensor& d) {
    dist.insert(dist.end(), d.data<float>(), d.data<float>() + d.numel());
    progress.update(std::min<int64_t>(int64_t(dist.size()), num_samples));
  });
  if (!computes_results(opt.comm)) return std::numeric_limits<double>::quiet_NaN();
  dist.resize(size_t(num_samples));
  return filtered_mean(dist);
}

}  // namespace gf::metrics
