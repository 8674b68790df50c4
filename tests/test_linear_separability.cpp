// StyleGAN's linear separability (metrics/linear_separability.h,
// metrics/linear_svc.h, models/perceptual/attribute_classifiers.h) against
// the official metric's steps run with numpy and scikit-learn
// (tools/fixtures/make_ls_fixtures.py: tools/reference/linear_separability_reference.py), and
// its properties.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "engine/numpy_random_state.h"
#include "engine/ops.h"
#include "metrics/generators.h"
#include "metrics/linear_separability.h"
#include "metrics/linear_svc.h"
#include "metrics/metric_main.h"
#include "models/perceptual/attribute_classifiers.h"
#include "tests/tcp_ranks.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;

namespace {

const io::TensorMap& ls_golden() {
  static const io::TensorMap g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/ls_golden.bin");
  return g;
}

const Tensor& stored(const std::string& name) {
  const auto it = ls_golden().find(name);
  INFO(name);
  REQUIRE(it != ls_golden().end());
  return it->second;
}

std::vector<float> floats(const Tensor& t) {
  std::vector<float> v;
  for (double x : t.to_vector()) v.push_back(static_cast<float>(x));
  return v;
}

std::vector<int64_t> whole(const Tensor& t) {
  std::vector<int64_t> v;
  for (double x : t.to_vector()) v.push_back(static_cast<int64_t>(x));
  return v;
}

std::string classifiers_path() { return std::string(GF_TEST_DATA_DIR) + "/ls_classifiers.bin"; }

// The golden's synthetic samples: z, w and the classifiers' logits.
SeparabilitySamples golden_samples() {
  SeparabilitySamples s;
  const Tensor &z = stored("z"), &w = stored("w"), &l = stored("svm_logits");
  s.n = z.size(0);
  s.z_dim = z.size(1);
  s.w_dim = w.size(1);
  s.attributes = l.size(1);
  s.z = floats(z);
  s.w = floats(w);
  s.logits = floats(l);
  return s;
}

// The rows `kept` of a [n, d] row-major table.
std::vector<float> rows_of(const std::vector<float>& all, int64_t d, const std::vector<int64_t>& kept) {
  std::vector<float> x;
  for (int64_t i : kept) x.insert(x.end(), all.begin() + i * d, all.begin() + (i + 1) * d);
  return x;
}

// A small StyleGAN (v1) generator of RGB 16x16 images.
// The same entropies, scores and fit counts, bit for bit.
void check_same_separability(const Separability& a, const Separability& b) {
  CHECK(a.entropy_z == b.entropy_z);
  CHECK(a.entropy_w == b.entropy_w);
  CHECK(a.ls_z == b.ls_z);
  CHECK(a.ls_w == b.ls_w);
  CHECK(a.failed_fits == b.failed_fits);
  CHECK(a.unconverged_fits == b.unconverged_fits);
}

stylegan::Generator small_v1(uint64_t seed) {
  stylegan::GeneratorConfig c;
  c.latent_size = c.dlatent_size = 4;
  c.mapping_layers = 2;
  c.mapping_fmaps = 4;
  c.num_channels = 3;
  c.resolution = 16;
  c.fmap_base = 16;
  c.fmap_max = 4;
  return stylegan::Generator(c, seed);
}

}  // namespace

TEST_CASE("conditional_entropy: the official formula's values and its bounds", "[ls]") {
  const Tensor& cases = stored("p_cases");
  const std::vector<double> v = cases.to_vector(), want = stored("p_entropy").to_vector();
  for (size_t m = 0; m < want.size(); ++m) {
    const double counts[2][2] = {{v[m * 4], v[m * 4 + 1]}, {v[m * 4 + 2], v[m * 4 + 3]}};
    INFO("case " << m);
    CHECK(std::abs(conditional_entropy(counts) - want[m]) <= 1e-7);
  }
  // A perfect prediction leaves nothing to know; an independent one all of H(Y).
  const double perfect[2][2] = {{0.3, 0}, {0, 0.7}}, independent[2][2] = {{0.25, 0.25}, {0.25, 0.25}},
               one_class[2][2] = {{0.4, 0}, {0.6, 0}};
  CHECK(conditional_entropy(perfect) == 0.0);
  CHECK(std::abs(conditional_entropy(independent) - 1.0) < 1e-7);
  CHECK(conditional_entropy(one_class) == 0.0);
}

