// The metrics' arithmetic and pipeline (metrics/): FID, KID and IS against the
// official formulas run in numpy/scipy (tools/fixtures/make_metrics_golden.py), the
// float64 feature statistics, the quantization of generated images, the
// real-image cache, and whole metrics with a stand-in detector (the Inception
// network itself is tests/test_inception.cpp).
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <cstring>
#include <csignal>
#include <filesystem>
#include <random>
#include <set>
#include <sstream>
#include <fstream>
#include <omp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "metrics/compute_features.h"
#include "metrics/feature_stats.h"
#include "metrics/frechet.h"
#include "metrics/inception_score.h"
#include "metrics/kernel_inception_distance.h"
#include "metrics/generators.h"
#include "metrics/metric_main.h"
#include "metrics/perceptual_path_length.h"
#include "metrics/precision_recall.h"
#include "metrics/stats_cache.h"
#include "metrics/training_metrics.h"
#include "train/stop_signal.h"
#include "models/network_file.h"
#include "models/stylegan/config.h"
#include "models/stylegan2/config.h"
#include "models/stylegan2/network_file.h"
#include "tests/testing.h"
#include "tests/vgg16_fixture.h"

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
  std::vector<uint8_t> one_changed = px;
  one_changed[5 * 64 + 63] = 11;  // the last pixel of the last image
  const Dataset c("tiny", 8, 1, one_changed, {}, {});
  CHECK(dataset_content_key(b, {0, 1, 2, 3, 4, 5}) != dataset_content_key(c, {0, 1, 2, 3, 4, 5}));
  CHECK(dataset_content_key(*a, {0, 1}) != dataset_content_key(*a, {1, 0}));
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

TEST_CASE("a metric's line is shown before its append, and a run folder that refuses it is named with the cause",
          "[metrics]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_metrics_append_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // Nothing there yet, a writable folder: passes and creates nothing.
  CHECK_NOTHROW(check_metric_files_writable({"fid50k_full", "is50k"}, dir.string()));
  CHECK(fs::is_empty(dir));
  // A jsonl that is a folder (root cannot append to it either): refused up front, with the cause.
  fs::create_directories(dir / "metric-is50k.jsonl");
  CHECK_THROWS_WITH(check_metric_files_writable({"fid50k_full", "is50k"}, dir.string()),
                    "cannot write the results to " + (dir / "metric-is50k.jsonl").string() + ": Is a directory");
  CHECK_THROWS_WITH(check_metric_files_writable({"kid50k"}, (dir / "missing").string()),
                    Catch::EndsWith("No such file or directory"));
  CHECK_THROWS_WITH(append_metric_line(dir.string(), "is50k", "{}"),
                    "cannot append to " + (dir / "metric-is50k.jsonl").string() + ": Is a directory");
  append_metric_line(dir.string(), "fid50k_full", "{\"a\":1}");
  append_metric_line(dir.string(), "fid50k_full", "{\"a\":2}");
  std::ifstream f(dir / "metric-fid50k_full.jsonl");
  std::stringstream all;
  all << f.rdbuf();
  CHECK(all.str() == "{\"a\":1}\n{\"a\":2}\n");

  // A line that does not fit (a full disk; here a file size limit, in a
  // child) is cut back off: half a line stayed before, and the next result
  // was glued to it.
  const std::string jsonl = (dir / "metric-fid50k_full.jsonl").string();
  const pid_t child = ::fork();
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead
    const rlimit lim{static_cast<rlim_t>(fs::file_size(jsonl) + 5), RLIM_INFINITY};
    ::setrlimit(RLIMIT_FSIZE, &lim);
    try {
      append_metric_line(dir.string(), "fid50k_full", "{\"a\":3, \"too\":\"long\"}");
    } catch (const gf::Error& e) {
      ::_exit(std::string(e.what()).find("File too large") != std::string::npos ? 0 : 2);
    }
    ::_exit(1);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  std::ifstream again(jsonl);
  std::stringstream after;
  after << again.rdbuf();
  CHECK(after.str() == "{\"a\":1}\n{\"a\":2}\n");

  // A file that ends inside a line (a run killed while it wrote, a cut
  // copy): the next result starts a line of its own. Glued to the part, it
  // was lost with it (calc_metrics printed it and exited 0).
  std::ofstream(jsonl, std::ios::app) << "{\"results\": {\"fid50k_full\": 1.0}, \"timest";
  append_metric_line(dir.string(), "fid50k_full", "{\"a\":3}");
  std::ifstream cut(jsonl);
  std::stringstream after_cut;
  after_cut << cut.rdbuf();
  CHECK(after_cut.str() == "{\"a\":1}\n{\"a\":2}\n{\"results\": {\"fid50k_full\": 1.0}, \"timest\n{\"a\":3}\n");

  // A link named like a metric file (in a folder copied from elsewhere) is
  // refused, up front and when appending; what it leads to is untouched.
  std::ofstream(dir / "network-snapshot-000000.bin") << "weights";
  fs::create_symlink("network-snapshot-000000.bin", dir / "metric-kid50k.jsonl");
  CHECK_THROWS_WITH(check_metric_files_writable({"kid50k"}, dir.string()), Catch::Contains("a symbolic link"));
  CHECK_THROWS_WITH(append_metric_line(dir.string(), "kid50k", "{}"), Catch::Contains("a symbolic link"));
  std::ifstream weights(dir / "network-snapshot-000000.bin");
  std::string w;
  std::getline(weights, w);
  CHECK(w == "weights");
  fs::remove_all(dir);
}

