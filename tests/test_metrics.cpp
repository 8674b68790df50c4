// The metrics' arithmetic and pipeline (metrics/): FID, KID and IS against the
// official formulas run in numpy/scipy (tools/make_metrics_golden.py), the
// float64 feature statistics, the quantization of generated images, the
// real-image cache, and whole metrics with a stand-in detector (the Inception
// network itself is tests/test_inception.cpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <fstream>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "metrics/compute_features.h"
#include "metrics/feature_stats.h"
#include "metrics/frechet.h"
#include "metrics/inception_score.h"
#include "metrics/kernel_inception_distance.h"
#include "metrics/metric_main.h"
#include "metrics/stats_cache.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;
namespace fs = std::filesystem;

namespace {

io::TensorMap golden() { return io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/metrics_golden.bin"); }

FeatureStats stats_of(const Tensor& x) {
  FeatureStats s(false, true, 0);
  s.append(x);
  return s;
}

double fid_of(const Tensor& gen, const Tensor& real) {
  std::vector<double> mg, sg, mr, sr;
  stats_of(gen).mean_cov(mg, sg);
  stats_of(real).mean_cov(mr, sr);
  return frechet_distance(mg, sg, mr, sr);
}

// A dataset of n grey 8x8 images with varied pixels, with or without mirrored copies.
std::unique_ptr<Dataset> small_dataset(int64_t n, bool xflip) {
  std::vector<uint8_t> px(size_t(n) * 64);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37 + (i / 64) * 11 + (i * i) % 13) % 256);
  DatasetOptions o;
  o.xflip = xflip;
  return std::make_unique<Dataset>("tiny", 8, 1, px, std::vector<int64_t>{}, o);
}

// Stand-in detector: 6 fixed random projections of the 0..255 pixels (first
// channel) plus one nonlinear feature, so statistics depend on every pixel.
Detector projection_detector() {
  return [](const Tensor& images) {
    REQUIRE(images.size(1) == 3);
    const int64_t n = images.size(0), p = images.size(2) * images.size(3);
    const Tensor x = slice(images, 1, 0, 1).reshape({n, p}).to(DType::f64);
    const Tensor w = (test::random_tensor({p, 6}, 77) * (1.0 / 255.0)).to(images.device());
    const Tensor f = matmul(x, w);
    return concat({f, square(slice(f, 1, 0, 1)) * 0.1}, 1).to(DType::f32);
  };
}

// A "generator" that replays the dataset's images in order as [-1, 1] floats.
ImageGenerator replay(const Dataset& ds) {
  auto next = std::make_shared<int64_t>(0);
  return [&ds, next](int64_t n, gf::Generator&) {
    Tensor out = Tensor::empty({n, 1, 8, 8});
    std::vector<uint8_t> px(64);
    for (int64_t i = 0; i < n; ++i) {
      ds.image((*next)++ % ds.size(), px.data());
      for (int k = 0; k < 64; ++k) out.data<float>()[i * 64 + k] = float(px[size_t(k)]) / 127.5f - 1.0f;
    }
    return out;
  };
}

// A context over ds with the stand-in detector, a cache in cache_dir (empty:
// none), at most max_items images a side, and its log lines kept in lines.
MetricContext stand_in_context(const Dataset& ds, const std::string& cache_dir, int64_t max_items,
                               std::vector<std::string>& lines) {
  MetricContext ctx;
  ctx.dataset = &ds;
  ctx.features = projection_detector();
  ctx.detector_key = "projection";
  ctx.cache_dir = cache_dir;
  ctx.max_items = max_items;
  ctx.log = [&lines](const std::string& l) { lines.push_back(l); };
  return ctx;
}

}  // namespace

