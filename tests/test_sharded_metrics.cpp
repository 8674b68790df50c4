// The metrics' feature passes shared among the ranks of a process group
// (metrics/sharding.h, FeatureOptions::comm), the ranks as threads over TCP
// (tests/tcp_ranks.h; Catch's assertions run on the main thread, after the
// ranks' threads end): every metric's result on rank 0 is the one-process
// result bit for bit, whatever the number of ranks, and every rank forms
// its share of the images. The launches as processes (mpirun, the
// torchrun-style environment) are tests/cli/distributed.cmake's.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <csignal>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>

#include "metrics/compute_features.h"
#include "metrics/generators.h"
#include "metrics/metric_main.h"
#include "metrics/precision_recall.h"
#include "metrics/sharding.h"
#include "metrics/training_metrics.h"
#include "tests/tcp_ranks.h"
#include "train/stop_signal.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kMetrics = {"fid50k_full", "kid50k_full", "pr50k3_full", "is50k",
                                           "ppl_wend",    "ppl_zfull",   "ppl2_wend"};

// 20 labelled grey 16x16 images with varied pixels (3 classes).
std::unique_ptr<Dataset> labelled_dataset() {
  std::vector<uint8_t> px(20 * 256);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37 + (i / 256) * 11 + (i * i) % 13) % 256);
  std::vector<int64_t> labels;
  for (int i = 0; i < 20; ++i) labels.push_back(i % 3);
  return std::make_unique<Dataset>("labelled", 16, 1, px, labels, DatasetOptions{});
}

stylegan2::GeneratorConfig tiny_g() {
  stylegan2::GeneratorConfig c;
  c.z_dim = c.w_dim = 8;
  c.c_dim = 3;
  c.img_resolution = 16;
  c.img_channels = 1;
  c.channel_base = 64;
  c.channel_max = 8;
  c.mapping_layers = 2;
  return c;
}

// Stand-in detector: 6 fixed random projections of the 0..255 pixels plus
// one nonlinear feature; `probabilities`: rows of positive values summing to 1.
Tensor projections(const Tensor& images) {
  const int64_t n = images.size(0), p = images.size(2) * images.size(3);
  const Tensor x = slice(images, 1, 0, 1).reshape({n, p}).to(DType::f64);
  const Tensor f = matmul(x, test::random_tensor({p, 6}, 77) * (1.0 / 255.0));
  return concat({f, square(slice(f, 1, 0, 1)) * 0.1}, 1).to(DType::f32);
}
Tensor probabilities(const Tensor& images) {
  const Tensor q = square(projections(images)) + 1.0;
  return q / sum(q, {1}, true);
}

// One rank's (or the lone process's) context: its own network (the same
// weights everywhere, as G_ema on every rank), the stand-in detectors, at
// most 13 images a side (13 = 3 whole detector batches of 4 and one of 1;
// 7 generator and PPL batches of 2). `calls` counts this context's
// generator and path sampler calls.
struct RankMetrics {
  std::unique_ptr<Dataset> ds = labelled_dataset();
  stylegan2::Generator G{tiny_g(), 5};
  MetricContext ctx;
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  RankMetrics(Communicator* comm, const std::string& cache_dir) {
    ctx.dataset = ds.get();
    const ImageGenerator images = stylegan2_images(G, *ds, Device::cpu());
    const PathSampler paths = stylegan2_paths(G, *ds, Device::cpu());
    ctx.generator = [images, c = calls](int64_t n, gf::Generator& rng) {
      ++*c;
      return images(n, rng);
    };
    ctx.paths = [paths, c = calls](int64_t n, const PplSpec& spec, gf::Generator& rng) {
      ++*c;
      return paths(n, spec, rng);
    };
    ctx.features = ctx.vgg_features = projections;
    ctx.probabilities = probabilities;
    ctx.lpips = [](const Tensor& x) { return x.reshape({x.size(0), x.numel() / x.size(0)}); };
    ctx.detector_key = ctx.vgg16_key = "projections";
    ctx.cache_dir = cache_dir;
    ctx.max_items = 13;
    ctx.seed = 3;
    ctx.feature_opt.batch_size = 4;
    ctx.feature_opt.batch_gen = 2;
    ctx.feature_opt.comm = comm;
  }
};

}  // namespace