TEST_CASE("attribute_probabilities and most_confident: float32 softmax, ties in sample order", "[ls]") {
  float p0, p1;
  attribute_probabilities(2.0f, &p0, &p1);
  CHECK(p0 > p1);
  CHECK(std::abs(p0 - 1.0f / (1.0f + std::exp(-4.0f))) < 1e-7f);
  // A logit below float32's resolution is a tie: argmax takes class 0 even
  // for a negative one, as the official's.
  attribute_probabilities(-1e-30f, &p0, &p1);
  CHECK(p0 == p1);
  const std::vector<float> logits = {0.5f, -2.0f, 2.0f, 0.0f, -3.0f, 2.0f};
  CHECK(most_confident(logits.data(), 6, 1, 4) == std::vector<int64_t>{4, 1, 2, 5});
  CHECK(most_confident(logits.data(), 3, 2, 2) == std::vector<int64_t>{2, 1});  // every second value: 0.5, 2, -3
  CHECK_THROWS_WITH(most_confident(logits.data(), 6, 1, 7), Catch::Contains("keeps 7 of 6 samples"));
  // The golden's pruning, with its equal and zero logits.
  const SeparabilitySamples s = golden_samples();
  const int64_t keep = static_cast<int64_t>(stored("num_keep").item());
  for (int64_t a = 0; a < s.attributes; ++a) {
    INFO("attribute " << a);
    CHECK(most_confident(s.logits.data() + a, s.n, s.attributes, keep) == whole(stored("kept_" + std::to_string(a))));
  }
}

TEST_CASE("fit_linear_svc: sklearn's LinearSVC() on the same rows", "[ls]") {
  const SeparabilitySamples s = golden_samples();
  int compared = 0;
  for (int64_t a = 0; a < s.attributes; ++a) {
    const std::string k = std::to_string(a);
    const std::vector<int64_t> kept = whole(stored("kept_" + k));
    std::vector<int> targets;
    for (int64_t t : whole(stored("targets_" + k))) targets.push_back(int(t));
    const bool one_class = std::all_of(targets.begin(), targets.end(), [&](int t) { return t == targets[0]; });
    for (const bool space_w : {false, true}) {
      const int64_t d = space_w ? s.w_dim : s.z_dim;
      const std::vector<float> x = rows_of(space_w ? s.w : s.z, d, kept);
      const std::string space = space_w ? "w" : "z";
      INFO("attribute " << a << " in " << space);
      if (one_class) {  // sklearn's ValueError; the official takes the targets
        CHECK_THROWS_WITH(fit_linear_svc(x.data(), int64_t(kept.size()), d, targets),
                          Catch::Contains("needs rows of both classes"));
        continue;
      }
      const LinearSvcFit fit = fit_linear_svc(x.data(), int64_t(kept.size()), d, targets);
      CHECK(fit.converged);
      const std::vector<double> want = stored("decision_" + space + "_" + k).to_vector();
      const std::vector<int64_t> pred = whole(stored("pred_" + space + "_" + k));
      double scale = 0;
      for (double v : want) scale = std::max(scale, std::abs(v));
      for (size_t i = 0; i < want.size(); ++i) {
        // Both solvers stop within the tolerance of one optimum.
        CHECK(std::abs(fit.decision[i] - want[i]) <= 2e-3 * scale);
        if (std::abs(want[i]) > 1e-3 * scale) CHECK(fit.predictions[i] == pred[i]);
      }
      ++compared;
    }
  }
  CHECK(compared >= 6);
  // Deterministic: the same fit twice.
  const std::vector<int64_t> kept = whole(stored("kept_2"));
  std::vector<int> targets;
  for (int64_t t : whole(stored("targets_2"))) targets.push_back(int(t));
  const std::vector<float> x = rows_of(s.z, s.z_dim, kept);
  const LinearSvcFit f1 = fit_linear_svc(x.data(), int64_t(kept.size()), s.z_dim, targets);
  const LinearSvcFit f2 = fit_linear_svc(x.data(), int64_t(kept.size()), s.z_dim, targets);
  CHECK(f1.coef == f2.coef);
  CHECK(f1.intercept == f2.intercept);
  // What sklearn refuses.
  std::vector<float> bad = x;
  bad[5] = std::nanf("");
  CHECK_THROWS_WITH(fit_linear_svc(bad.data(), int64_t(kept.size()), s.z_dim, targets),
                    Catch::Contains("row 0 holds nan"));
  std::vector<int> three = targets;
  three[0] = 2;
  CHECK_THROWS_WITH(fit_linear_svc(x.data(), int64_t(kept.size()), s.z_dim, three),
                    Catch::Contains("label 2 at row 0"));
}