TEST_CASE("frechet_distance equals the official scipy formula", "[metrics]") {
  const auto g = golden();
  for (const char* name : {"fid_d16", "fid_d64_close", "fid_d1"}) {
    const double want = g.at(std::string(name) + ".fid").item();
    const double got = fid_of(g.at(std::string(name) + ".gen"), g.at(std::string(name) + ".real"));
    INFO(name << ": got " << got << ", scipy " << want);
    CHECK(std::abs(got - want) <= 1e-9 + 1e-8 * std::abs(want));
  }
  // Singular covariances: scipy's sqrtm has imaginary parts the official
  // code drops; the eigenvalue form clamps the negative rounding instead.
  const double want = g.at("fid_d48_singular.fid").item();
  const double got = fid_of(g.at("fid_d48_singular.gen"), g.at("fid_d48_singular.real"));
  INFO("singular: got " << got << ", scipy " << want);
  CHECK(std::abs(got - want) <= 1e-4 * std::abs(want));
}

TEST_CASE("frechet_distance: closed forms and properties", "[metrics]") {
  // One dimension: (mu1 - mu2)^2 + (s1 - s2)^2 for standard deviations s.
  CHECK(frechet_distance({1.5}, {4.0}, {-0.5}, {0.25}) == Approx(4.0 + 2.25).epsilon(1e-12));
  // Diagonal covariances: the sum over dimensions.
  CHECK(frechet_distance({0, 0}, {4, 0, 0, 9}, {1, 0}, {1, 0, 0, 1}) == Approx(1 + 1 + 4).epsilon(1e-12));
  // Symmetric, zero against itself.
  const auto g = golden();
  const Tensor a = g.at("fid_d16.gen"), b = g.at("fid_d16.real");
  CHECK(fid_of(a, b) == Approx(fid_of(b, a)).epsilon(1e-10));
  CHECK(std::abs(fid_of(a, a)) < 1e-9);
  CHECK_THROWS_WITH(frechet_distance({0}, {1}, {0, 0}, {1, 0, 0, 1}), Catch::Contains("do not match"));
  CHECK_THROWS_WITH(frechet_distance({NAN}, {1}, {0}, {1}), Catch::Contains("non-finite"));
}

TEST_CASE("inception_score equals the official numpy formula", "[metrics]") {
  const auto g = golden();
  for (const char* name : {"is_n40_k12", "is_n53_k30_peaked"}) {
    const Tensor p = g.at(std::string(name) + ".probs");
    const std::vector<double> want = g.at(std::string(name) + ".is").to_vector();
    std::vector<float> probs;
    for (double v : p.to_vector()) probs.push_back(float(v));
    const auto [mean, std] = inception_score(probs, p.size(0), p.size(1), 10);
    INFO(name << ": mean " << mean << " vs " << want[0] << ", std " << std << " vs " << want[1]);
    CHECK(mean == Approx(want[0]).epsilon(1e-5));
    CHECK(std == Approx(want[1]).epsilon(1e-4).margin(1e-6));
  }
  // Identical one-hot rows: every part's marginal is that row: score 1.
  std::vector<float> same(20 * 4, 0.0f);
  for (int i = 0; i < 20; ++i) same[size_t(i) * 4 + 1] = 1.0f;
  CHECK(inception_score(same, 20, 4, 10).first == Approx(1.0));
  CHECK_THROWS_WITH(inception_score(same, 5, 16, 10), Catch::Contains("at least 10 rows"));
}