TEST_CASE("every metric over 2 and 3 TCP ranks equals the one-process result bit for bit; each rank forms a share") {
  const test::TempDir tmp("sharded_metrics");
  std::map<std::string, nlohmann::json> want;
  std::map<std::string, int> want_calls;
  {
    RankMetrics alone(nullptr, "");
    for (const std::string& m : kMetrics) {
      *alone.calls = 0;
      const MetricResult r = calc_metric(m, alone.ctx);
      want[m] = r.results;
      want_calls[m] = *alone.calls;
      CHECK(r.num_gpus == 1);
    }
  }
  const int world = GENERATE(2, 3);
  INFO(world << " ranks");
  // Twice with a cache: the first fills it (rank 0 writes it after the
  // shared pass), the second reads it (rank 0 alone; the others are told).
  const std::string cache = tmp / ("cache" + std::to_string(world));
  std::vector<std::map<std::string, nlohmann::json>> got(static_cast<size_t>(world));
  std::vector<std::map<std::string, int>> calls(static_cast<size_t>(world));
  std::vector<std::vector<std::string>> lines(static_cast<size_t>(world));
  std::vector<int> num_gpus(static_cast<size_t>(world));
  const auto errors = test::run_ranks(world, 60, [&](int r, Communicator& comm) {
    RankMetrics mine(&comm, cache);
    std::vector<std::string>& log = lines[size_t(r)];
    mine.ctx.log = [&log](const std::string& l) { log.push_back(l); };
    for (int pass = 0; pass < 2; ++pass)
      for (const std::string& m : kMetrics) {
        *mine.calls = 0;
        const MetricResult res = calc_metric(m, mine.ctx);
        num_gpus[size_t(r)] = res.num_gpus;
        got[size_t(r)][m + (pass ? " again" : "")] = res.results;
        calls[size_t(r)][m] = *mine.calls;
      }
  });
  for (int r = 0; r < world; ++r) {
    CHECK(errors[size_t(r)].empty());
    CHECK(num_gpus[size_t(r)] == world);  // the jsonl line's num_gpus
  }
  int total_calls = 0;
  for (const std::string& m : kMetrics) {
    INFO(m);
    CHECK(got[0][m] == want[m]);
    CHECK(got[0][m + " again"] == want[m]);
    int sum = 0;
    for (int r = 0; r < world; ++r) {
      if (r > 0) CHECK(got[size_t(r)][m].is_null());  // rank 0 alone forms the result
      CHECK(calls[size_t(r)][m] > 0);                // every rank generated a share
      CHECK(calls[size_t(r)][m] < want_calls[m]);
      sum += calls[size_t(r)][m];
    }
    CHECK(sum == want_calls[m]);  // no batch twice
    total_calls += sum;
  }
  CHECK(total_calls > 0);
  // The real images' features came from the cache on the second pass, read by rank 0 alone.
  const auto from_cache = [](const std::vector<std::string>& l) {
    return std::count_if(l.begin(), l.end(), [](const std::string& s) { return s.find("from the cache") != std::string::npos; });
  };
  CHECK(from_cache(lines[0]) == 3);  // FID, KID, PR
  for (int r = 1; r < world; ++r) CHECK(lines[size_t(r)].empty());
}

TEST_CASE("only rank 0's metrics cache counts: ranks with other cache folders (another HOME) agree") {
  const test::TempDir tmp("sharded_metrics_caches");
  RankMetrics alone(nullptr, "");
  const nlohmann::json want = calc_metric("fid50k_full", alone.ctx).results;
  // Rank 0 with a cache and rank 1 without one, then the other way round;
  // twice each, so that rank 0's cache is filled and then read.
  for (const bool rank0_caches : {true, false}) {
    INFO((rank0_caches ? "rank 0" : "rank 1") << " has the cache");
    std::vector<nlohmann::json> got(2);
    const auto errors = test::run_ranks(2, 60, [&](int r, Communicator& comm) {
      RankMetrics mine(&comm, (r == 0) == rank0_caches ? tmp / "cache" : std::string());
      for (int pass = 0; pass < 2; ++pass) {
        const nlohmann::json res = calc_metric("fid50k_full", mine.ctx).results;
        if (r == 0) got[size_t(pass)] = res;
      }
    });
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    CHECK(got[0] == want);
    CHECK(got[1] == want);
  }
}

