// Precision and recall against the official formula (tools/fixtures/make_metrics_golden.py): float16's rounding, the
// squared threshold for every float16 radius, the fast path, cuda, and pr50k3_full and pr50k3 through calc_metric.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>
#include <omp.h>
#include <unistd.h>

#include "data/dataset.h"
#include "engine/ops.h"
#include "metrics/metric_main.h"
#include "metrics/precision_recall.h"
#include "tests/metrics_fixture.h"

using namespace gf;
using namespace gf::metrics;
namespace fs = std::filesystem;
using gf::test::floats;
using gf::test::golden;
using gf::test::projection_detector;
using gf::test::replay;
using gf::test::small_dataset;
using gf::test::stand_in_context;

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