TEST_CASE("FeatureStats: float64 sums, the biased covariance, max_items", "[metrics]") {
  const Tensor x = test::random_tensor({37, 5}, 3).to(DType::f32);
  FeatureStats s(true, true, 30);
  s.append(slice(x, 0, 0, 20));
  s.append(slice(x, 0, 20, 37));  // 7 of these rows are past max_items
  CHECK(s.is_full());
  CHECK(s.num_items() == 30);
  CHECK(s.all().size() == 30 * 5);
  std::vector<double> mean, cov;
  s.mean_cov(mean, cov);
  const std::vector<double> v = slice(x, 0, 0, 30).to_vector();
  for (int j = 0; j < 5; ++j) {
    double m = 0;
    for (int i = 0; i < 30; ++i) m += v[size_t(i * 5 + j)];
    CHECK(mean[size_t(j)] == Approx(m / 30).epsilon(1e-12));
  }
  for (int a = 0; a < 5; ++a)
    for (int b = 0; b < 5; ++b) {
      double c = 0;
      for (int i = 0; i < 30; ++i) c += (v[size_t(i * 5 + a)] - mean[size_t(a)]) * (v[size_t(i * 5 + b)] - mean[size_t(b)]);
      CHECK(cov[size_t(a * 5 + b)] == Approx(c / 30).margin(1e-12));
    }
  // The cache's round trip keeps the sums bit for bit.
  const FeatureStats r = FeatureStats::from_raw(s.raw_mean(), s.raw_cov(), s.num_items(), s.num_items());
  std::vector<double> mean2, cov2;
  r.mean_cov(mean2, cov2);
  CHECK(mean2 == mean);
  CHECK(cov2 == cov);
  FeatureStats t(false, true, 0);
  t.append(x);
  CHECK_THROWS_WITH(t.append(test::random_tensor({2, 4}, 1).to(DType::f32)), Catch::Contains("4 columns, earlier ones 5"));
  CHECK_THROWS_WITH(FeatureStats(false, true, 0).mean_cov(mean, cov), Catch::Contains("no features"));
}

TEST_CASE("quantize_for_detector: the official uint8 conversion of generated images", "[metrics]") {
  const Tensor x = Tensor::from_vector({-1.0, -1.5, 1.0, 1.2, 0.0, -0.004, 0.5, NAN}, {1, 1, 2, 4});
  const std::vector<double> q = quantize_for_detector(x).to_vector();
  REQUIRE(q.size() == 24);  // grey repeated to three channels
  // x * 127.5 + 128: 0.5, -63.75, 255.5, 281, 128, 127.49, 191.75 -> clamp, truncate; NaN -> 0.
  const std::vector<double> want = {0, 0, 255, 255, 128, 127, 191, 0};
  for (int c = 0; c < 3; ++c)
    for (size_t i = 0; i < 8; ++i) {
      INFO("channel " << c << ", pixel " << i);
      CHECK(q[size_t(c) * 8 + i] == want[i]);
    }
  // Every float32 in a fine sweep of [-1.01, 1.01]: the engine ops give
  // what the scalar official arithmetic gives (float32 multiply, add, clamp, truncate).
  std::vector<double> sweep;
  for (int k = -101000; k <= 101000; ++k) sweep.push_back(float(k * 1e-5));
  for (int n = 0; n <= 256; ++n) {  // each level's edge and the floats either side
    const float edge = float((n - 128) / 127.5);
    for (float e : {std::nextafter(edge, -2.0f), edge, std::nextafter(edge, 2.0f)}) sweep.push_back(e);
  }
  const std::vector<double> got = quantize_for_detector(Tensor::from_vector(sweep, {1, 1, 1, int64_t(sweep.size())})).to_vector();
  int64_t wrong = 0;
  for (size_t i = 0; i < sweep.size(); ++i) {
    const float v = float(sweep[i]) * 127.5f + 128.0f;  // -ffp-contract=off: two roundings
    wrong += got[i] != double(std::trunc(std::min(std::max(v, 0.0f), 255.0f)));
  }
  CHECK(wrong == 0);
}