TEST_CASE("evaluate_metrics: rank 0 reports the lines, the others take their share silently") {
  const test::TempDir tmp("sharded_metrics_run");
  const fs::path run = tmp.path;
  MetricRequest req;
  req.names = {"fid50k_full", "is50k"};
  std::vector<std::vector<std::string>> lines(2);
  std::vector<nlohmann::json> got(2);
  const auto errors = test::run_ranks(2, 60, [&](int r, Communicator& comm) {
    RankMetrics mine(&comm, "");
    std::vector<std::string>& log = lines[size_t(r)];
    got[size_t(r)] = evaluate_metrics(req, mine.ctx, r == 0 ? run.string() : "", "snap.bin",
                                      [&log](const std::string& l) { log.push_back(l); });
  });
  CHECK(errors[0].empty());
  CHECK(errors[1].empty());
  RankMetrics alone(nullptr, "");
  CHECK(got[0] == evaluate_metrics(req, alone.ctx, "", "", nullptr));
  CHECK(got[1].empty());
  CHECK(lines[1].empty());
  REQUIRE(lines[0].size() == 3);  // "Evaluating metrics..." and the two jsonl lines
  CHECK_THAT(lines[0][1], Catch::Contains("\"num_gpus\": 2"));
  CHECK(fs::exists(run / "metric-fid50k_full.jsonl"));
}

TEST_CASE("a rank that fails during a shared pass stops the others with a line naming it") {
  const auto errors = test::run_ranks(2, 60, [&](int r, Communicator& comm) {
    RankMetrics mine(&comm, "");
    if (r == 1) mine.ctx.generator = [](int64_t, gf::Generator&) -> Tensor { throw Error("the generator failed"); };
    calc_metric("fid50k_full", mine.ctx);
  });
  CHECK_THAT(errors[1], Catch::Contains("the generator failed"));
  CHECK_THAT(errors[0], Catch::Contains("rank 0: rank 1"));
}

TEST_CASE("for_each_batch: the rows in batch order on rank 0, of any count; widths that differ are refused") {
  const auto rows = [](int64_t b) { return full({b % 3, 2}, double(b)); };  // batches of 0, 1, 2 rows
  std::vector<double> want;
  for_each_batch(nullptr, 7, rows, [&](int64_t, const Tensor& x) {
    for (double v : x.to_vector()) want.push_back(v);
  });
  CHECK(want.size() == 2 * (0 + 1 + 2 + 0 + 1 + 2 + 0));
  std::vector<double> got;
  std::vector<int64_t> order;
  std::atomic<int> taken_elsewhere{0};
  const auto errors = test::run_ranks(3, 60, [&](int r, Communicator& comm) {
    for_each_batch(&comm, 7, rows, [&](int64_t b, const Tensor& x) {
      if (r != 0) ++taken_elsewhere;
      order.push_back(b);
      for (double v : x.to_vector()) got.push_back(v);
    });
  });
  for (const std::string& e : errors) CHECK(e.empty());
  CHECK(taken_elsewhere == 0);
  CHECK(order == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6});
  CHECK(got == want);
  const auto bad = test::run_ranks(2, 60, [&](int, Communicator& comm) {
    for_each_batch(&comm, 2, [](int64_t b) { return zeros({1, 2 + b}); }, [](int64_t, const Tensor&) {});
  });
  for (const std::string& e : bad) CHECK_THAT(e, Catch::Contains("batch 1 (rank 1) has rows of 3 values"));
}

TEST_CASE("batch_rng: batch j's own stretch of the stream; a batch that draws past it is refused") {
  gf::Generator rng(7);
  rng.offset = 5;
  const gf::Generator g = batch_rng(rng, 3);
  CHECK(g.seed == 7);
  CHECK(g.offset == 5 + 3 * (uint64_t(1) << 32));
  gf::Generator used = g;
  used.offset += uint64_t(1) << 32;  // its whole stretch: fine
  CHECK_NOTHROW(check_batch_draws(rng, 3, used));
  used.offset += 1;
  CHECK_THROWS_WITH(check_batch_draws(rng, 3, used), Catch::Contains("batch 3 drew 4294967297 Philox counters"));
  // Through generator_features: a generator that draws too much is named.
  const ImageGenerator greedy = [](int64_t n, gf::Generator& r) {
    r.offset += (uint64_t(1) << 32) + 1;
    return zeros({n, 1, 4, 4});
  };
  FeatureOptions opt;
  opt.batch_size = 4;
  CHECK_THROWS_WITH(generator_features(greedy, 4, projections, rng, false, true, opt),
                    Catch::Contains("more than a batch's 2^32"));
}

