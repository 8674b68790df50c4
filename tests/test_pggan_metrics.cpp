// PGGAN's own metrics (metrics/sliced_wasserstein.h, metrics/ms_ssim.h)
// against the official formulas run in numpy/scipy
// (tools/fixtures/make_pggan_metrics_golden.py: every value there equals the
// official sliced_wasserstein.py's and ms_ssim.py's bit for bit), and
// their properties.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "engine/numpy_random_state.h"
#include "metrics/metric_main.h"
#include "metrics/ms_ssim.h"
#include "metrics/pggan_metrics.h"
#include "metrics/sliced_wasserstein.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::metrics;

namespace {

const io::TensorMap& pggan_golden() {
  static const io::TensorMap g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/pggan_metrics_golden.bin");
  return g;
}

const Tensor& stored(const std::string& name) {
  const auto it = pggan_golden().find(name);
  REQUIRE(it != pggan_golden().end());
  return it->second;
}

std::vector<uint8_t> pixels(const Tensor& t) {
  std::vector<uint8_t> p;
  for (double v : t.to_vector()) p.push_back(static_cast<uint8_t>(v));
  return p;
}

// The largest |a - b| / max(|b|, floor) over two tensors of one size.
double worst_relative(const std::vector<double>& a, const std::vector<double>& b, double floor) {
  REQUIRE(a.size() == b.size());
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::fabs(a[i] - b[i]) / std::max(std::fabs(b[i]), floor));
  return worst;
}

std::string join(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : " ") + std::to_string(x);
  return s;
}

struct SwdCase {
  SwdOptions opt;
  uint32_t seed;
  int64_t minibatch;
};

SwdCase swd_case(const std::string& name) {
  const std::vector<double> p = stored(name + ".params").to_vector();
  SwdCase c;
  c.seed = static_cast<uint32_t>(p[0]);
  c.minibatch = static_cast<int64_t>(p[1]);
  c.opt.nhood_size = int(p[2]);
  c.opt.nhoods_per_image = int(p[3]);
  c.opt.dir_repeats = int(p[4]);
  c.opt.dirs_per_repeat = int(p[5]);
  return c;
}

// One set's descriptors, fed minibatch by minibatch as evaluate_metrics feeds them.
void add_all(SwdDescriptors& d, const std::vector<uint8_t>& px, int64_t n, int64_t side, int64_t minibatch,
             NumpyRandomState& rs) {
  const int64_t image = 3 * side * side;
  for (int64_t b = 0; b < n; b += minibatch) d.add(px.data() + b * image, std::min(minibatch, n - b), rs);
}

struct SwdRun {
  std::vector<double> swd;
  std::vector<Tensor> real_levels, fake_levels;
};

SwdRun run_swd(const std::string& name) {
  const SwdCase c = swd_case(name);
  const Tensor& reals = stored(name + ".reals");
  const Tensor& fakes = stored(name + ".fakes");
  const int64_t n = reals.size(0), side = reals.size(2);
  NumpyRandomState rs(c.seed);
  SwdDescriptors real(side, n, c.opt), fake(side, n, c.opt);
  add_all(real, pixels(reals), n, side, c.minibatch, rs);
  add_all(fake, pixels(fakes), n, side, c.minibatch, rs);
  real.finalize();
  fake.finalize();
  SwdRun r;
  r.swd = swd_x1e3(real, fake, c.opt, rs);
  for (int l = 0; l < real.levels(); ++l) {
    r.real_levels.push_back(real.level(l).clone());
    r.fake_levels.push_back(fake.level(l).clone());
  }
  return r;
}

}  // namespace

TEST_CASE("swd: the levels compared are the sides down to 16", "[pggan_metrics]") {
  CHECK(swd_resolutions(1024) == std::vector<int64_t>{1024, 512, 256, 128, 64, 32, 16});
  CHECK(swd_resolutions(16) == std::vector<int64_t>{16});
  CHECK(swd_resolutions(8).empty());
  CHECK_THROWS_WITH(SwdDescriptors(8, 4, SwdOptions()), Catch::Contains("at least 16"));
  CHECK_THROWS_WITH(SwdDescriptors(48, 4, SwdOptions()), Catch::Contains("power-of-two"));
}