TEST_CASE("real_items: the _full metrics leave mirrored copies out", "[metrics]") {
  const auto ds = small_dataset(5, true);
  REQUIRE(ds->size() == 10);
  CHECK(real_items(*ds, false, 0) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(real_items(*ds, true, 0).size() == 10);
  CHECK(real_items(*ds, true, 7).size() == 7);
  CHECK(real_items(*ds, false, 3) == std::vector<int64_t>{0, 1, 2});
}

TEST_CASE("fid of a generator that replays the dataset is zero; of another, not", "[metrics]") {
  const auto ds = small_dataset(24, false);
  const fs::path cache = fs::temp_directory_path() / ("gf_metrics_cache_" + std::to_string(::getpid()));
  fs::remove_all(cache);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*ds, cache.string(), 24, lines);
  ctx.generator = replay(*ds);
  ctx.feature_opt.batch_size = 8;
  ctx.feature_opt.batch_gen = 4;
  const MetricResult r = calc_metric("fid50k_full", ctx);
  CHECK(r.num_gen == 24);
  CHECK(r.num_real == 24);
  CHECK(r.capped);
  CHECK(std::abs(r.results["fid50k_full"].get<double>()) < 1e-6);

  // Shifted images: a positive distance, and the second run reads the
  // real statistics from the cache with the same value bit for bit.
  ctx.generator = [g = replay(*ds)](int64_t n, gf::Generator& rng) { return g(n, rng) * 0.8; };
  const double d1 = calc_metric("fid50k_full", ctx).results["fid50k_full"].get<double>();
  CHECK(d1 > 0.01);
  const bool cached = std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
    return l.find("from the cache") != std::string::npos;
  });
  CHECK(cached);
  ctx.generator = [g = replay(*ds)](int64_t n, gf::Generator& rng) { return g(n, rng) * 0.8; };
  CHECK(calc_metric("fid50k_full", ctx).results["fid50k_full"].get<double>() == d1);

  // Another detector key is another cache entry; a damaged entry is ignored and rewritten.
  REQUIRE(std::distance(fs::directory_iterator(cache), fs::directory_iterator()) == 1);
  const fs::path entry = fs::directory_iterator(cache)->path();
  { std::ofstream(entry, std::ios::trunc) << "not a cache file"; }
  lines.clear();
  ctx.generator = [g = replay(*ds)](int64_t n, gf::Generator& rng) { return g(n, rng) * 0.8; };
  CHECK(calc_metric("fid50k_full", ctx).results["fid50k_full"].get<double>() == d1);
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("ignoring") != std::string::npos; }));
  CHECK(load_cached_stats(entry.string(), "other key", {}) == std::nullopt);
  fs::remove_all(cache);
}

TEST_CASE("the cache key follows the images' content, not their names", "[metrics]") {
  const auto a = small_dataset(6, false);
  std::vector<uint8_t> px(6 * 64, 10);
  const Dataset b("tiny", 8, 1, px, {}, {});
  const auto items = real_items(*a, false, 0);
  CHECK(dataset_content_key(*a, items) == dataset_content_key(*small_dataset(6, false), items));
  CHECK(dataset_content_key(*a, items) != dataset_content_key(b, items));
  CHECK(dataset_content_key(*a, items) != dataset_content_key(*a, {0, 1, 2}));
}

TEST_CASE("report_metric writes the official jsonl line", "[metrics]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_metrics_run_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  MetricResult r;
  r.metric = "fid50k_full";
  r.results = {{"fid50k_full", 12.5}};
  r.total_time = 3725.4;
  const std::string line = report_metric(r, dir.string(), (dir / "network-snapshot-000004.bin").string());
  report_metric(r, dir.string(), (dir / "network-snapshot-000008.bin").string());
  std::ifstream f(dir / "metric-fid50k_full.jsonl");
  std::string l1, l2;
  REQUIRE(std::getline(f, l1));
  REQUIRE(std::getline(f, l2));
  CHECK(l1 == line);
  const auto j = nlohmann::json::parse(l2);
  CHECK(j["results"]["fid50k_full"] == 12.5);
  CHECK(j["metric"] == "fid50k_full");
  CHECK(j["total_time_str"] == "1h 02m 05s");
  CHECK(j["num_gpus"] == 1);
  CHECK(j["snapshot_pkl"] == "network-snapshot-000008.bin");
  CHECK(j.contains("timestamp"));
  CHECK(!j.contains("num_gen"));
  fs::remove_all(dir);
}