TEST_CASE("metric names are the official ones", "[metrics]") {
  CHECK(parse_metric_list("none").empty());
  // As the official CommaSeparatedList: "none" in any case, or "" (refused before).
  CHECK(parse_metric_list("None").empty());
  CHECK(parse_metric_list("NONE").empty());
  CHECK(parse_metric_list("").empty());
  CHECK(parse_metric_list("fid50k_full,is50k") == std::vector<std::string>{"fid50k_full", "is50k"});
  CHECK(parse_metric_list("kid50k_full,kid50k") == std::vector<std::string>{"kid50k_full", "kid50k"});
  CHECK_THROWS_WITH(parse_metric_list("fid50k_full,fid10k"),
                    Catch::Contains("unknown metric 'fid10k'") &&
                        Catch::Contains("fid50k_full, kid50k_full, pr50k3_full, ppl2_wend, is50k, fid50k, kid50k, "
                                        "pr50k3, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend"));
  // An empty piece, trailing or between commas, is an unknown metric, as the official split(',') has it.
  for (const char* list : {"fid50k_full,", "fid50k_full,,is50k", ",is50k"})
    CHECK_THROWS_WITH(parse_metric_list(list), Catch::StartsWith("unknown metric ''"));
  CHECK(is_valid_metric("fid50k"));
  CHECK(is_valid_metric("kid50k_full"));
  CHECK(is_valid_metric("kid50k"));
  CHECK(!is_valid_metric("ppl_wmid"));
  // What each runs, and the fewest images each takes.
  for (const char* m : {"pr50k3_full", "pr50k3", "ppl2_wend", "ppl_zfull", "ppl_wfull", "ppl_zend", "ppl_wend"}) {
    CHECK(is_valid_metric(m));
    CHECK(metric_needs_vgg16(m));
    CHECK(!metric_needs_inception(m));
  }
  for (const char* m : {"fid50k_full", "kid50k", "is50k"}) CHECK((metric_needs_inception(m) && !metric_needs_vgg16(m)));
  CHECK(metric_needs_mapping("ppl_zend"));
  CHECK(!metric_needs_mapping("pr50k3"));
  CHECK(metric_min_items("pr50k3_full") == 4);
  CHECK(metric_min_items("ppl_wend") == 1);
  // PGGAN's: no detector, no mapping; MS-SSIM takes a pair.
  for (const char* m : {"swd16k", "msssim20k"})
    CHECK((is_valid_metric(m) && !metric_needs_inception(m) && !metric_needs_vgg16(m) && !metric_needs_mapping(m)));
  CHECK(metric_min_items("swd16k") == 1);
  CHECK(metric_min_items("msssim20k") == 2);
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

TEST_CASE("FID's statistics and distance and KID: the same bits at 1, 2 and 3 threads", "[metrics]") {
  // Sizes where OpenBLAS splits dsyrk, dgemm and LAPACK's dsyevd by the
  // thread count (FID differed in its last digits between 1, 2 and 3).
  const int64_t n = 500, d = 700;
  const Tensor a = test::random_tensor({n, d}, 11).to(DType::f32);
  const Tensor b = (test::random_tensor({n, d}, 12) * 1.3 + 0.2).to(DType::f32);
  const KidSubsets sub = draw_kid_subsets(n, n, 300, 2, 5);
  std::vector<std::vector<double>> stats;
  std::vector<double> fid, kid;
  for (int threads : {1, 2, 3}) {
    test::OmpThreads scope(threads);
    FeatureStats sa(false, true, 0), sb(false, true, 0);
    sa.append(slice(a, 0, 0, 250));
    sa.append(slice(a, 0, 250, n));
    sb.append(b);
    std::vector<double> mu1, s1, mu2, s2;
    sa.mean_cov(mu1, s1);
    sb.mean_cov(mu2, s2);
    stats.push_back(s1);
    fid.push_back(frechet_distance(mu1, s1, mu2, s2));
    kid.push_back(kid_of(a, b, sub));
  }
  for (size_t t = 1; t < 3; ++t) {
    INFO(t + 1 << " threads against 1: FID " << fid[t] << " / " << fid[0] << ", KID " << kid[t] << " / " << kid[0]);
    const bool same_covariance = stats[t] == stats[0];  // not expanded: 490000 values
    CHECK(same_covariance);
    CHECK(std::memcmp(&fid[t], &fid[0], sizeof(double)) == 0);
    CHECK(std::memcmp(&kid[t], &kid[0], sizeof(double)) == 0);
  }
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
  CHECK_THROWS_WITH(calc_metric("kid50k", c2), Catch::Contains("kid50k: needs at least 2 generated and 2 real images"));
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

// ---- PPL ----

TEST_CASE("filtered_mean equals the official percentile filter and mean", "[metrics]") {
  const auto g = golden();
  for (const char* name : {"ppl_n1", "ppl_n2", "ppl_n101", "ppl_n250", "ppl_n1000_ties"}) {
    const std::vector<double> want = g.at(std::string(name) + ".ppl").to_vector();  // official, float64 mean, kept
    const double got = filtered_mean(floats(g.at(std::string(name) + ".dist")));
    INFO(name << ": got " << got << ", numpy " << want[0] << " (float32), " << want[1] << " (float64), kept "
              << want[2]);
    // The same values kept (a different set moves the float64 mean far
    // more than rounding), and the official float32 mean to its rounding.
    CHECK(std::abs(got - want[1]) <= 1e-12 * std::abs(want[1]));
    CHECK(std::abs(got - want[0]) <= 1e-6 * std::abs(want[0]));
  }
  // Outliers are dropped: 200 ones and two huge values keep the mean at 1.
  std::vector<float> d(200, 1.0f);
  d.push_back(1e9f);
  d.push_back(-1e9f);
  CHECK(filtered_mean(d) == 1.0);
  CHECK(std::isnan(filtered_mean({1.0f, std::nanf(""), 2.0f})));
  CHECK_THROWS_WITH(filtered_mean({}), Catch::Contains("no distances"));
}

TEST_CASE("slerp and lerp_rows: the path's points", "[metrics]") {
  const Tensor a = test::random_tensor({5, 7}, 11).to(DType::f32), b = test::random_tensor({5, 7}, 12).to(DType::f32);
  const std::vector<double> tv = {0.0, 1.0, 0.25, 0.5, 0.9};
  const Tensor t = Tensor::from_vector(tv, {5}).to(DType::f32);
  const Tensor s = slerp(a, b, t);
  const auto av = a.to_vector(), bv = b.to_vector(), sv = s.to_vector();
  for (int64_t i = 0; i < 5; ++i) {
    double na = 0, nb = 0, ns = 0, ab = 0, as = 0;
    for (int64_t k = 0; k < 7; ++k) {
      const size_t j = size_t(i * 7 + k);
      na += av[j] * av[j], nb += bv[j] * bv[j], ns += sv[j] * sv[j], ab += av[j] * bv[j], as += av[j] * sv[j];
    }
    INFO("row " << i << ", t " << tv[size_t(i)]);
    CHECK(ns == Approx(1.0).epsilon(1e-6));  // on the unit sphere
    // The angle from a is t times the angle between the ends.
    CHECK(std::acos(std::min(1.0, as / std::sqrt(na))) == Approx(tv[size_t(i)] * std::acos(ab / std::sqrt(na * nb))).margin(2e-3));
    if (tv[size_t(i)] == 1.0)
      for (int64_t k = 0; k < 7; ++k) CHECK(sv[size_t(i * 7 + k)] == Approx(bv[size_t(i * 7 + k)] / std::sqrt(nb)).margin(1e-6));
  }
  // The two points [2n]: t and t + epsilon, the second epsilon further along.
  const Tensor both = slerp_rows(a, b, t, 1e-2);
  REQUIRE(both.shape() == Shape{10, 7});
  CHECK(slice(both, 0, 0, 5).to_vector() == s.to_vector());

  // W: lerp at t and at t + epsilon (float32); t = 0 gives w0 itself.
  const Tensor w0 = test::random_tensor({5, 3, 4}, 13).to(DType::f32), w1 = test::random_tensor({5, 3, 4}, 14).to(DType::f32);
  const Tensor zero = zeros({5});
  const Tensor wl = lerp_rows(w0, w1, zero, 1e-4);
  REQUIRE(wl.shape() == Shape{10, 3, 4});
  CHECK(slice(wl, 0, 0, 5).to_vector() == w0.to_vector());
  const auto w0v = w0.to_vector(), w1v = w1.to_vector(), lv = wl.to_vector();
  for (size_t j = 0; j < w0v.size(); ++j)
    CHECK(lv[j + w0v.size()] == Approx(w0v[j] + double(1e-4f) * (w1v[j] - w0v[j])).margin(1e-7));
  // v1's tflib.lerp form agrees to rounding.
  const auto tf = lerp_rows(w0, w1, t, 1e-4, true).to_vector(), torch = lerp_rows(w0, w1, t, 1e-4).to_vector();
  for (size_t j = 0; j < tf.size(); ++j) CHECK(tf[j] == Approx(torch[j]).margin(1e-6));
  CHECK_THROWS_WITH(slerp(a, b, zeros({4})), Catch::Contains("t [N]"));
}

TEST_CASE("slerp is formed of engine ops: autograd sees through it", "[metrics][grad]") {
  // It runs where its rows are (no host round trip per batch on a GPU: the
  // [cuda] case below) and, as a composition of ops, is differentiable in
  // the ends and t; the host loop it replaced gave a tensor with no history.
  const Tensor a = test::random_tensor({3, 5}, 21).requires_grad_(), b = test::random_tensor({3, 5}, 22).requires_grad_();
  const Tensor t = Tensor::from_vector({0.2, 0.5, 0.9}, {3}, DType::f64).requires_grad_();
  const test::Fn f = [](const std::vector<Tensor>& in) { return slerp(in[0], in[1], in[2]); };
  const auto g = test::gradcheck(f, {a, b, t});
  INFO(g.message);
  CHECK(g.ok);
}

TEST_CASE("slerp_rows and lerp_rows on cuda: there, equal to the cpu's", "[metrics][cuda]") {
  const Device gpu = Device::cuda(0);
  const Tensor a = test::random_tensor({6, 512}, 23).to(DType::f32), b = test::random_tensor({6, 512}, 24).to(DType::f32);
  const Tensor t = Tensor::from_vector({0.0, 0.1, 0.3, 0.5, 0.7, 0.99}, {6}).to(DType::f32);
  const Tensor s = slerp_rows(a.to(gpu), b.to(gpu), t.to(gpu), 1e-4);
  CHECK(s.device() == gpu);
  CHECK(test::allclose(s.to(Device::cpu()), slerp_rows(a, b, t, 1e-4), 1e-5, 1e-6).ok);
  const Tensor l = lerp_rows(a.to(gpu), b.to(gpu), t.to(gpu), 1e-4);
  CHECK(l.device() == gpu);
  // nvcc may fuse lerp's multiply-add (--fmad=true), so the rows agree to rounding...
  CHECK(test::allclose(l.to(Device::cpu()), lerp_rows(a, b, t, 1e-4), 1e-6, 1e-7).ok);
  // ...and t + epsilon itself rounds alike: between 0 and 1 both lerp forms are exact.
  const Tensor zero = zeros({6, 4}), one = ones({6, 4});
  CHECK(lerp_rows(zero.to(gpu), one.to(gpu), t.to(gpu), 1e-4).to(Device::cpu()).to_vector() ==
        lerp_rows(zero, one, t, 1e-4).to_vector());
}

TEST_CASE("crop_and_downsample: the official face crop and block means", "[metrics]") {
  std::vector<double> v(2 * 16 * 16);
  for (size_t i = 0; i < v.size(); ++i) v[i] = double(i);
  const Tensor x = Tensor::from_vector(v, {1, 2, 16, 16}).to(DType::f32);
  const Tensor c = crop_and_downsample(x, true, 1);  // c = 2: rows 6..14, columns 4..12
  REQUIRE(c.shape() == Shape{1, 2, 8, 8});
  const auto cv = c.to_vector();
  CHECK(cv[0] == 6 * 16 + 4);
  CHECK(cv[63] == 13 * 16 + 11);
  CHECK(cv[64] == 256 + 6 * 16 + 4);
  const Tensor d = crop_and_downsample(x, true, 2);
  REQUIRE(d.shape() == Shape{1, 2, 4, 4});
  CHECK(d.to_vector()[0] == (96 + 4 + 96 + 5 + 112 + 4 + 112 + 5) / 4.0);
  CHECK(crop_and_downsample(x, false, 4).shape() == Shape{1, 2, 4, 4});
  CHECK_THROWS_WITH(crop_and_downsample(slice(x, 3, 0, 8), true, 1), Catch::Contains("square"));
  CHECK_THROWS_WITH(crop_and_downsample(x, false, 3), Catch::Contains("3x3 blocks"));
}

namespace {

// A stand-in LPIPS embedding: the 0..255 pixels themselves, flattened.
Detector flat_embedding() {
  return [](const Tensor& images) { return images.reshape({images.size(0), images.numel() / images.size(0)}); };
}

stylegan2::GeneratorConfig ppl_g(int c_dim = 0) {
  stylegan2::GeneratorConfig c;
  c.z_dim = c.w_dim = 8;
  c.c_dim = c_dim;
  c.img_resolution = 16;
  c.img_channels = 1;
  c.channel_base = 64;
  c.channel_max = 8;
  c.mapping_layers = 2;
  return c;
}

}  // namespace

TEST_CASE("ppl_distances: the squared embedding difference over epsilon squared", "[metrics]") {
  // Images x and x + eps * delta on a 1/64 grid, so every step is exact:
  // with the pixels as the embedding, grey repeated to three channels, the
  // distance is 3 sum (127.5 delta)^2 whatever epsilon is.
  const double eps = 1.0 / 64;
  std::vector<double> x(2 * 16), y(2 * 16), want(2, 0.0);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = double(int(i * 7 % 50) - 25) / 64;
    const double delta = double(int(i % 5) - 2);
    y[i] = x[i] + eps * delta;
    want[i / 16] += 3 * (127.5 * delta) * (127.5 * delta);
  }
  std::vector<double> v = x;
  v.insert(v.end(), y.begin(), y.end());
  const Tensor pairs = Tensor::from_vector(v, {4, 1, 4, 4}).to(DType::f32);
  const auto d = ppl_distances(pairs, flat_embedding(), eps, Device::cpu()).to_vector();
  REQUIRE(d.size() == 2);
  CHECK(d[0] == Approx(want[0]).epsilon(1e-6));
  CHECK(d[1] == Approx(want[1]).epsilon(1e-6));
  CHECK_THROWS_WITH(ppl_distances(slice(pairs, 0, 0, 3), flat_embedding(), eps, Device::cpu()), Catch::Contains("[2n"));
}

TEST_CASE("perceptual_path_length reads the distances back in chunks: the same values in the same order", "[metrics]") {
  // 601 samples in batches of 2: three chunks of up to 256 batches (the last
  // partial, its last batch cut to one sample). Batch j draws from
  // batch_rng(rng, j); the same draws one batch at a time through
  // ppl_distances give the list.
  int calls = 0;
  const PathSampler paths = [&calls](int64_t n, const PplSpec&, gf::Generator& g) {
    ++calls;
    return rand({2 * n, 1, 4, 4}, g);
  };
  PplSpec spec;
  spec.epsilon = 1.0 / 64;
  const int64_t num = 601;
  gf::Generator a(5);
  std::vector<float> want;
  for (int64_t j = 0; int64_t(want.size()) < num; ++j) {
    gf::Generator b = batch_rng(a, j);
    for (double d : ppl_distances(paths(spec.batch, spec, b), flat_embedding(), spec.epsilon, Device::cpu()).to_vector())
      want.push_back(float(d));
  }
  want.resize(size_t(num));
  calls = 0;
  CHECK(perceptual_path_length(paths, flat_embedding(), spec, num, a, FeatureOptions{}) == filtered_mean(want));
  CHECK(calls == 301);  // no batch drawn past the last one needed
  CHECK(a.offset == 0);  // the batches draw from their own stretches, not from rng itself
}

// metric_main.py's report_metric writes json.dumps(...): ", " and ": "
// between items, a non-finite result as NaN (it was compact JSON with null).
TEST_CASE("a metric line is laid out as the official json.dumps writes it", "[metrics]") {
  MetricResult r;
  r.metric = "is50k";
  r.results = {{"is50k_mean", std::numeric_limits<double>::quiet_NaN()}, {"is50k_std", 0.25}};
  r.total_time = 61.25;
  r.num_gpus = 2;
  const std::string line = metric_line(r, "/runs/00001-x", "/runs/00001-x/network-snapshot-000004.bin");
  INFO(line);
  CHECK(line.rfind("{\"results\": {\"is50k_mean\": NaN, \"is50k_std\": 0.25}, \"metric\": \"is50k\", \"total_time\": 61.25, "
                   "\"total_time_str\": \"1m 01s\", \"num_gpus\": 2, \"snapshot_pkl\": \"network-snapshot-000004.bin\", "
                   "\"timestamp\": ",
                   0) == 0);
  CHECK(line.back() == '}');
  CHECK(line.find("num_gen") == std::string::npos);  // only for capped runs
}

// metric_main.py's snapshot_pkl is os.path.relpath(snapshot, run_dir):
// lexical. A snapshot reached through a link was named by the link's target
// (std::filesystem::relative), which report.html does not match.
TEST_CASE("snapshot_pkl is os.path.relpath's: no link followed", "[metrics]") {
  namespace fs = std::filesystem;
  const gf::test::TempDir dir("relpath");
  fs::create_directories(dir.path / "elsewhere");
  fs::create_directories(dir.path / "run");
  std::ofstream(dir / "elsewhere/snap.bin") << "x";
  fs::create_symlink("../elsewhere/snap.bin", dir.path / "run/network-snapshot-000123.bin");
  fs::create_symlink("elsewhere", dir.path / "link");
  CHECK(python_relpath(dir / "run/network-snapshot-000123.bin", dir / "run") == "network-snapshot-000123.bin");
  CHECK(python_relpath(dir / "run/network-snapshot-000123.bin", dir / "run/") == "network-snapshot-000123.bin");
  CHECK(python_relpath(dir / "link/snap.bin", dir / "run") == "../link/snap.bin");
  CHECK(python_relpath(dir / "run/../elsewhere/./snap.bin", dir / "run") == "../elsewhere/snap.bin");
  // os.path.relpath('/a/b/c.bin', '/x') and relative to the working folder
  CHECK(python_relpath("/a/b/c.bin", "/x") == "../a/b/c.bin");
  CHECK(python_relpath("c.bin", fs::current_path().string()) == "c.bin");
  CHECK(python_relpath(fs::current_path().string() + "/c.bin", ".") == "c.bin");
}

TEST_CASE("the PPL metrics through calc_metric: draws, determinism, the network untouched, refusals", "[metrics]") {
  stylegan2::Generator G(ppl_g(3), 5);
  const auto ds_px = std::vector<uint8_t>(6 * 256, 100);
  const Dataset labelled("labelled", 16, 1, ds_px, std::vector<int64_t>{0, 1, 2, 0, 1, 2}, {});
  // The sampler's draws in the official order: labels, t, z (z0 the first
  // half), one fresh value set per noise_const buffer; t is 0 for "end".
  PplSpec wend;
  gf::Generator rng(3);
  const PathDraws d = stylegan2_path_draws(G, labelled, 2, wend, rng, Device::cpu());
  CHECK(d.c.shape() == Shape{2, 3});
  CHECK(d.t.to_vector() == std::vector<double>{0, 0});
  CHECK(d.z0.shape() == Shape{2, 8});
  int buffers = 0;
  for (const auto& [name, buf] : G.named_buffers())
    if (name.size() > 12 && name.substr(name.size() - 12) == ".noise_const") ++buffers;
  CHECK(int(d.noise.size()) == buffers);
  CHECK(buffers > 0);
  PplSpec zfull;
  zfull.space_w = false;
  zfull.full = true;
  gf::Generator rng2(3);
  const auto tf = stylegan2_path_draws(G, labelled, 2, zfull, rng2, Device::cpu()).t.to_vector();
  CHECK((tf[0] > 0 && tf[0] < 1 && tf[1] > 0 && tf[1] < 1));
  // The images: [2n, C, crop] with the crop, the whole image without.
  CHECK(stylegan2_path_images(G, d, wend).shape() == Shape{4, 1, 8, 8});
  PplSpec uncropped = wend;
  uncropped.crop = false;
  CHECK(stylegan2_path_images(G, d, uncropped).shape() == Shape{4, 1, 16, 16});

  const auto before = G.state_dict();
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(labelled, "", 5, lines);
  ctx.generator = [](int64_t n, gf::Generator&) { return zeros({n, 1, 16, 16}); };
  ctx.lpips = flat_embedding();
  ctx.paths = stylegan2_paths(G, labelled, Device::cpu());
  for (const char* m : {"ppl_wend", "ppl_zfull", "ppl_wfull", "ppl_zend", "ppl2_wend"}) {
    const MetricResult a = calc_metric(m, ctx), b = calc_metric(m, ctx);
    const double v = a.results[m].get<double>();
    INFO(m << " = " << v);
    CHECK(std::isfinite(v));
    CHECK(v > 0);
    CHECK(a.results == b.results);  // the metric's seed: the same paths
    CHECK(a.num_gen == 5);
    CHECK(a.capped);
    CHECK(a.num_real == 0);
  }
  // Another seed, other paths.
  MetricContext other = ctx;
  other.seed = 1;
  CHECK(calc_metric("ppl_wend", other).results != calc_metric("ppl_wend", ctx).results);
  // The fresh noise went through the hook: the network's buffers are unchanged.
  const auto after = G.state_dict();
  for (const auto& [name, t] : before) CHECK(after.at(name).to_vector() == t.to_vector());

  // Refusals: no path sampler (PGGAN), no embedding.
  MetricContext pggan = ctx;
  pggan.paths = nullptr;
  CHECK_THROWS_WITH(calc_metric("ppl_zend", pggan), Catch::Contains("mapping network") && Catch::Contains("not PGGAN"));
  MetricContext no_vgg = ctx;
  no_vgg.lpips = nullptr;
  CHECK_THROWS_WITH(calc_metric("ppl_wend", no_vgg), Catch::Contains("needs the VGG16 detector"));
}

TEST_CASE("StyleGAN v1's PPL paths: interleaved latents, its noise inputs, the network untouched", "[metrics]") {
  stylegan::GeneratorConfig c;
  c.latent_size = c.dlatent_size = 4;
  c.mapping_layers = 2;
  c.mapping_fmaps = 4;
  c.num_channels = 1;
  c.resolution = 16;
  c.fmap_base = 16;
  c.fmap_max = 4;
  stylegan::Generator G(c, 9);
  const Dataset unlabelled("plain", 16, 1, std::vector<uint8_t>(3 * 256, 7), {}, {});
  PplSpec wfull;
  wfull.full = true;
  gf::Generator rng(4), same(4);
  const PathDraws d = stylegan_path_draws(G, unlabelled, 3, wfull, rng, Device::cpu());
  // z first ([2n, latent]: z0 the even rows), then t.
  const Tensor z = randn({6, 4}, same);
  CHECK(d.z0.to_vector() == slice(z, 0, 0, 6, 2).to_vector());
  CHECK(d.z1.to_vector() == slice(z, 0, 1, 6, 2).to_vector());
  CHECK(d.t.to_vector() == rand({3}, same).to_vector());
  CHECK(int(d.noise.size()) == G.num_layers());
  const auto before = G.state_dict();
  const Tensor img = stylegan_path_images(G, d, wfull);
  CHECK(img.shape() == Shape{6, 1, 8, 8});
  for (const auto& [name, t] : before) CHECK(G.state_dict().at(name).to_vector() == t.to_vector());
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(unlabelled, "", 4, lines);
  ctx.generator = [](int64_t n, gf::Generator&) { return zeros({n, 1, 16, 16}); };
  ctx.lpips = flat_embedding();
  ctx.paths = stylegan_paths(G, unlabelled, Device::cpu());
  const double v = calc_metric("ppl_wfull", ctx).results["ppl_wfull"].get<double>();
  CHECK(std::isfinite(v));
  CHECK(v > 0);
}

// ---- PR ----

TEST_CASE("round_to_half equals numpy's float16 cast", "[metrics]") {
  const auto g = golden();
  const auto x = g.at("half.x").to_vector(), want = g.at("half.rounded").to_vector();
  for (size_t i = 0; i < x.size(); ++i) {
    INFO(x[i] << " -> numpy " << want[i]);
    CHECK(round_to_half(x[i]) == want[i]);
  }
}

TEST_CASE("precision_recall equals the official formula", "[metrics]") {
  const auto g = golden();
  for (const char* name : {"pr_d24_k3", "pr_d8_k1_dups", "pr_d16_k3_large", "pr_d16_k3_float16_steps"}) {
    const Tensor real = g.at(std::string(name) + ".real"), gen = g.at(std::string(name) + ".gen");
    const std::vector<double> want = g.at(std::string(name) + ".pr").to_vector();
    const PrecisionRecall pr =
        precision_recall(floats(real), real.size(0), floats(gen), gen.size(0), real.size(1), int(want[2]));
    INFO(name << ": precision " << pr.precision << " (numpy " << want[0] << "), recall " << pr.recall << " (numpy "
              << want[1] << ")");
    CHECK(pr.precision == want[0]);
    CHECK(pr.recall == want[1]);
  }
  // A set against itself: every row lies in its own ball.
  const std::vector<float> f = floats(g.at("pr_d24_k3.real"));
  const PrecisionRecall same = precision_recall(f, 60, f, 60, 24, 3);
  CHECK(same.precision == 1.0);
  CHECK(same.recall == 1.0);
  const std::vector<float> three(f.begin(), f.begin() + 3 * 24);
  CHECK_THROWS_WITH(precision_recall(three, 3, f, 60, 24, 3), Catch::Contains("at least 4"));
  CHECK_THROWS_WITH(precision_recall(f, 60, f, 59, 24, 3), Catch::Contains("not 59 x 24"));
  std::vector<float> huge = f;
  huge[5] = 65520.0f;  // rounds to float16's inf; 65519 would round to 65504
  CHECK_THROWS_WITH(precision_recall(f, 60, huge, 60, 24, 3), Catch::Contains("generated features reach 65520, outside float16's range"));
  huge[5] = 65519.0f;
  CHECK_NOTHROW(precision_recall(f, 60, huge, 60, 24, 3));
}

namespace {

// Every float16 value given by its bits, as a double.
double half_from_bits(int h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  if (e == 31) return m ? std::nan("") : HUGE_VAL;
  return e == 0 ? std::ldexp(double(m), -24) : std::ldexp(double(1024 + m), e - 25);
}

// Features whose distances tie often: small integers (scaled by a power of
// two, so exact in float16), a quarter of the rows duplicates of others.
std::vector<float> tied_features(int64_t n, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> level(0, 6);
  std::vector<float> f(size_t(n * dim));
  for (float& v : f) v = float(level(rng)) * 0.125f;
  std::uniform_int_distribution<int64_t> row(0, n - 1);
  for (int64_t k = 0; k < n / 4; ++k) {
    const int64_t dst = row(rng), src = row(rng);
    std::copy(f.begin() + src * dim, f.begin() + (src + 1) * dim, f.begin() + dst * dim);
  }
  return f;
}

std::vector<float> normal_features(int64_t n, int64_t dim, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> f(size_t(n * dim));
  for (float& v : f) v = std::max(normal(rng), 0.0f);  // fc2 features are ReLU outputs
  return f;
}

}  // namespace

TEST_CASE("precision_recall: the squared threshold decides as the rounded distance, for every float16 radius",
          "[metrics]") {
  // For each finite non-negative float16 r (and +inf): T is the boundary
  // (T rounds to <= r, the next double not), and the squared comparison
  // agrees with the rounded one on values straddling T, the square of the
  // halfway point to the next float16 value, and the clamp at 0.
  int64_t wrong = 0, checked = 0;
  for (int h = 0; h <= 0x7C00; ++h) {
    const double r = half_from_bits(h), t = distance_threshold_sq(r);
    if (!(rounded_distance(t) <= r)) ++wrong;
    if (h < 0x7C00 && !(rounded_distance(std::nextafter(t, HUGE_VAL)) > r)) ++wrong;
    const double mid = h < 0x7C00 ? (r + half_from_bits(h + 1)) / 2 : 1e300;
    std::vector<double> probes = {-1.0, -0.0, 0.0, mid * mid};
    for (double v : {t, mid * mid}) {
      double lo = v, hi = v;
      for (int k = 0; k < 3; ++k) {
        probes.push_back(lo = std::nextafter(lo, -HUGE_VAL));
        probes.push_back(hi = std::nextafter(hi, HUGE_VAL));
      }
      probes.push_back(v);
    }
    for (double d2 : probes) {
      ++checked;
      if ((d2 <= t) != (rounded_distance(d2) <= r)) {
        if (++wrong < 5) WARN("r " << r << " (bits " << h << "), d2 " << d2 << ", threshold " << t);
      }
    }
  }
  CHECK(checked > 31744 * 10);
  CHECK(wrong == 0);
  CHECK(distance_threshold_sq(HUGE_VAL) == HUGE_VAL);
  CHECK(std::isnan(distance_threshold_sq(std::nan(""))));
  CHECK_THROWS_WITH(distance_threshold_sq(-1.0), Catch::Contains("negative"));
}

TEST_CASE("precision_recall: the fast path gives the one-thread reference's results", "[metrics]") {
  // Tied and duplicated rows, more than one 1024-row block, k from 1 to 5;
  // and normal features scaled to sit on float16 steps of a few units.
  struct Case {
    int64_t n_real, n_gen, dim;
    int k;
    bool tied;
    float scale;
  };
  for (const Case c : {Case{1100, 1030, 12, 3, true, 0}, Case{300, 1500, 8, 1, true, 0}, Case{1200, 700, 24, 5, true, 0},
                       Case{1100, 1050, 64, 3, false, 3.0f}, Case{700, 900, 16, 2, false, 40.0f}}) {
    const uint32_t seed = uint32_t(c.n_real * 7 + c.dim);
    const std::vector<float> real = c.tied ? tied_features(c.n_real, c.dim, seed)
                                           : normal_features(c.n_real, c.dim, seed, c.scale);
    std::vector<float> gen = c.tied ? tied_features(c.n_gen, c.dim, seed + 1)
                                    : normal_features(c.n_gen, c.dim, seed + 1, c.scale);
    // Some generated rows copy real ones: probes exactly on a ball's edge.
    for (int64_t i = 0; i < std::min(c.n_gen, c.n_real) / 5; ++i) {
      const int64_t src = i * 3 % c.n_real;
      std::copy(real.begin() + src * c.dim, real.begin() + (src + 1) * c.dim, gen.begin() + i * c.dim);
    }
    const PrecisionRecall want = precision_recall_reference(real, c.n_real, gen, c.n_gen, c.dim, c.k);
    const int threads = omp_get_max_threads();
    for (int t : {1, 2}) {
      omp_set_num_threads(t);
      const PrecisionRecall got = precision_recall(real, c.n_real, gen, c.n_gen, c.dim, c.k);
      INFO(c.n_real << " x " << c.n_gen << " rows of " << c.dim << ", k " << c.k << ", " << t << " threads: precision "
                    << got.precision << " (reference " << want.precision << "), recall " << got.recall
                    << " (reference " << want.recall << ")");
      CHECK(got.precision == want.precision);
      CHECK(got.recall == want.recall);
      CHECK(want.precision > 0.05);  // the cases are not trivially empty or full
      CHECK(want.precision < 0.999);
    }
    omp_set_num_threads(threads);
  }
}

TEST_CASE("precision_recall on cuda: the same fractions as on the cpu", "[metrics][cuda]") {
  // More than one 1024-row block each way; duplicated rows; the distances
  // from cuBLAS's float64 GEMM, whose summation order may round a distance
  // on a float16 boundary the other way: a probe or two may differ. The
  // tied features' products and sums are exact in float64 in any order, so
  // there the two devices agree exactly.
  const Device gpu = Device::cuda(0);
  for (const bool tied : {true, false}) {
    const int64_t n_real = 1100, n_gen = 1040, dim = 24;
    const std::vector<float> real = tied ? tied_features(n_real, dim, 5) : normal_features(n_real, dim, 5, 3.0f);
    const std::vector<float> gen = tied ? tied_features(n_gen, dim, 6) : normal_features(n_gen, dim, 6, 3.0f);
    const PrecisionRecall cpu = precision_recall(real, n_real, gen, n_gen, dim, 3);
    const PrecisionRecall cuda = precision_recall(real, n_real, gen, n_gen, dim, 3, gpu);
    INFO((tied ? "tied" : "normal") << ": precision cpu " << cpu.precision << ", cuda " << cuda.precision
                                    << "; recall cpu " << cpu.recall << ", cuda " << cuda.recall);
    CHECK(std::abs(cuda.precision - cpu.precision) <= 2.0 / n_gen);
    CHECK(std::abs(cuda.recall - cpu.recall) <= 2.0 / n_real);
    if (tied) {
      CHECK(cuda.precision == cpu.precision);
      CHECK(cuda.recall == cpu.recall);
    }
  }
  const std::vector<float> f = normal_features(40, 8, 7, 1.0f);
  CHECK_THROWS_WITH(precision_recall(f, 40, f, 40, 8, 16, gpu), Catch::Contains("at most 15"));
}

TEST_CASE("pr50k3_full and pr50k3 through calc_metric, real features from the cache", "[metrics]") {
  const auto ds = small_dataset(12, true);  // mirrored copies: pr50k3 keeps them, pr50k3_full not
  const fs::path cache = fs::temp_directory_path() / ("gf_metrics_pr_" + std::to_string(::getpid()));
  fs::remove_all(cache);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*ds, cache.string(), 0, lines);
  ctx.features = nullptr;  // PR runs VGG16, not Inception
  ctx.vgg_features = projection_detector();
  ctx.vgg16_key = "projection-vgg";
  ctx.feature_opt.batch_size = 8;
  ctx.generator = replay(*ds);
  // The generator replays the real images in order: with as many generated
  // as real, the two sets are the same, so precision and recall are 1.
  ctx.max_items = 24;
  MetricResult r = calc_metric("pr50k3", ctx);
  CHECK(r.results["pr50k3_precision"].get<double>() == 1.0);
  CHECK(r.results["pr50k3_recall"].get<double>() == 1.0);
  CHECK(r.num_real == 24);
  ctx.max_items = 12;
  r = calc_metric("pr50k3_full", ctx);
  CHECK(r.num_real == 12);
  CHECK(r.num_gen == 12);
  CHECK(r.results["pr50k3_full_recall"].get<double>() == 1.0);  // the 12 generated are the 12 unflipped reals
  CHECK(r.results["pr50k3_full_precision"].get<double>() == 1.0);
  ctx.generator = replay(*ds);  // from the first image again
  const MetricResult again = calc_metric("pr50k3_full", ctx);
  CHECK(again.results == r.results);
  CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("items from the cache") != std::string::npos; }));
  // The cache keeps the VGG16 rows apart from Inception's: KID's rows of the
  // same images are computed afresh.
  MetricContext kid = stand_in_context(*ds, cache.string(), 12, lines);
  kid.generator = replay(*ds);
  lines.clear();
  calc_metric("kid50k_full", kid);
  CHECK(std::none_of(lines.begin(), lines.end(), [](const std::string& l) { return l.find("items from the cache") != std::string::npos; }));
  MetricContext no_vgg = ctx;
  no_vgg.vgg_features = nullptr;
  CHECK_THROWS_WITH(calc_metric("pr50k3", no_vgg), Catch::Contains("needs the VGG16 detector"));
  ctx.max_items = 3;
  CHECK_THROWS_WITH(calc_metric("pr50k3", ctx), Catch::Contains("needs at least 4 generated and 4 real images"));
  fs::remove_all(cache);
}

