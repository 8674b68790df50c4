#include "metrics/linear_separability.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/autograd.h"
#include "engine/error.h"
#include "metrics/linear_svc.h"
#include "metrics/linear_svc_pool.h"
#include "metrics/linear_svc_ranks.h"
#include "metrics/perceptual_path_length.h"
#include "metrics/sharding.h"

namespace gf::metrics {
namespace {

// Rank 0's samples into every rank's s (the fits are shared among the ranks).
void broadcast_samples(Communicator& comm, SeparabilitySamples& s) {
  int64_t dims[4] = {s.n, s.z_dim, s.w_dim, s.attributes};
  comm.broadcast(dims, sizeof dims);
  s.n = dims[0];
  s.z_dim = dims[1];
  s.w_dim = dims[2];
  s.attributes = dims[3];
  for (auto [table, width] : {std::pair{&s.z, s.z_dim}, std::pair{&s.w, s.w_dim}, std::pair{&s.logits, s.attributes}}) {
    table->resize(size_t(s.n * width));
    comm.broadcast(table->data(), table->size() * sizeof(float));
  }
}

// numpy's sum of a float64 array of at most 128 values (its pairwise_sum's
// base case): eight running sums, combined pairwise, then the rest in order.
double numpy_sum(const std::vector<double>& a) {
  const size_t n = a.size();
  if (n < 8) {
    double s = 0;
    for (double v : a) s += v;
    return s;
  }
  GF_CHECK(n <= 128, "linear_separability", "numpy_sum is written for at most 128 values, got " << n);
  double r[8];
  for (size_t j = 0; j < 8; ++j) r[j] = a[j];
  size_t i = 8;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
  double s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
  for (; i < n; ++i) s += a[i];
  return s;
}

// The official prob_normalize: the values as float32 over their float32 sum
// (numpy sums fewer than 8 values in order).
std::vector<float> prob_normalize(const std::vector<float>& p) {
  float total = 0;
  for (float v : p) total += v;
  std::vector<float> out;
  for (float v : p) out.push_back(v / total);
  return out;
}

// The official entropy of a normalized table: -sum p log2 p over p > 0, the
// float32 terms summed in float64.
double entropy_bits(const std::vector<float>& table) {
  double h = 0;
  for (float p : prob_normalize(table))
    if (p > 0.0f) h -= double(p * std::log2(p));
  return h;
}

}  // namespace

Tensor downsample_to_side(const Tensor& images, int64_t side) {
  GF_CHECK(images.dim() == 4 && images.size(2) == images.size(3), "ls",
           "needs square images [N, C, H, W], got " << images.desc());
  const int64_t h = images.size(2);
  GF_CHECK(side > 0 && h >= side && h % side == 0, "ls",
           "the generator's " << h << "x" << h << " images do not come to the classifiers' " << side << "x" << side
                              << " by a whole factor (the official brings 1024x1024 to 256x256 by the mean of 4x4 "
                                 "blocks)");
  return h == side ? images : crop_and_downsample(images, false, h / side);
}

void attribute_probabilities(float logit, float* p0, float* p1) {
  // tf.nn.softmax: exp(x - max) over its sum, in float32.
  const float m = std::max(logit, -logit);
  const float e0 = std::exp(logit - m), e1 = std::exp(-logit - m);
  const float total = e0 + e1;
  *p0 = e0 / total;
  *p1 = e1 / total;
}

std::vector<int64_t> most_confident(const float* logits, int64_t n, int64_t stride, int64_t num_keep) {
  GF_CHECK(num_keep >= 0 && num_keep <= n, "ls", "keeps " << num_keep << " of " << n << " samples");
  std::vector<float> confidence(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    float p0, p1;
    attribute_probabilities(logits[i * stride], &p0, &p1);
    confidence[size_t(i)] = std::max(p0, p1);
  }
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t(0));
  // A NaN confidence (a diverged network's logit) goes last: the official's
  // sort with NaN keys has no defined order.
  const auto key = [&](int64_t i) {
    const float c = confidence[size_t(i)];
    return std::isnan(c) ? -1.0f : c;
  };
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return key(a) > key(b); });
  order.resize(size_t(num_keep));
  return order;
}