TEST_CASE("metric names are the official ones", "[metrics]") {
  CHECK(parse_metric_list("none").empty());
  CHECK(parse_metric_list("fid50k_full,is50k") == std::vector<std::string>{"fid50k_full", "is50k"});
  CHECK(parse_metric_list("kid50k_full,kid50k") == std::vector<std::string>{"kid50k_full", "kid50k"});
  CHECK_THROWS_WITH(parse_metric_list("fid50k_full,fid10k"),
                    Catch::Contains("unknown metric 'fid10k'") &&
                        Catch::Contains("fid50k_full, kid50k_full, fid50k, kid50k, is50k"));
  CHECK(is_valid_metric("fid50k"));
  CHECK(is_valid_metric("kid50k_full"));
  CHECK(is_valid_metric("kid50k"));
  CHECK(!is_valid_metric("pr50k3_full"));
}

namespace {

std::vector<float> floats(const Tensor& t) {
  std::vector<float> v;
  for (double x : t.to_vector()) v.push_back(float(x));
  return v;
}

std::vector<std::vector<int64_t>> rows_of(const Tensor& t) {
  std::vector<std::vector<int64_t>> out(size_t(t.size(0)));
  const std::vector<double> v = t.to_vector();
  for (int64_t s = 0; s < t.size(0); ++s)
    for (int64_t i = 0; i < t.size(1); ++i) out[size_t(s)].push_back(int64_t(v[size_t(s * t.size(1) + i)]));
  return out;
}

double kid_of(const Tensor& gen, const Tensor& real, const KidSubsets& sub) {
  return kernel_inception_distance(floats(gen), gen.size(0), floats(real), real.size(0), gen.size(1), sub.gen,
                                   sub.real);
}

}  // namespace

TEST_CASE("kernel_inception_distance equals the official numpy formula on numpy's subsets", "[metrics]") {
  const auto g = golden();
  for (const char* name : {"kid_d16", "kid_d32_far", "kid_d48_close", "kid_d8_all_real"}) {
    const std::string n = name;
    const Tensor gen = g.at(n + ".gen"), real = g.at(n + ".real");
    const KidSubsets sub{rows_of(g.at(n + ".gen_subsets")), rows_of(g.at(n + ".real_subsets"))};
    const std::vector<double> want = g.at(n + ".kid").to_vector();  // {official float32, float64}
    const double got = kid_of(gen, real, sub);
    INFO(name << ": got " << got << ", numpy float64 " << want[1] << ", official float32 " << want[0]);
    // The same float64 arithmetic in another order: rounding only.
    CHECK(std::abs(got - want[1]) <= 1e-10 * std::abs(want[1]));
    // The official float32 products and sums are off by up to ~3e-6 here.
    CHECK(std::abs(got - want[0]) <= 1e-5 * std::abs(want[1]));
  }
  // m = #real: every real row in every subset.
  CHECK(g.at("kid_d8_all_real.real_subsets").size(1) == g.at("kid_d8_all_real.real").size(0));
}

