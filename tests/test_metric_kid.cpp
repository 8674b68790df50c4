// KID against the official formula on numpy's own subsets (tools/fixtures/make_metrics_golden.py), its subsets'
// draws, the same bits at 1, 2 and 3 threads (with FID's), and kid50k_full and kid50k through calc_metric.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <vector>
#include <unistd.h>

#include "data/dataset.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "metrics/compute_features.h"
#include "metrics/feature_stats.h"
#include "metrics/frechet.h"
#include "metrics/kernel_inception_distance.h"
#include "metrics/metric_main.h"
#include "tests/metrics_fixture.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;
namespace fs = std::filesystem;
using gf::test::floats;
using gf::test::golden;
using gf::test::replay;
using gf::test::small_dataset;
using gf::test::stand_in_context;

namespace {

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