TEST_CASE("linear_separability of a diverged network: NaN logits last, their targets 0, no fit on a NaN w", "[ls]") {
  SeparabilitySamples s = golden_samples();
  const int64_t keep = static_cast<int64_t>(stored("num_keep").item());
  // Attribute 1's logits NaN for every third sample, and one w NaN.
  for (int64_t i = 0; i < s.n; i += 3) s.logits[size_t(i * s.attributes + 1)] = std::nanf("");
  const std::vector<int64_t> kept = most_confident(s.logits.data() + 1, s.n, s.attributes, s.n);
  const int64_t nans = (s.n + 2) / 3;
  for (int64_t k = 0; k < s.n; ++k)
    CHECK(std::isnan(s.logits[size_t(kept[size_t(k)] * s.attributes + 1)]) == (k >= s.n - nans));
  float p0, p1;
  attribute_probabilities(std::nanf(""), &p0, &p1);
  CHECK((std::isnan(p0) && std::isnan(p1)));
  s.w[size_t(whole(stored("kept_0"))[0] * s.w_dim)] = std::nanf("");
  std::vector<std::string> lines;
  const Separability r = linear_separability(s, keep, [&](const std::string& l) { lines.push_back(l); });
  // Every W fit whose kept rows hold it stood aside (attribute 0's among them), no Z fit.
  CHECK(r.failed_fits >= 1);
  REQUIRE(lines.size() == size_t(r.failed_fits));
  CHECK_THAT(lines[0], Catch::StartsWith("ls: attribute 0 in W: no SVM fit (linear_svc: row 0 holds nan"));
  for (const std::string& l : lines) CHECK_THAT(l, Catch::Contains(" in W: no SVM fit"));
  CHECK(r.entropy_w[0] == 0.0);  // the targets stood for the predictions
  CHECK(std::isfinite(r.ls_z));
  CHECK(std::isfinite(r.ls_w));
}

TEST_CASE("linear_separability: the official metric's entropies and scores", "[ls]") {
  const SeparabilitySamples s = golden_samples();
  const int64_t keep = static_cast<int64_t>(stored("num_keep").item());
  std::vector<std::string> progress;
  const Separability r = linear_separability(s, keep, {}, [&](const std::string& l) { progress.push_back(l); });
  // A line after each attribute's two fits; a progress hook that throws (the
  // programs' stop signal) stops the fits there.
  REQUIRE(progress.size() == 5);
  CHECK_THAT(progress[0], Catch::StartsWith("ls fits: 2 of 10 fits, "));
  CHECK_THAT(progress[4], Catch::StartsWith("ls fits: 10 of 10 fits, ") && Catch::EndsWith(" s/fit"));
  int calls = 0;
  CHECK_THROWS_WITH(linear_separability(s, keep, {},
                                        [&](const std::string&) {
                                          if (++calls == 2) throw Error("stop requested");
                                        }),
                    "stop requested");
  CHECK(calls == 2);
  const std::vector<double> ez = stored("entropy_z").to_vector(), ew = stored("entropy_w").to_vector();
  REQUIRE(r.entropy_z.size() == ez.size());
  for (size_t a = 0; a < ez.size(); ++a) {
    INFO("attribute " << a);
    CHECK(std::abs(r.entropy_z[a] - ez[a]) <= 1e-7);
    CHECK(std::abs(r.entropy_w[a] - ew[a]) <= 1e-7);
  }
  CHECK(std::abs(r.ls_z - stored("ls_z").item()) <= 1e-7 * stored("ls_z").item());
  CHECK(std::abs(r.ls_w - stored("ls_w").item()) <= 1e-7 * stored("ls_w").item());
  CHECK(r.unconverged_fits == 0);
  // An attribute that is a plane in Z separates there (entropy near 0); noise does not.
  CHECK(r.entropy_z[0] < 0.2);
  CHECK(r.entropy_z[2] > 0.5);
  CHECK(r.entropy_z[3] == 0.0);  // one class kept: the official's perfect prediction
}