TEST_CASE("swd: the Laplacian pyramid equals scipy's", "[pggan_metrics]") {
  for (const std::string name : {"swd_32", "swd_64", "swd_16"}) {
    INFO(name);
    const Tensor& reals = stored(name + ".reals");
    const int64_t mb = swd_case(name).minibatch;
    const std::vector<uint8_t> px = pixels(reals);
    const Tensor first = Tensor::from_vector(
        std::vector<double>(px.begin(), px.begin() + mb * 3 * reals.size(2) * reals.size(3)),
        {mb, 3, reals.size(2), reals.size(3)});
    const int levels = int(swd_resolutions(reals.size(2)).size());
    const std::vector<Tensor> pyr = laplacian_pyramid(first, levels);
    REQUIRE(int(pyr.size()) == levels);
    for (int l = 0; l < levels; ++l) {
      INFO("level " << l);
      const Tensor& want = stored(name + ".pyramid" + std::to_string(l));
      REQUIRE(pyr[size_t(l)].shape() == want.shape());
      // Each value a float64 sum of exact products in scipy's order, rounded once: the same bits.
      CHECK(pyr[size_t(l)].to_vector() == want.to_vector());
    }
  }
}

TEST_CASE("swd: descriptors and distances equal the official ones", "[pggan_metrics]") {
  for (const std::string name : {"swd_32", "swd_64", "swd_16"}) {
    INFO(name);
    const SwdRun r = run_swd(name);
    for (size_t l = 0; l < r.real_levels.size(); ++l) {
      for (const auto& [set, levels] :
           {std::make_pair("real", &r.real_levels), std::make_pair("fake", &r.fake_levels)}) {
        INFO(set << " level " << l);
        const Tensor& want = stored(name + "." + set + "_desc" + std::to_string(l));
        // The golden keeps the first rows of the larger sets. The rows have
        // std 1; numpy's float32 mean and std move them by about 1e-6.
        const std::vector<double> got = (*levels)[l].to_vector();
        const std::vector<double> head(got.begin(), got.begin() + want.numel());
        CHECK(worst_relative(head, want.to_vector(), 1.0) < 1e-5);
      }
    }
    const std::vector<double> want = stored(name + ".swd").to_vector();
    INFO("swd " << join(r.swd) << " official " << join(want));
    // Up to 1.2e-6 of the value apart: the descriptors' normalization
    // (numpy's float32 mean and std, float64 sums here) moves them by 1e-6;
    // the official from float64 projections is 1e-7 from its float32 value.
    CHECK(worst_relative(r.swd, want, 1e-12) < 1e-5);
    CHECK(worst_relative(r.swd, stored(name + ".swd64").to_vector(), 1e-12) < 1e-5);
  }
}

TEST_CASE("swd: the same bits at any thread count, and zero against itself", "[pggan_metrics]") {
  std::vector<double> one, two;
  {
    test::OmpThreads t(1);
    one = run_swd("swd_32").swd;
  }
  {
    test::OmpThreads t(2);
    two = run_swd("swd_32").swd;
  }
  CHECK(one == two);
  // Past 2^16 rows the sorts take their first MSD pass, and the projections
  // a larger GEMM: the same bits at 1 and 2 threads there too.
  std::vector<float> a(size_t(70000) * 147), b(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    a[i] = float((i * 2654435761u) % 1000003) / 1000003.0f - 0.5f;
    b[i] = float((i * 40503u + 7) % 999983) / 999983.0f - 0.45f;
  }
  double big_one = 0, big_two = 0;
  {
    test::OmpThreads t(1);
    NumpyRandomState rs(9);
    big_one = sliced_wasserstein(a.data(), b.data(), 70000, 147, 1, 8, rs);
  }
  {
    test::OmpThreads t(2);
    NumpyRandomState rs(9);
    big_two = sliced_wasserstein(a.data(), b.data(), 70000, 147, 1, 8, rs);
  }
  CHECK(big_one == big_two);
  CHECK(big_one > 0);
  // The same rows on both sides: every sorted projection equal, 0 exactly.
  const Tensor& reals = stored("swd_16.reals");
  NumpyRandomState rs(3);
  SwdDescriptors d(16, reals.size(0), SwdOptions());
  add_all(d, pixels(reals), reals.size(0), 16, reals.size(0), rs);
  d.finalize();
  CHECK(swd_x1e3(d, d, SwdOptions(), rs) == std::vector<double>{0.0, 0.0});
}

TEST_CASE("ms_ssim equals the official msssim", "[pggan_metrics]") {
  for (const std::string name : {"msssim_32", "msssim_16", "msssim_64"}) {
    INFO(name);
    const Tensor& images = stored(name + ".images");
    const int64_t n = images.size(0), side = images.size(2), image = 3 * side * side;
    const std::vector<uint8_t> px = pixels(images);
    std::vector<double> per_pair;
    double sum = 0;
    for (int64_t p = 0; p + 1 < n; p += 2) {
      per_pair.push_back(ms_ssim(px.data() + p * image, px.data() + (p + 1) * image, 3, side));
      sum += per_pair.back();
    }
    const std::vector<double> want = stored(name + ".per_pair").to_vector();
    INFO("ms_ssim " << join(per_pair) << " official " << join(want));
    // The official filters by FFT with the image's transform in complex64:
    // up to 4.3e-6 from the exact sums (a pair of constant images).
    CHECK(worst_relative(per_pair, want, 1e-3) < 1e-5);
    CHECK(std::fabs(sum / double(per_pair.size()) - stored(name + ".mean").to_vector()[0]) < 1e-5);
  }
}