TEST_CASE("PPL on cuda: the same draws and distances as on the cpu", "[metrics][cuda]") {
  const Device gpu = Device::cuda(0);
  stylegan2::Generator G(ppl_g(), 5), G_gpu(ppl_g(), 5);
  G_gpu.to(gpu);
  const Dataset plain("plain", 16, 1, std::vector<uint8_t>(2 * 256, 9), {}, {});
  PplSpec wend;
  gf::Generator a(7), b(7);
  const PathDraws d = stylegan2_path_draws(G, plain, 2, wend, a, Device::cpu());
  const PathDraws e = stylegan2_path_draws(G_gpu, plain, 2, wend, b, gpu);
  CHECK(e.z0.device() == gpu);
  CHECK(e.z1.to(Device::cpu()).to_vector() == d.z1.to_vector());
  CHECK(e.noise.back().second.to(Device::cpu()).to_vector() == d.noise.back().second.to_vector());
  // A path's distance amplifies the images' rounding by 1 / epsilon^2: the
  // devices agree to the rounding of float32 convolutions, not bit for bit.
  const auto cpu = ppl_distances(stylegan2_path_images(G, d, wend), flat_embedding(), 1e-4, Device::cpu()).to_vector();
  const Tensor on_gpu_t = ppl_distances(stylegan2_path_images(G_gpu, e, wend), flat_embedding(), 1e-4, gpu);
  CHECK(on_gpu_t.device() == gpu);  // read back by the metric's loop once per many batches, not per batch
  const auto on_gpu = on_gpu_t.to_vector();
  for (size_t i = 0; i < cpu.size(); ++i) CHECK(on_gpu[i] == Approx(cpu[i]).epsilon(1e-2));
}