TEST_CASE("linear_separability: the same entropies, lines and order for any number of fit processes", "[ls]") {
  // The golden samples (attribute 3 keeps one class: no fit) with a NaN w in
  // attribute 1's kept rows (its W fit refused) and 1, 2 and 3 workers
  // (metrics/linear_svc_pool.h; fits forked from 2 on).
  SeparabilitySamples s = golden_samples();
  const int64_t keep = static_cast<int64_t>(stored("num_keep").item());
  s.w[size_t(whole(stored("kept_1"))[3] * s.w_dim + 1)] = std::nanf("");
  struct Run {
    Separability r;
    std::vector<std::string> lines;
  };
  const auto run = [&](int threads) {
    test::OmpThreads t(threads);
    Run out;
    out.r = linear_separability(
        s, keep, [&](const std::string& l) { out.lines.push_back(l); },
        [&](const std::string& l) { out.lines.push_back(l.substr(0, l.rfind(','))); });
    return out;
  };
  const Run one = run(1);
  // Each attribute's lines, then its progress line; the W fits of every
  // attribute that kept the NaN sample refused.
  std::vector<std::string> progress;
  int refused = 0;
  for (const std::string& l : one.lines) {
    if (l.rfind("ls fits: ", 0) == 0) progress.push_back(l);
    if (l.find(" in W: no SVM fit (linear_svc: row ") != std::string::npos) ++refused;
  }
  CHECK(progress == std::vector<std::string>{"ls fits: 2 of 10 fits", "ls fits: 4 of 10 fits", "ls fits: 6 of 10 fits",
                                             "ls fits: 8 of 10 fits", "ls fits: 10 of 10 fits"});
  CHECK(refused == one.r.failed_fits);
  CHECK(std::count_if(one.lines.begin(), one.lines.end(), [](const std::string& l) {
          return l.rfind("ls: attribute 1 in W: no SVM fit (linear_svc: row 3 holds nan", 0) == 0;
        }) == 1);
  for (const int threads : {2, 3}) {
    INFO(threads << " threads");
    const Run many = run(threads);
    CHECK(many.lines == one.lines);
    check_same_separability(many.r, one.r);
  }
}

TEST_CASE("linear_separability over 2 and 3 ranks: rank 0's entropies, lines and order as one process's", "[ls]") {
  // The fits shared among ranks (threads joined through loopback TCP,
  // metrics/linear_svc_ranks.h), the NaN w of the case above refusing fits.
  SeparabilitySamples s = golden_samples();
  const int64_t keep = static_cast<int64_t>(stored("num_keep").item());
  s.w[size_t(whole(stored("kept_1"))[3] * s.w_dim + 1)] = std::nanf("");
  const auto strip_time = [](const std::string& l) {
    return l.rfind("ls fits: ", 0) == 0 ? l.substr(0, l.rfind(',')) : l;
  };
  std::vector<std::string> alone_lines;
  const Separability alone = linear_separability(
      s, keep, [&](const std::string& l) { alone_lines.push_back(l); },
      [&](const std::string& l) { alone_lines.push_back(strip_time(l)); }, 1);
  REQUIRE(alone.failed_fits > 0);
  for (const int world : {2, 3}) {
    INFO(world << " ranks");
    Separability got;
    std::vector<std::string> lines;
    std::vector<std::string> elsewhere;  // lines of the other ranks: none
    const std::vector<std::string> errors = test::run_ranks(world, 60, [&](int rank, Communicator& comm) {
      std::vector<std::string>& to = rank == 0 ? lines : elsewhere;
      const auto log = [&to](const std::string& l) { to.push_back(l); };
      const auto progress = [&to, &strip_time](const std::string& l) { to.push_back(strip_time(l)); };
      const Separability r = linear_separability(s, keep, rank == 0 ? log : std::function<void(const std::string&)>(),
                                                 rank == 0 ? progress : ProgressFn(), 0, &comm);
      if (rank == 0) got = r;
    });
    for (const std::string& e : errors) CHECK(e.empty());
    CHECK(elsewhere.empty());
    CHECK(lines == alone_lines);
    check_same_separability(got, alone);
  }
}

