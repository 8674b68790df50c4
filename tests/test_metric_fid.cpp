// FID and IS against the official formulas run in numpy/scipy (tools/fixtures/make_metrics_golden.py), the float64
// feature statistics, the quantization of generated images, the real-image cache, and whole FIDs with a stand-in
// detector (the Inception network itself is tests/test_inception.cpp).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>
#include <unistd.h>

#include "data/dataset.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "metrics/compute_features.h"
#include "metrics/feature_stats.h"
#include "metrics/frechet.h"
#include "metrics/inception_score.h"
#include "metrics/metric_main.h"
#include "metrics/stats_cache.h"
#include "tests/metrics_fixture.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;
namespace fs = std::filesystem;
using gf::test::golden;
using gf::test::replay;
using gf::test::small_dataset;
using gf::test::stand_in_context;

namespace {

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
  std::vector<uint8_t> one_changed = px;
  one_changed[5 * 64 + 63] = 11;  // the last pixel of the last image
  const Dataset c("tiny", 8, 1, one_changed, {}, {});
  CHECK(dataset_content_key(b, {0, 1, 2, 3, 4, 5}) != dataset_content_key(c, {0, 1, 2, 3, 4, 5}));
  CHECK(dataset_content_key(*a, {0, 1}) != dataset_content_key(*a, {1, 0}));
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

TEST_CASE("a cache entry with a NaN or a bad count is ignored, naming the file; a write that fails says why", "[metrics]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_cache_bad_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string key = "stats mean_cov; items 3";
  FeatureStats s(false, true, 0);
  s.append(test::random_tensor({3, 4}, 9).to(DType::f32));
  std::vector<std::string> lines;
  const auto log = [&](const std::string& l) { lines.push_back(l); };
  const std::string good = (dir / "good.bin").string();
  save_cached_stats(good, key, s, log);
  REQUIRE(load_cached_stats(good, key, log));
  REQUIRE(lines.empty());
  // The same entry with one NaN in its mean, and with a count that is no number.
  io::SafetensorsFile f = io::read_safetensors(good);
  Tensor mean = f.tensors.at("raw_mean").clone();
  mean.data<double>()[1] = std::nan("");
  io::TensorMap nan_tensors = f.tensors;
  nan_tensors["raw_mean"] = mean;
  const std::string nan_file = (dir / "nan.bin").string(), count_file = (dir / "count.bin").string();
  io::save_safetensors(nan_file, nan_tensors, f.metadata);
  io::Metadata bad_count = f.metadata;
  bad_count["num_items"] = "3x";
  io::save_safetensors(count_file, f.tensors, bad_count);
  // And a finite sum whose square overflows the covariance (a breaker's
  // hand edit): the FID refused it later, naming no cache file.
  Tensor huge = f.tensors.at("raw_mean").clone();
  huge.data<double>()[1] = 1e300;
  io::TensorMap huge_tensors = f.tensors;
  huge_tensors["raw_mean"] = huge;
  const std::string huge_file = (dir / "huge.bin").string();
  io::save_safetensors(huge_file, huge_tensors, f.metadata);
  CHECK(load_cached_stats(nan_file, key, log) == std::nullopt);
  CHECK(load_cached_stats(count_file, key, log) == std::nullopt);
  CHECK(load_cached_stats(huge_file, key, log) == std::nullopt);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "metrics cache: ignoring " + nan_file + " ('raw_mean' holds a non-finite value); computing the statistics again");
  CHECK(lines[1] == "metrics cache: ignoring " + count_file + " (num_items '3x' is not a count); computing the statistics again");
  CHECK(lines[2] == "metrics cache: ignoring " + huge_file + " (its mean or covariance is not finite); computing the statistics again");
  // A cache folder that is a file: the reason in words, not the library's text.
  lines.clear();
  { std::ofstream(dir / "a_file") << "x"; }
  const std::string under_file = (dir / "a_file" / "entry.bin").string();
  save_cached_stats(under_file, key, s, log);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "metrics cache: could not write " + under_file + " (Not a directory); the statistics are not kept");
  // A FIFO at the entry's name: opening it to read or to write blocked
  // until another process came; now it is passed over both ways.
  lines.clear();
  const std::string fifo = (dir / "fifo.bin").string();
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(load_cached_stats(fifo, key, log) == std::nullopt);
  save_cached_stats(fifo, key, s, log);
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("is a pipe, not a file") != std::string::npos);
  CHECK(lines[1] == "metrics cache: could not write " + fifo +
                        " (something other than a file is at that name); the statistics are not kept");
  CHECK(fs::is_fifo(fifo));
  fs::remove_all(dir);
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