namespace {

// tools/fixtures/make_ppl_fixtures.py's file: its cases of one family ("stylegan2"
// when a case names none), and the networks it holds (metadata "nets": each
// one's family and G_kwargs, its tensors under "net.<name>.").
struct PplReference {
  std::string dir = GF_TEST_DATA_DIR;
  io::SafetensorsFile io = io::read_safetensors(dir + "/ppl_reference.bin");
  nlohmann::json nets = nlohmann::json::parse(io.metadata.at("nets"));
  int divisor = std::stoi(io.metadata.at("vgg16_width_divisor"));
  // The thin hashed VGG16 the reference measured with, in float32 and float64.
  std::unique_ptr<perceptual::Vgg16> vgg32 = test::hashed_vgg16(divisor), vgg64 = test::hashed_vgg16(divisor, DType::f64);
  Detector lpips(DType t) const {
    const perceptual::Vgg16* v = t == DType::f64 ? vgg64.get() : vgg32.get();
    return [v](const Tensor& x) { return v->lpips_embedding(x); };
  }

  std::vector<nlohmann::json> cases(const std::string& family) const {
    std::vector<nlohmann::json> out;
    for (const auto& c : nlohmann::json::parse(io.metadata.at("cases")))
      if (c.value("family", std::string("stylegan2")) == family) out.push_back(c);
    return out;
  }
  // A network the file holds: built from its G_kwargs in dtype, its tensors loaded.
  template <class Net, class ConfigFromJson>
  std::unique_ptr<Net> held(const std::string& name, ConfigFromJson config_from_json, DType dtype) const {
    auto G = std::make_unique<Net>(config_from_json(nets.at(name).at("G_kwargs")), 0, dtype);
    G->load_state_dict(select_prefix(io.tensors, "net." + name + "."));
    return G;
  }
  // The draws of case `name` in dtype, the noise by the network's buffer names.
  PathDraws draws(const std::string& name, const Module& G, DType t) const {
    PathDraws d;
    auto get = [&](const std::string& k) { return io.tensors.at(name + "." + k).to(t); };
    if (io.tensors.count(name + ".c")) d.c = get("c");
    d.t = get("t");
    d.z0 = get("z0");
    d.z1 = get("z1");
    for (const auto& [buf, v] : G.named_buffers())
      if (io.tensors.count(name + ".noise." + buf)) d.noise.emplace_back(buf, get("noise." + buf));
    return d;
  }
  PplSpec spec(const nlohmann::json& c) const {
    PplSpec s;
    s.space_w = c.at("space") == "w";
    s.full = c.at("sampling") == "full";
    s.crop = c.at("crop");
    s.epsilon = c.at("epsilon");
    return s;
  }
};

// Float64 to 1e-4 relative; float32 to 1e-4 at epsilon 1e-2, to 5e-2 at 1e-4.
void check_distances(const Tensor& want_t, const Tensor& got64_t, const Tensor& got32_t, double epsilon) {
  const auto want = want_t.to_vector(), got64 = got64_t.to_vector(), got32 = got32_t.to_vector();
  REQUIRE(got64.size() == want.size());
  REQUIRE(got32.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO("sample " << i << ": reference " << want[i] << ", float64 " << got64[i] << ", float32 " << got32[i]);
    CHECK(want[i] > 0);
    CHECK(std::abs(got64[i] - want[i]) <= 1e-4 * want[i]);
    CHECK(std::abs(got32[i] - want[i]) <= (epsilon > 1e-3 ? 1e-4 : 5e-2) * want[i]);
  }
}

}  // namespace