TEST_CASE("AttributeClassifiers: the converted classifiers' logits as the reference's", "[ls]") {
  const perceptual::AttributeClassifiers c = perceptual::AttributeClassifiers::load(classifiers_path());
  CHECK(c.count() == 40);
  CHECK(c.side() == 8);
  CHECK(c.names().front() == "00-male");
  CHECK(c.names().back() == "39-wearing-necktie");
  const Tensor got = c.logits(downsample_to_side(stored("images"), c.side()));
  const std::vector<double> g = got.to_vector(), want = stored("logits").to_vector();
  REQUIRE(g.size() == want.size());
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::abs(v));
  for (size_t i = 0; i < g.size(); ++i) CHECK(std::abs(g[i] - want[i]) <= 1e-5 * scale);
  CHECK_THROWS_WITH(c.logits(stored("images")), Catch::Contains("take [N, 3, 8, 8] images"));
  CHECK_THROWS_WITH(perceptual::AttributeClassifiers::load(std::string(GF_TEST_DATA_DIR) + "/stylegan_16x3.bin"),
                    Catch::Contains("not a converted set of attribute classifiers"));
}

TEST_CASE("AttributeClassifiers: what a set of other than the official 40 classifiers is refused for", "[ls]") {
  const io::SafetensorsFile good = io::read_safetensors(classifiers_path());
  test::TempDir dir("ls_classifiers");
  const auto refused = [&](io::TensorMap tensors, io::Metadata meta, const std::string& want) {
    meta.erase("data_crc32");
    meta.erase("metadata_crc32");
    io::save_safetensors(dir / "c.bin", tensors, meta);
    CHECK_THROWS_WITH(perceptual::AttributeClassifiers::load(dir / "c.bin"), Catch::Contains(want));
  };
  // 39 names: the metric's sum would be over 39 attributes.
  io::Metadata meta = good.metadata;
  nlohmann::json names = nlohmann::json::parse(meta.at("classifiers"));
  names.erase(names.size() - 1);
  meta["classifiers"] = names.dump();
  refused(good.tensors, meta, "metadata classifiers: classifiers: must list the 40 classifiers' names");
  // A classifier's tensors or config missing, a stray tensor.
  io::TensorMap tensors = good.tensors;
  for (auto it = tensors.begin(); it != tensors.end();)
    it = it->first.rfind("classifier_07.", 0) == 0 ? tensors.erase(it) : ++it;
  refused(tensors, good.metadata, "holds no tensor of classifier classifier_07 (07-bags-under-eyes)");
  meta = good.metadata;
  meta.erase("classifier_12_kwargs");
  refused(good.tensors, meta, "classifier_12_kwargs");
  tensors = good.tensors;
  tensors.emplace("extra.weight", tensors.begin()->second);
  refused(tensors, good.metadata, "tensor 'extra.weight' belongs to no classifier");
  // One classifier at another side: the images come to one side for all 40.
  meta = good.metadata;
  nlohmann::json side = nlohmann::json::parse(meta.at("classifier_05_kwargs"));
  side["resolution"] = 16;
  meta["classifier_05_kwargs"] = side.dump();
  refused(good.tensors, meta, "classifier 05-5-o-clock-shadow takes 16x16 images, the first one 8x8");
  // A classifier with labels or a minibatch-stddev layer: its logits would not be the attribute's alone.
  for (const char* change : {"label_size", "mbstd_group_size"}) {
    meta = good.metadata;
    nlohmann::json kw = nlohmann::json::parse(meta.at("classifier_03_kwargs"));
    kw[change] = 4;
    meta["classifier_03_kwargs"] = kw.dump();
    INFO(change);
    refused(good.tensors, meta, "an attribute classifier takes RGB, no label and no minibatch-stddev layer");
  }
}

TEST_CASE("downsample_to_side: means of whole blocks, refused otherwise", "[ls]") {
  const Tensor x = test::random_tensor({2, 3, 8, 8}, 5);
  const Tensor d = downsample_to_side(x, 4);
  CHECK(d.shape() == Shape{2, 3, 4, 4});
  const std::vector<double> xv = x.to_vector(), dv = d.to_vector();
  const double block = (xv[0] + xv[1] + xv[8] + xv[9]) / 4;
  CHECK(std::abs(dv[0] - block) < 1e-6);
  CHECK(downsample_to_side(x, 8).to_vector() == xv);
  CHECK_THROWS_WITH(downsample_to_side(x, 16), Catch::Contains("do not come to the classifiers' 16x16"));
  CHECK_THROWS_WITH(downsample_to_side(x, 3), Catch::Contains("by a whole factor"));
}