double conditional_entropy(const double freq[2][2]) {
  // As the official: the table normalized, H(Y) from its column sums, and
  // I(X; Y) from the table normalized once more (each prob_normalize rounds).
  const std::vector<float> p1 =
      prob_normalize({float(freq[0][0]), float(freq[0][1]), float(freq[1][0]), float(freq[1][1])});
  const std::vector<float> p = prob_normalize(p1);
  const float px[2] = {p[0] + p[1], p[2] + p[3]}, py[2] = {p[0] + p[2], p[1] + p[3]};
  double mutual = 0;
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 2; ++y) {
      const float pxy = p[size_t(x * 2 + y)];
      if (pxy > 0.0f) mutual += double(pxy * std::log2(pxy / (px[x] * py[y])));
    }
  return std::max(0.0, entropy_bits({p1[0] + p1[2], p1[1] + p1[3]}) - mutual);  // may slip below 0 by rounding
}

SeparabilitySamples separability_samples(const LatentSampler& sampler, const Detector& classifiers,
                                         int64_t classifier_side, int64_t num, gf::Generator& rng,
                                         const FeatureOptions& opt) {
  NoGradGuard ng;
  GF_CHECK(num > 0 && opt.batch_gen > 0, "ls", "needs samples, got " << num);
  SeparabilitySamples s;
  s.n = num;
  Progress done(opt.progress, "ls samples", num);
  // A batch's samples as one float32 table (the rows for_each_batch gathers):
  // the three widths (whole numbers, exact in float32), then z, w and the logits.
  const auto batch_table = [&](int64_t j) {
    gf::Generator g = batch_rng(rng, j);
    LatentSample b = sampler(opt.batch_gen, g);
    check_batch_draws(rng, j, g);
    GF_CHECK(b.images.dim() == 4 && (b.images.size(1) == 1 || b.images.size(1) == 3), "ls",
             "the classifiers take grey or RGB images; the generator made " << b.images.desc());
    // Grey repeated to RGB, as NVlabs/stylegan2-ada's LS tiles it.
    const Tensor logits = classifiers(three_channels(downsample_to_side(b.images, classifier_side)).to(opt.device));
    const int64_t take = std::min(opt.batch_gen, num - j * opt.batch_gen);
    std::vector<Tensor> parts;
    for (const Tensor& t : {b.z, b.w, logits}) parts.push_back(slice(t, 0, 0, take).to(Device::cpu()).to(DType::f32));
    const std::vector<double> widths = {double(parts[0].size(1)), double(parts[1].size(1)), double(parts[2].size(1))};
    parts.insert(parts.begin(), expand(Tensor::from_vector(widths, {1, 3}), {take, 3}));
    return concat(parts, 1);
  };
  const auto take_table = [&](int64_t, const Tensor& rows) {
    const float* p = rows.data<float>();
    const int64_t m = rows.size(0), width = rows.size(1);
    if (s.z.empty()) {  // the whole tables at once: 200000 x 512 grown by doubling would peak at 1.5x
      s.z_dim = int64_t(p[0]);
      s.w_dim = int64_t(p[1]);
      s.attributes = int64_t(p[2]);
      s.z.reserve(size_t(num * s.z_dim));
      s.w.reserve(size_t(num * s.w_dim));
      s.logits.reserve(size_t(num * s.attributes));
    }
    GF_CHECK(width == 3 + s.z_dim + s.w_dim + s.attributes, "ls", "a batch's samples are " << width << " wide");
    for (int64_t i = 0; i < m; ++i) {
      const float* row = p + i * width + 3;
      s.z.insert(s.z.end(), row, row + s.z_dim);
      s.w.insert(s.w.end(), row + s.z_dim, row + s.z_dim + s.w_dim);
      s.logits.insert(s.logits.end(), row + s.z_dim + s.w_dim, row + width - 3);
    }
    done.update(int64_t(s.logits.size()) / std::max<int64_t>(s.attributes, 1));
  };
  for_each_batch(opt.comm, (num + opt.batch_gen - 1) / opt.batch_gen, batch_table, take_table);
  if (group_size(opt.comm) > 1) broadcast_samples(*opt.comm, s);
  return s;
}