TEST_CASE("PPL distances equal the official PPLSampler's (PyTorch reference)", "[metrics]") {
  // tools/fixtures/make_ppl_fixtures.py: the parity fixtures' G_ema, a thin 512x512 G
  // and a thin hashed VGG16, the sampler's draws, and the official steps in
  // float64. Here the same draws through stylegan2_path_images and
  // ppl_distances, in float64 (to 1e-4 relative at the official epsilon)
  // and in float32, whose image rounding the 1 / epsilon^2 amplifies (to
  // 1e-4 at epsilon 1e-2; at 1e-4 only to a few percent).
  const PplReference ref;
  const Detector lpips32 = ref.lpips(DType::f32), lpips64 = ref.lpips(DType::f64);
  const auto cases = ref.cases("stylegan2");
  REQUIRE(cases.size() == 7);
  for (const auto& c : cases) {
    const std::string name = c.at("name"), fixture = c.at("fixture");
    INFO(name);
    const auto G32 = ref.nets.count(fixture)
                         ? ref.held<stylegan2::Generator>(fixture, stylegan2::generator_config_from_json, DType::f32)
                         : stylegan2::load_generator(ref.dir + "/" + fixture + ".bin");
    stylegan2::Generator G64(G32->config(), 0, DType::f64);
    G64.load_state_dict(G32->state_dict());
    const PplSpec spec = ref.spec(c);
    const PathDraws d64 = ref.draws(name, G64, DType::f64);
    CHECK(d64.noise.empty() == !G64.config().use_noise);
    const Tensor img64 = stylegan2_path_images(G64, d64, spec);
    // Above 256, the block mean by img_resolution / 256 after the crop: a
    // 512x512 network's 256x256 crop comes to 128x128, as the official's.
    const int64_t res = G64.config().img_resolution, factor = std::max<int64_t>(res / 256, 1);
    CHECK(img64.size(2) == (spec.crop ? res / 2 : res) / factor);
    const Tensor got64 = ppl_distances(img64, lpips64, spec.epsilon, Device::cpu());
    const Tensor got32 =
        ppl_distances(stylegan2_path_images(*G32, ref.draws(name, *G32, DType::f32), spec), lpips32, spec.epsilon, Device::cpu());
    check_distances(ref.io.tensors.at(name + ".dist"), got64, got32, spec.epsilon);
  }
}