TEST_CASE("ms_ssim: 1 for an image with itself, 0 for its negative, symmetric", "[pggan_metrics]") {
  const Tensor& images = stored("msssim_32.images");
  const std::vector<uint8_t> px = pixels(images);
  const int64_t image = 3 * 32 * 32;
  const uint8_t* a = px.data();
  const uint8_t* b = px.data() + image;
  CHECK(ms_ssim(a, a, 3, 32) == 1.0);
  CHECK(ms_ssim(a, b, 3, 32) == ms_ssim(b, a, 3, 32));
  std::vector<uint8_t> negative(a, a + image);
  for (uint8_t& v : negative) v = uint8_t(255 - v);
  CHECK(ms_ssim(a, negative.data(), 3, 32) == 0.0);  // cs < 0 at the first scales: clipped to 0
  CHECK_THROWS_WITH(ms_ssim(a, b, 3, 8), Catch::Contains("at least 16"));
}

namespace {

// n grey 16x16 images with varied pixels (a seeded pattern per image).
std::vector<uint8_t> grey_images(int64_t n, int salt) {
  std::vector<uint8_t> px(size_t(n * 256));
  for (size_t i = 0; i < px.size(); ++i)
    px[i] = uint8_t((i * (37 + salt) + (i / 256) * 11 + (i * i) % (13 + salt)) % 256);
  return px;
}

// A generator that hands out the given grey 16x16 images in order, as the
// [-1, 1] values that 8-bit conversion turns back into them.
ImageGenerator replay(std::vector<uint8_t> px) {
  auto next = std::make_shared<int64_t>(0);
  return [px = std::move(px), next](int64_t n, gf::Generator&) {
    Tensor out = Tensor::empty({n, 1, 16, 16});
    for (int64_t i = 0; i < n * 256; ++i)
      out.data<float>()[i] = float(px[size_t((*next * 256 + i) % int64_t(px.size()))]) / 127.5f - 1.0f;
    *next += n;
    return out;
  };
}

// A dataset of grey 16x16 images, with x-flipped copies where mirror (as --mirror makes it).
Dataset grey_dataset(const std::vector<uint8_t>& px, bool mirror) {
  DatasetOptions o;
  o.xflip = mirror;
  return Dataset("tiny", 16, 1, px, std::vector<int64_t>{}, o);
}

// Grey [n, 1, 16, 16] -> [n, 3, 16, 16], image i mirrored where flip[i].
std::vector<uint8_t> three_channels_of(const std::vector<uint8_t>& grey, int64_t first, int64_t n, int64_t cycle,
                                       const std::vector<bool>& flip) {
  std::vector<uint8_t> out;
  for (int64_t i = 0; i < n; ++i)
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x)
          out.push_back(grey[size_t(((first + i) % cycle) * 256 + y * 16 +
                                    (!flip.empty() && flip[size_t(i)] ? 15 - x : x))]);
  return out;
}

}  // namespace

TEST_CASE("swd_metric: the reals cycled and mirrored at random, the generated images 8-bit, one stream",
          "[pggan_metrics]") {
  const std::vector<uint8_t> real_px = grey_images(5, 0), fake_px = grey_images(12, 5);
  for (const bool mirror : {false, true}) {
    INFO("mirror " << mirror);
    const Dataset ds = grey_dataset(real_px, mirror);
    gf::Generator rng(1);
    FeatureOptions opt;
    const std::vector<double> got = swd_metric(replay(fake_px), ds, 12, 1000, rng, opt);
    // By hand: one minibatch of 12 (8192 / 16 past the cap of 256), reals
    // 0-4, 0-4, 0, 1, each flipped where a draw falls under 0.5 (mirror only).
    NumpyRandomState rs(1000);
    std::vector<bool> flip;
    for (int i = 0; mirror && i < 12; ++i) flip.push_back(rs.random_sample() < 0.5);
    SwdDescriptors real(16, 12, SwdOptions()), fake(16, 12, SwdOptions());
    real.add(three_channels_of(real_px, 0, 12, 5, flip).data(), 12, rs);
    fake.add(three_channels_of(fake_px, 0, 12, 12, {}).data(), 12, rs);
    real.finalize();
    fake.finalize();
    const std::vector<double> want = swd_x1e3(real, fake, SwdOptions(), rs);
    CHECK(got == want);
    REQUIRE(got.size() == 2);  // the one level (16) and the mean
    CHECK(got[0] > 0);
  }
}