TEST_CASE("LS samples: the image generator's draws, the mapping's last w, any thread count", "[ls]") {
  const stylegan::Generator G = small_v1(3);
  const Dataset plain("plain", 16, 3, std::vector<uint8_t>(3 * 256, 9), {}, {});
  const LatentSampler latents = stylegan_latents(G, plain, Device::cpu());
  gf::Generator a(11), b(11);
  const LatentSample s = latents(3, a);
  // The same images FID's generator makes from the same stream.
  CHECK(s.images.to_vector() == stylegan_images(G, plain, Device::cpu())(3, b).to_vector());
  const Tensor ws = G.mapping(s.z, Tensor());
  CHECK(s.w.to_vector() == slice(ws, 1, ws.size(1) - 1, ws.size(1)).reshape({3, ws.size(2)}).to_vector());

  const perceptual::AttributeClassifiers c = perceptual::AttributeClassifiers::load(classifiers_path());
  const Detector logits = [&c](const Tensor& images) { return c.logits(images); };
  FeatureOptions opt;
  opt.batch_gen = 4;
  std::vector<SeparabilitySamples> runs;
  for (int threads : {1, 2}) {
    test::OmpThreads t(threads);
    gf::Generator rng(7);
    runs.push_back(separability_samples(latents, logits, c.side(), 10, rng, opt));
  }
  CHECK(runs[0].n == 10);
  CHECK(runs[0].attributes == 40);
  CHECK(runs[0].logits.size() == 400);
  CHECK(runs[0].z == runs[1].z);
  CHECK(runs[0].w == runs[1].w);
  CHECK(runs[0].logits == runs[1].logits);
  // Batch j's draws are its own: the third batch equals a sampler call on batch_rng(rng, 2).
  // Over 2 ranks (batches 0 and 2 on rank 0, 1 on rank 1): every rank holds one process's samples.
  std::vector<SeparabilitySamples> ranked(2);
  const std::vector<std::string> errors = test::run_ranks(2, 60, [&](int rank, Communicator& comm) {
    FeatureOptions ranked_opt = opt;
    ranked_opt.comm = &comm;
    gf::Generator rng(7);
    ranked[size_t(rank)] = separability_samples(latents, logits, c.side(), 10, rng, ranked_opt);
  });
  for (const std::string& e : errors) CHECK(e.empty());
  for (const SeparabilitySamples& r : ranked) {
    CHECK((r.n == 10 && r.z_dim == runs[0].z_dim && r.w_dim == runs[0].w_dim && r.attributes == 40));
    CHECK(r.z == runs[0].z);
    CHECK(r.w == runs[0].w);
    CHECK(r.logits == runs[0].logits);
  }
  gf::Generator rng(7);
  gf::Generator third = batch_rng(rng, 2);
  const LatentSample last = latents(4, third);
  const std::vector<double> z2 = slice(last.z, 0, 0, 2).to_vector();
  CHECK(std::vector<float>(runs[0].z.end() - 8, runs[0].z.end()) == std::vector<float>(z2.begin(), z2.end()));
}