TEST_CASE("StyleGAN v1 PPL distances equal NVlabs/stylegan's PPL (PyTorch reference)", "[metrics]") {
  // tools/fixtures/make_ppl_fixtures.py's v1 cases: Gs of tools/reference/stylegan_reference.py
  // (128x128 with labels and noise inputs; 512x512, thin, whose 256x256 crop
  // v1 keeps at 256), v1's draws and steps in float64; here the same draws
  // through stylegan_path_images and ppl_distances, as the v2 test.
  const PplReference ref;
  const Detector lpips32 = ref.lpips(DType::f32), lpips64 = ref.lpips(DType::f64);
  const auto cases = ref.cases("stylegan");
  REQUIRE(cases.size() == 5);
  for (const auto& c : cases) {
    const std::string name = c.at("name"), fixture = c.at("fixture");
    INFO(name);
    const auto G32 = ref.held<stylegan::Generator>(fixture, stylegan::generator_config_from_json, DType::f32);
    const auto G64 = ref.held<stylegan::Generator>(fixture, stylegan::generator_config_from_json, DType::f64);
    const PplSpec spec = ref.spec(c);
    const PathDraws d64 = ref.draws(name, *G64, DType::f64);
    CHECK(int(d64.noise.size()) == (G64->config().use_noise ? G64->num_layers() : 0));
    const Tensor img64 = stylegan_path_images(*G64, d64, spec);
    // v1 brings what is taller than 256 after the crop to 256.
    const int64_t res = G64->config().resolution, side = spec.crop ? res / 2 : res;
    CHECK(img64.size(2) == std::min<int64_t>(side, 256));
    const Tensor got64 = ppl_distances(img64, lpips64, spec.epsilon, Device::cpu());
    const Tensor got32 =
        ppl_distances(stylegan_path_images(*G32, ref.draws(name, *G32, DType::f32), spec), lpips32, spec.epsilon, Device::cpu());
    check_distances(ref.io.tensors.at(name + ".dist"), got64, got32, spec.epsilon);
  }
}