TEST_CASE("a stop signal pending during a shared pass stops every rank at the same round, as one rank's") {
  struct Clear {  // the flag is the process's: leave none for the next test
    ~Clear() { set_stop_signal_for_test(0); }
  } clear;
  std::vector<int> computed(2, 0);
  set_stop_signal_for_test(SIGTERM);
  const auto errors = test::run_ranks(2, 60, [&](int r, Communicator& comm) {
    for_each_batch(&comm, 6, [&](int64_t) { ++computed[size_t(r)]; return zeros({1, 2}); },
                   [](int64_t, const Tensor&) {});
  });
  // Each rank formed its first batch; at the round's gather all stop, naming
  // the first rank with a signal (here every rank has it: the flag is the
  // process's; one rank's alone is named the same way).
  CHECK(computed == std::vector<int>{1, 1});
  for (const std::string& e : errors) CHECK(e == "Interrupted by SIGTERM on rank 0");
  // A shared context's generator is not wrapped by stop_between_batches: a
  // rank must not stop alone between its batches.
  const auto solo = test::run_ranks(2, 60, [&](int, Communicator& comm) {
    RankMetrics mine(&comm, "");
    stop_between_batches(mine.ctx);
    gf::Generator g(0);
    mine.ctx.generator(2, g);  // no throw
  });
  for (const std::string& e : solo) CHECK(e.empty());
  RankMetrics alone(nullptr, "");
  stop_between_batches(alone.ctx);
  gf::Generator g(0);
  CHECK_THROWS_AS(alone.ctx.generator(2, g), Interrupted);
}

TEST_CASE("precision_recall over 1, 2 and 3 TCP ranks equals the one-process result bit for bit") {
  // 3 row blocks of real rows (1024, 1024, 452) and 3 of generated ones
  // (1024, 1024, 52): with 2 ranks rank 0 takes blocks 0 and 2, with 3 one
  // each. Two overlapping clouds, so that neither fraction is 0 or 1.
  const int64_t n_real = 2500, n_gen = 2100, dim = 12;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> real(size_t(n_real * dim)), gen(size_t(n_gen * dim));
  for (float& v : real) v = normal(rng);
  for (float& v : gen) v = 0.8f * normal(rng) + 0.5f;
  const PrecisionRecall want = precision_recall(real, n_real, gen, n_gen, dim, 3);
  INFO("precision " << want.precision << ", recall " << want.recall);
  CHECK(want.precision > 0.05);
  CHECK(want.precision < 0.95);
  CHECK(want.recall > 0.05);
  CHECK(want.recall < 0.95);
  const auto same_bits = [](double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; };
  for (const int world : {1, 2, 3}) {
    INFO(world << " ranks");
    std::vector<PrecisionRecall> got(static_cast<size_t>(world));
    const auto errors = test::run_ranks(world, 60, [&](int r, Communicator& comm) {
      got[size_t(r)] = precision_recall(real, n_real, gen, n_gen, dim, 3, Device::cpu(), &comm);
    });
    for (int r = 0; r < world; ++r) {
      CHECK(errors[size_t(r)].empty());
      CHECK(same_bits(got[size_t(r)].precision, want.precision));  // every rank gets the result
      CHECK(same_bits(got[size_t(r)].recall, want.recall));
    }
  }
  // Bad features are refused alike on every rank, before any collective: no rank waits.
  std::vector<float> bad = gen;
  bad[5] = std::nanf("");
  const auto errors = test::run_ranks(2, 60, [&](int, Communicator& comm) {
    precision_recall(real, n_real, bad, n_gen, dim, 3, Device::cpu(), &comm);
  });
  for (const std::string& e : errors) CHECK_THAT(e, Catch::Contains("generated features are not all finite"));
}