TEST_CASE("ls through calc_metric: the results and what it refuses", "[ls]") {
  const stylegan::Generator G = small_v1(4);
  const Dataset plain("plain", 16, 3, std::vector<uint8_t>(3 * 256, 9), {}, {});
  const perceptual::AttributeClassifiers c = perceptual::AttributeClassifiers::load(classifiers_path());
  MetricContext ctx;
  ctx.dataset = &plain;
  ctx.generator = stylegan_images(G, plain, Device::cpu());
  ctx.max_items = 24;
  ctx.seed = 5;
  CHECK_THROWS_WITH(calc_metric("ls", ctx), Catch::Contains("ls: needs the attribute classifiers"));
  ctx.attribute_logits = [&c](const Tensor& images) { return c.logits(images); };
  ctx.attribute_side = c.side();
  CHECK_THROWS_WITH(calc_metric("ls", ctx), Catch::Contains("ls: needs a generator with a mapping network"));
  ctx.latents = stylegan_latents(G, plain, Device::cpu());
  const MetricResult r = calc_metric("ls", ctx);
  CHECK(r.num_gen == 24);
  CHECK(r.capped);
  const double z = r.results["ls_z"].get<double>(), w = r.results["ls_w"].get<double>();
  CHECK(z >= 1.0);  // 2 to a sum of entropies
  CHECK(w >= 1.0);
  CHECK(z <= std::pow(2.0, 40));
  // The same seed, the same result.
  CHECK(calc_metric("ls", ctx).results == r.results);
  // Images the classifiers cannot take.
  ctx.attribute_side = 32;
  CHECK_THROWS_WITH(calc_metric("ls", ctx), Catch::Contains("do not come to the classifiers' 32x32"));
  ctx.attribute_side = c.side();
  // Grey images are repeated to RGB (as NVlabs/stylegan2-ada's LS): the
  // same results as the grey channel given three times; two channels are refused.
  const LatentSampler rgb = ctx.latents;
  const auto first_channels = [&rgb](int64_t channels, int64_t copies) -> LatentSampler {
    return [rgb, channels, copies](int64_t n, gf::Generator& rng) {
      LatentSample s = rgb(n, rng);
      const Tensor c = slice(s.images, 1, 0, channels);
      s.images = copies == 1 ? c : concat({c, c, c}, 1);
      return s;
    };
  };
  ctx.latents = first_channels(1, 1);
  const nlohmann::json grey = calc_metric("ls", ctx).results;
  ctx.latents = first_channels(1, 3);
  CHECK(calc_metric("ls", ctx).results == grey);
  CHECK(grey != r.results);
  ctx.latents = first_channels(2, 1);
  CHECK_THROWS_WITH(calc_metric("ls", ctx), Catch::Contains("the attribute classifiers take grey or RGB images"));
  CHECK(metric_needs_classifiers("ls"));
  CHECK(metric_needs_mapping("ls"));
  CHECK_FALSE(metric_needs_classifiers("fid50k_full"));
  CHECK(metric_min_items("ls") == 2);
}

TEST_CASE("LS samples of StyleGAN2: labels as the image generator's, the mapping's last w", "[ls]") {
  stylegan2::GeneratorConfig c;
  c.z_dim = c.w_dim = 8;
  c.c_dim = 3;
  c.img_resolution = 16;
  c.img_channels = 3;
  c.channel_base = 64;
  c.channel_max = 8;
  c.mapping_layers = 2;
  stylegan2::Generator G(c, 6);
  const Dataset labelled("labelled", 16, 3, std::vector<uint8_t>(4 * 3 * 256, 50), std::vector<int64_t>{0, 1, 2, 1},
                         {});
  gf::Generator a(2), b(2);
  const LatentSample s = stylegan2_latents(G, labelled, Device::cpu())(3, a);
  CHECK(s.images.to_vector() == stylegan2_images(G, labelled, Device::cpu())(3, b).to_vector());
  // w: the mapping of z with the labels drawn right after it.
  gf::Generator again(2);
  const Tensor z = randn({3, 8}, again);
  const Tensor ws = G.mapping.forward(z, random_labels(labelled, 3, again, Device::cpu()));
  CHECK(s.z.to_vector() == z.to_vector());
  CHECK(s.w.to_vector() == slice(ws, 1, ws.size(1) - 1, ws.size(1)).reshape({3, 8}).to_vector());
}

TEST_CASE("linear_separability: a fit that stops at liblinear's 1000 iterations says so", "[ls]") {
  // bench_linear_separability --quick's data: a plane in 64 dimensions with
  // noise, which the dual solver does not finish (sklearn warns too).
  const int64_t n = 10000, d = 64;
  NumpyRandomState rs(1);
  SeparabilitySamples s;
  s.n = n;
  s.z_dim = s.w_dim = d;
  s.attributes = 1;
  for (int64_t i = 0; i < n * d; ++i) s.z.push_back(static_cast<float>(rs.randn()));
  s.w = s.z;
  const std::vector<double> v = rs.randn(size_t(d)), noise = rs.randn(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += double(s.z[size_t(i * d + j)]) * v[size_t(j)];
    s.logits.push_back(static_cast<float>(dot / 8 + 0.3 * noise[size_t(i)]));
  }
  std::vector<std::string> lines;
  const Separability r = linear_separability(s, n, [&](const std::string& l) { lines.push_back(l); });
  CHECK(r.unconverged_fits == 2);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] ==
        "ls: attribute 0 in Z: the SVM stopped at liblinear's 1000 iterations (sklearn's ConvergenceWarning)");
  CHECK_THAT(lines[1], Catch::StartsWith("ls: attribute 0 in W: "));
  CHECK(r.entropy_z[0] > 0.1);  // the noise: no plane separates it
  CHECK(r.entropy_z[0] == r.entropy_w[0]);
}