// A dataset too small for a metric is refused when the programs set up
// (metric_context checks every requested metric), not at the first snapshot
// after hours of training.
TEST_CASE("check_metric refuses too few real images and missing detectors at set-up", "[metrics]") {
  const auto one = small_dataset(1, false);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*one, "", 0, lines);
  ctx.generator = replay(*one);
  CHECK_NOTHROW(check_metric("fid50k_full", ctx));  // one real image is enough for FID
  CHECK_THROWS_WITH(check_metric("kid50k_full", ctx), Catch::Contains("needs at least 2 generated and 2 real images, got 50000 and 1"));
  const auto two = small_dataset(2, false);
  ctx.dataset = two.get();
  CHECK_NOTHROW(check_metric("kid50k_full", ctx));
  // Through the programs' set-up: a request without its detector stops there.
  MetricRequest req;
  req.names = {"kid50k_full"};
  CHECK_THROWS_WITH(metric_context(req, MetricDetectors{}, *two, replay(*two), PathSampler{}, LatentSampler{},
                                   Device::cpu(), 0, {}),
                    Catch::Contains("kid50k_full: needs the Inception detector"));
}

// A PPL whose images would reach the VGG16 below its 16x16 minimum (the crop
// of a 16x16 generator is 8x8) is refused at set-up with one line naming the
// metric, not by the VGG16 in the middle of an evaluation.
TEST_CASE("check_metric refuses a PPL whose cropped images are below the VGG16's 16x16", "[metrics]") {
  const auto ds = small_dataset(2, false);
  std::vector<std::string> lines;
  MetricContext ctx = stand_in_context(*ds, "", 0, lines);
  ctx.generator = replay(*ds);
  ctx.lpips = flat_embedding();
  ctx.lpips_min_side = 16;  // as the VGG16 detector sets it
  int64_t side = 8;
  ctx.paths = [&side](int64_t n, const PplSpec&, gf::Generator&) { return zeros({2 * n, 3, side, side}); };
  CHECK_THROWS_WITH(check_metric("ppl_wend", ctx),
                    Catch::Contains("ppl_wend: the generator's images come to 8x8 after the official crop; the VGG16's LPIPS needs at least 16x16"));
  side = 16;
  CHECK_NOTHROW(check_metric("ppl_wend", ctx));
}