Separability linear_separability(const SeparabilitySamples& s, int64_t num_keep,
                                 const std::function<void(const std::string&)>& log, const ProgressFn& progress,
                                 int workers, Communicator* comm) {
  GF_CHECK(num_keep >= 1 && num_keep <= s.n, "ls", "keeps " << num_keep << " of " << s.n << " samples");
  // Each attribute's kept samples and their targets.
  struct Attribute {
    std::vector<int64_t> kept;
    std::vector<int> targets;
    bool one_class = false;
    size_t fits_end = 0;  // the fits of this attribute and those before it
    SvcOutcome fit[2];    // Z, W
  };
  std::vector<Attribute> attr(static_cast<size_t>(s.attributes));
  std::vector<std::string> names;
  std::vector<std::pair<int64_t, bool>> fits;  // (attribute, in W)
  for (int64_t a = 0; a < s.attributes; ++a) {
    Attribute& at = attr[size_t(a)];
    at.kept = most_confident(s.logits.data() + a, s.n, s.attributes, num_keep);
    for (int64_t i : at.kept) {
      float p0, p1;
      attribute_probabilities(s.logits[size_t(i * s.attributes + a)], &p0, &p1);
      at.targets.push_back(p1 > p0 ? 1 : 0);  // np.argmax: the first on a tie, and the first of NaNs
    }
    at.one_class = std::all_of(at.targets.begin(), at.targets.end(), [&](int t) { return t == at.targets[0]; });
    if (!at.one_class)  // else the official's fallback: a perfect prediction, no fit
      for (const bool space_w : {false, true}) {
        fits.emplace_back(a, space_w);
        names.push_back("attribute " + std::to_string(a) + " in " + (space_w ? "W" : "Z"));
      }
    at.fits_end = fits.size();
  }
  if (log && !fits.empty()) {
    const std::string deviation = linear_svc_deviation();
    if (!deviation.empty()) log("ls: " + deviation);
  }
  // The attributes whose fits are all done, in order: their entropies, the
  // fits' lines and a progress line each, as one fit after another would.
  Separability r;
  const auto t0 = std::chrono::steady_clock::now();
  size_t fits_done = 0, next_attribute = 0;
  const auto finish_attributes = [&] {
    for (; next_attribute < attr.size(); ++next_attribute) {
      Attribute& at = attr[next_attribute];
      if (fits_done < at.fits_end) return;
      for (const bool space_w : {false, true}) {
        std::vector<int> predictions = at.targets;  // one class: the official's perfect prediction
        if (!at.one_class) {
          SvcOutcome& o = at.fit[space_w];
          const std::string where =
              "ls: attribute " + std::to_string(next_attribute) + " in " + (space_w ? "W" : "Z");
          if (!o.error.empty()) {  // a non-finite w: the official's bare except takes the targets
            ++r.failed_fits;
            if (log)
              log(where + ": no SVM fit (" + o.error + "); the targets stand for its predictions, as the official's");
          } else {
            predictions = std::move(o.predictions);
            if (!o.converged) {
              ++r.unconverged_fits;
              if (log) log(where + ": the SVM stopped at liblinear's 1000 iterations (sklearn's ConvergenceWarning)");
            }
          }
        }
        double freq[2][2] = {{0, 0}, {0, 0}};
        for (size_t i = 0; i < at.targets.size(); ++i) freq[predictions[i]][at.targets[i]] += 1;
        // The official's means: count / num_keep in float64.
        for (auto& row : freq)
          for (double& c : row) c /= double(num_keep);
        (space_w ? r.entropy_w : r.entropy_z).push_back(conditional_entropy(freq));
      }
      at.kept = {};  // no later fit reads them
      at.targets = {};
      if (progress) {
        const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double per_fit = spent / (2.0 * double(next_attribute + 1));
        char line[96];
        std::snprintf(line, sizeof line, "ls fits: %lld of %lld fits, %.2f s/fit",
                      static_cast<long long>(2 * (next_attribute + 1)), static_cast<long long>(2 * s.attributes),
                      per_fit);
        progress(line);
      }
    }
  };
  const auto fit = [&](size_t i) {  // in a worker process where there are several, or on one rank of a group
    const auto [a, space_w] = fits[i];
    const Attribute& at = attr[size_t(a)];
    const int64_t d = space_w ? s.w_dim : s.z_dim;
    const float* table = space_w ? s.w.data() : s.z.data();
    std::vector<const float*> rows;
    rows.reserve(at.kept.size());
    for (int64_t k : at.kept) rows.push_back(table + k * d);
    return fit_linear_svc(rows, d, at.targets);
  };
  const auto on_done = [&](size_t i, SvcOutcome o) {
    attr[size_t(fits[i].first)].fit[fits[i].second] = std::move(o);
    ++fits_done;
    finish_attributes();
  };
  if (group_size(comm) > 1) {
    fit_linear_svcs_on_ranks(comm, fits.size(), num_keep, fit, on_done);
    if (!computes_results(comm)) return {};  // rank 0 forms the result
  } else {
    const int64_t d_max = std::max(s.z_dim, s.w_dim);
    fit_linear_svcs(names, num_keep, workers > 0 ? workers : linear_svc_workers(num_keep, d_max), fit, on_done);
  }
  finish_attributes();  // the one-class attributes after the last fit
  r.ls_z = std::pow(2.0, numpy_sum(r.entropy_z));
  r.ls_w = std::pow(2.0, numpy_sum(r.entropy_w));
  return r;
}

}  // namespace gf::metrics