TEST_CASE("swd_reals2_metric: a second pass over the reals against the first, as swd-16k's Reals2 row",
          "[pggan_metrics]") {
  const std::vector<uint8_t> real_px = grey_images(7, 2);
  for (const bool mirror : {false, true}) {
    INFO("mirror " << mirror);
    const Dataset ds = grey_dataset(real_px, mirror);
    const std::vector<double> got = swd_reals2_metric(ds, 5, 1000, FeatureOptions());
    // By hand: the reader's items 0-4, then 5, 6, 0, 1, 2 (cycled), each
    // pass's flips drawn before its patches, then the directions.
    NumpyRandomState rs(1000);
    SwdDescriptors first(16, 5, SwdOptions()), second(16, 5, SwdOptions());
    for (const int64_t start : {0, 5}) {
      std::vector<bool> flip;
      for (int i = 0; mirror && i < 5; ++i) flip.push_back(rs.random_sample() < 0.5);
      (start == 0 ? first : second).add(three_channels_of(real_px, start, 5, 7, flip).data(), 5, rs);
    }
    first.finalize();
    second.finalize();
    CHECK(got == swd_x1e3(first, second, SwdOptions(), rs));
    REQUIRE(got.size() == 2);
    CHECK(got[0] > 0);
  }
  // Through the registry: no generated image, two passes of reals.
  const Dataset ds = grey_dataset(real_px, false);
  MetricContext ctx;
  ctx.dataset = &ds;
  ctx.generator = [](int64_t, gf::Generator&) -> Tensor { throw Error("no generated image is asked for"); };
  ctx.max_items = 5;
  ctx.seed = 1000;
  const MetricResult r = calc_metric("swd16k_reals2", ctx);
  CHECK(r.num_gen == 0);
  CHECK(r.num_real == 10);
  CHECK(r.results.size() == 2);
  CHECK(r.results["swd16k_reals2_16"].get<double>() == swd_reals2_metric(ds, 5, 1000, FeatureOptions())[0]);
  CHECK(r.results.contains("swd16k_reals2_avg"));
}

TEST_CASE("msssim_metric: the mean over consecutive pairs of 8-bit images, generated and real", "[pggan_metrics]") {
  const std::vector<uint8_t> px = grey_images(6, 3), real_px = grey_images(5, 1);
  const auto mean_of_pairs = [](const std::vector<uint8_t>& rgb, int pairs) {
    double sum = 0;
    for (int p = 0; p < pairs; ++p) sum += ms_ssim(rgb.data() + 2 * p * 768, rgb.data() + (2 * p + 1) * 768, 3, 16);
    return sum / pairs;
  };
  for (const bool mirror : {false, true}) {
    INFO("mirror " << mirror);
    const Dataset ds = grey_dataset(real_px, mirror);
    gf::Generator rng(1);
    const MsssimResult got = msssim_metric(replay(px), ds, 6, 1000, rng, FeatureOptions());
    CHECK(got.generated == mean_of_pairs(three_channels_of(px, 0, 6, 6, {}), 3));
    // The reals: items 0-4, 0 again (cycled), flipped where numpy's draws say (mirror only).
    NumpyRandomState rs(1000);
    std::vector<bool> flip;
    for (int i = 0; mirror && i < 6; ++i) flip.push_back(rs.random_sample() < 0.5);
    CHECK(got.reals == mean_of_pairs(three_channels_of(real_px, 0, 6, 5, flip), 3));
    CHECK(got.reals != got.generated);
  }
  const Dataset ds = grey_dataset(real_px, false);
  gf::Generator rng(1);
  CHECK_THROWS_WITH(msssim_metric(replay(px), ds, 5, 0, rng, FeatureOptions()), Catch::Contains("even number"));
  // Through the registry: --metric-items 5 makes 4 images (two pairs), and
  // a side under 16 is refused by name.
  MetricContext ctx;
  ctx.dataset = &ds;
  ctx.generator = replay(px);
  ctx.max_items = 5;
  const MetricResult r = calc_metric("msssim20k", ctx);
  CHECK(r.num_gen == 4);
  CHECK(r.results.contains("msssim20k_reals"));
  const Dataset small("tiny", 8, 1, std::vector<uint8_t>(64 * 2, 7), std::vector<int64_t>{}, DatasetOptions());
  ctx.dataset = &small;
  CHECK_THROWS_WITH(check_metric("swd16k", ctx),
                    Catch::Contains("swd16k: needs images of a power-of-two side of at least 16"));
}