TEST_CASE("stop_between_batches: a pending stop signal stops the generator, the PPL paths and the feature loops",
          "[metrics]") {
  MetricContext ctx;
  int calls = 0;
  ctx.generator = [&](int64_t n, gf::Generator&) {
    ++calls;
    return zeros({n, 1, 8, 8});
  };
  ctx.paths = [&](int64_t n, const PplSpec&, gf::Generator&) {
    ++calls;
    return zeros({2 * n, 1, 8, 8});
  };
  std::vector<std::string> lines;
  ctx.feature_opt.progress = [&](const std::string& l) { lines.push_back(l); };
  stop_between_batches(ctx);
  gf::Generator g(0);
  ctx.generator(1, g);
  ctx.paths(1, PplSpec{}, g);
  ctx.feature_opt.progress("1000 of 2000");
  CHECK(calls == 2);
  CHECK(lines == std::vector<std::string>{"1000 of 2000"});  // the hook it had still runs
  set_stop_signal_for_test(SIGINT);
  CHECK_THROWS_WITH(ctx.generator(1, g), "Interrupted by SIGINT");
  CHECK_THROWS_WITH(ctx.paths(1, PplSpec{}, g), "Interrupted by SIGINT");
  CHECK_THROWS_WITH(ctx.feature_opt.progress("2000 of 2000"), "Interrupted by SIGINT");
  set_stop_signal_for_test(0);
  CHECK(calls == 2);  // nothing drawn after the signal
  CHECK(lines.size() == 1);
  // The real images' loop asks through the progress hook: a stop during it ends it.
  MetricContext bare;
  stop_between_batches(bare);  // no hook before: one now, which only checks
  REQUIRE(bool(bare.feature_opt.progress));
  CHECK_FALSE(bool(bare.generator));
}