TEST_CASE("kernel_inception_distance: a closed form and properties", "[metrics]") {
  // Dimension 1, m = 2: x = {1, 2}, y = {0, 1}, k(a, b) = (a b + 1)^3.
  // Off-diagonal K_xx + K_yy: 2 (27 + 1); K_xy: 1 + 8 + 1 + 27.
  // t = 56 / 1 - 2 * 37 / 2 = 19; KID = 19 / 1 / 2.
  CHECK(kernel_inception_distance({1, 2}, 2, {0, 1}, 2, 1, {{0, 1}}, {{1, 0}}) == Approx(9.5).epsilon(1e-15));

  // Two samples of one distribution: KID near 0 (an unbiased estimate of 0),
  // far below the KID to a shifted one; symmetric in its two sides.
  const Tensor a = test::random_tensor({1200, 24}, 5).to(DType::f32);
  const Tensor gen = slice(a, 0, 0, 600), real = slice(a, 0, 600, 1200);
  const Tensor shifted = real + 0.3;  // every feature
  const KidSubsets sub = draw_kid_subsets(600, 600, 300, 10, 7);
  const double same = kid_of(gen, real, sub), far = kid_of(gen, shifted, sub);
  INFO("same distribution " << same << ", shifted " << far);
  CHECK(std::abs(same) < 0.03 * far);  // numpy on normal features: |same| ~ 1e-3, far ~ 0.3
  CHECK(far > 0.1);
  const KidSubsets swapped{sub.real, sub.gen};
  CHECK(kid_of(real, gen, swapped) == Approx(same).epsilon(1e-12).margin(1e-15));
  CHECK(kid_of(shifted, gen, swapped) == Approx(far).epsilon(1e-12));

  const std::vector<float> f = floats(gen);
  CHECK_THROWS_WITH(kernel_inception_distance(f, 600, f, 600, 24, {{0}}, {{1}}), Catch::Contains("at least 2"));
  CHECK_THROWS_WITH(kernel_inception_distance(f, 600, f, 600, 24, {{0, 0}}, {{1, 2}}), Catch::Contains("twice"));
  CHECK_THROWS_WITH(kernel_inception_distance(f, 600, f, 600, 24, {{0, 600}}, {{1, 2}}), Catch::Contains("outside"));
  CHECK_THROWS_WITH(kernel_inception_distance(f, 600, f, 601, 24, {{0, 1}}, {{1, 2}}), Catch::Contains("rows of 24"));
  CHECK_THROWS_WITH(kernel_inception_distance(f, 600, f, 600, 24, {{0, 1}, {2, 3}}, {{1, 2}}), Catch::Contains("as many"));
  std::vector<float> bad = f;
  bad[24] = NAN;
  CHECK_THROWS_WITH(kernel_inception_distance(bad, 600, f, 600, 24, {{0, 1}}, {{1, 2}}), Catch::Contains("not finite"));
}

TEST_CASE("KID subsets: without replacement, uniform, deterministic in the seed", "[metrics]") {
  uint64_t c1 = 0, c2 = 0;
  const std::vector<int64_t> d1 = choice_without_replacement(1000000, 1000, 3, c1);
  CHECK(d1 == choice_without_replacement(1000000, 1000, 3, c2));
  CHECK(c1 == c2);
  CHECK(c1 > 0);
  CHECK(std::set<int64_t>(d1.begin(), d1.end()).size() == 1000);
  CHECK(*std::min_element(d1.begin(), d1.end()) >= 0);
  CHECK(*std::max_element(d1.begin(), d1.end()) < 1000000);
  CHECK(d1 != choice_without_replacement(1000000, 1000, 3, c1));  // the stream moves on
  uint64_t c3 = 0;
  CHECK(d1 != choice_without_replacement(1000000, 1000, 4, c3));  // another seed
  // m = n: a permutation.
  std::vector<int64_t> all = choice_without_replacement(50, 50, 9, c3);
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(all[size_t(i)] == i);
  CHECK_THROWS_WITH(choice_without_replacement(5, 6, 1, c3), Catch::Contains("cannot choose 6 distinct items of 5"));
  // Each of 10 items is in a draw of 3 with probability 0.3: over 20000
  // draws, counts of 6000 +- 5 sigma (sigma = 65).
  std::vector<int> count(10, 0);
  uint64_t c4 = 0;
  for (int k = 0; k < 20000; ++k)
    for (int64_t i : choice_without_replacement(10, 3, 11, c4)) ++count[size_t(i)];
  for (int v : count) CHECK(std::abs(v - 6000) < 325);

  const KidSubsets s = draw_kid_subsets(300, 40, 40, 100, 5);
  REQUIRE(s.gen.size() == 100);
  REQUIRE(s.real.size() == 100);
  CHECK(s.gen[0].size() == 40);
  CHECK(s.gen[0] != s.gen[1]);
  CHECK(draw_kid_subsets(300, 40, 40, 100, 5).gen == s.gen);
  CHECK(draw_kid_subsets(300, 40, 40, 100, 6).gen != s.gen);
  CHECK(kid_subset_size(50000, 1000000, 1000) == 1000);
  CHECK(kid_subset_size(16, 40, 1000) == 16);
}

TEST_CASE("kid50k_full and kid50k through calc_metric, real features from the cache", "[metrics]") {
  // 1010 items: m = 1000 of 1010 rows, so the seed's subsets matter.
  const auto ds = small_dataset(1010, false);
  const fs::path cache = fs::temp_directory_path() / ("gf_kid_cache_" + std::to_string(::getpid()));
  fs::remove_all(cache);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*ds, cache.string(), 1010, lines);
  ctx.seed = 21;
  ctx.feature_opt.batch_size = 64;
  ctx.feature_opt.batch_gen = 4;
  ctx.generator = replay(*ds);
  const MetricResult r = calc_metric("kid50k_full", ctx);
  CHECK(r.num_gen == 1010);
  CHECK(r.num_real == 1010);
  CHECK(r.capped);
  const double v = r.results["kid50k_full"].get<double>();

  // The replayed images are the dataset's (quantization keeps the 8-bit
  // values): the same KID from the features and the seed's subsets directly.
  const FeatureStats f = dataset_features(*ds, real_items(*ds, false, 0), ctx.features, true, false, ctx.feature_opt);
  const KidSubsets sub = draw_kid_subsets(1010, 1010, 1000, 100, 21);
  CHECK(v == kernel_inception_distance(f.all(), 1010, f.all(), 1010, f.num_features(), sub.gen, sub.real));
  // Both sides draw from the same 1010 rows, so K_xy holds ~990 pairs of a
  // row with itself, which the estimate's unbiasedness does not expect: below 0.
  CHECK(v < 0);

  // The second run reads the real features from the cache: the same value,
  // bit for bit; the entry holds every row in float32.
  ctx.generator = replay(*ds);
  lines.clear();
  CHECK(calc_metric("kid50k_full", ctx).results["kid50k_full"].get<double>() == v);
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("from the cache") != std::string::npos; }));
  REQUIRE(std::distance(fs::directory_iterator(cache), fs::directory_iterator()) == 1);
  const io::SafetensorsFile entry = io::read_safetensors(fs::directory_iterator(cache)->path().string());
  CHECK(entry.tensors.at("all").shape() == Shape({1010, 7}));
  CHECK(entry.tensors.at("all").dtype() == DType::f32);
  CHECK(entry.metadata.at("key").find("stats all_features; items 1010;") == 0);

  // Another seed: other subsets, another estimate; scaled images: a larger KID.
  ctx.seed = 22;
  ctx.generator = replay(*ds);
  const double v22 = calc_metric("kid50k_full", ctx).results["kid50k_full"].get<double>();
  CHECK(v22 != v);
  ctx.generator = [g = replay(*ds)](int64_t n, gf::Generator& rng) { return g(n, rng) * 0.8; };
  const double far = calc_metric("kid50k_full", ctx).results["kid50k_full"].get<double>();
  INFO("replay " << v << ", seed 22 " << v22 << ", scaled " << far);
  CHECK(far > 0);

  // An FID on the same images is another cache entry (sums, not rows).
  ctx.generator = replay(*ds);
  calc_metric("fid50k_full", ctx);
  CHECK(std::distance(fs::directory_iterator(cache), fs::directory_iterator()) == 2);
  fs::remove_all(cache);

  // kid50k sees the x-flipped copies, kid50k_full leaves them out; fewer
  // than 2 images is one clear error.
  const auto flips = small_dataset(5, true);
  MetricContext c2 = ctx;
  c2.dataset = flips.get();
  c2.cache_dir.clear();
  c2.max_items = 8;
  c2.generator = replay(*flips);
  CHECK(calc_metric("kid50k", c2).num_real == 8);
  c2.generator = replay(*flips);
  CHECK(calc_metric("kid50k_full", c2).num_real == 5);
  c2.max_items = 1;
  CHECK_THROWS_WITH(calc_metric("kid50k", c2), Catch::Contains("kid50k needs at least 2 generated and 2 real images"));
}

TEST_CASE("FeatureStats: captured rows round-trip through the cache", "[metrics]") {
  const Tensor x = test::random_tensor({9, 4}, 8).to(DType::f32);
  FeatureStats s(true, false, 0);
  s.append(x);
  const fs::path p = fs::temp_directory_path() / ("gf_kid_entry_" + std::to_string(::getpid()) + ".bin");
  save_cached_stats(p.string(), "stats all_features; items 9", s, {});
  const auto back = load_cached_stats(p.string(), "stats all_features; items 9", {});
  REQUIRE(back);
  CHECK(back->captures_all());
  CHECK(!back->captures_mean_cov());
  CHECK(back->num_items() == 9);
  CHECK(back->num_features() == 4);
  CHECK(back->all() == s.all());
  CHECK(load_cached_stats(p.string(), "stats mean_cov; items 9", {}) == std::nullopt);
  fs::remove(p);
}

TEST_CASE("metrics on cuda: the quantization bit for bit, a whole FID as on the cpu", "[metrics][cuda]") {
  const Device gpu = Device::cuda(0);
  // Every 8-bit level's edge, the floats either side, and a sweep past [-1, 1].
  std::vector<double> v;
  for (int k = -1010; k <= 1010; ++k) v.push_back(float(k * 1e-3));
  for (int n = 0; n <= 256; ++n) {
    const float edge = float((n - 128) / 127.5);
    for (float e : {std::nextafter(edge, -2.0f), edge, std::nextafter(edge, 2.0f)}) v.push_back(e);
  }
  const Tensor x = Tensor::from_vector(v, {1, 1, 1, int64_t(v.size())});
  const Tensor q_gpu = quantize_for_detector(x.to(gpu));
  CHECK(q_gpu.device() == gpu);
  CHECK(q_gpu.to(Device::cpu()).to_vector() == quantize_for_detector(x).to_vector());

  // The generated images and the detector on the device, the statistics on the host.
  const auto ds = small_dataset(24, false);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*ds, "", 24, lines);
  ctx.feature_opt.batch_size = 8;
  ctx.generator = [g = replay(*ds)](int64_t n, gf::Generator& rng) { return g(n, rng) * 0.8; };
  const double cpu = calc_metric("fid50k_full", ctx).results["fid50k_full"].get<double>();
  ctx.feature_opt.device = gpu;
  ctx.generator = [g = replay(*ds), gpu](int64_t n, gf::Generator& rng) { return (g(n, rng) * 0.8).to(gpu); };
  const double on_gpu = calc_metric("fid50k_full", ctx).results["fid50k_full"].get<double>();
  INFO("cpu " << cpu << ", cuda " << on_gpu);
  CHECK(on_gpu == Approx(cpu).epsilon(1e-6));
}

TEST_CASE("contexts copied onto another dataset of the same name get that dataset's statistics", "[metrics]") {
  // The content-key memo is shared by copies of a context: keyed by item list
  // alone, the second dataset would be served the first's cached statistics.
  const auto a = small_dataset(16, false);
  std::vector<uint8_t> px(16 * 64);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 101 + 7) % 256);
  const Dataset b("tiny", 8, 1, px, {}, {});
  const fs::path cache = fs::temp_directory_path() / ("gf_metrics_memo_" + std::to_string(::getpid()));
  fs::remove_all(cache);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*a, cache.string(), 16, lines);
  ctx.feature_opt.batch_size = 8;
  ctx.generator = replay(*a);
  CHECK(std::abs(calc_metric("fid50k_full", ctx).results["fid50k_full"].get<double>()) < 1e-6);
  MetricContext other = ctx;
  other.dataset = &b;
  other.generator = replay(b);
  CHECK(std::abs(calc_metric("fid50k_full", other).results["fid50k_full"].get<double>()) < 1e-6);
  CHECK(std::distance(fs::directory_iterator(cache), fs::directory_iterator()) == 2);  // one entry each
  fs::remove_all(cache);
}
