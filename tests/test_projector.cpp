// The projector's optimization (train/stylegan2/projector.h) on a tiny
// generator and a thin VGG16: the official schedule's values, the noise
// regularization's form, that G keeps its own noise buffers, and that a
// recorded run replays to the same bits. Parity with the PyTorch reference
// of the official loop is tests/cli/projector.cmake (projector_parity).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "engine/ops.h"
#include "models/param_init.h"
#include "models/perceptual/vgg16.h"
#include "tests/fixtures.h"
#include "tests/testing.h"
#include "train/draw_log.h"
#include "train/stylegan2/projector.h"

using namespace gf;
namespace fs = std::filesystem;

namespace {

stylegan2::GeneratorConfig tiny_config() {
  stylegan2::GeneratorConfig c;
  c.z_dim = 8;
  c.w_dim = 8;
  c.img_resolution = 16;
  c.img_channels = 1;
  c.mapping_layers = 2;
  c.channel_base = 64;
  c.channel_max = 8;
  return c;
}

std::unique_ptr<perceptual::Vgg16> thin_vgg() {
  perceptual::Vgg16Config vc;
  vc.width_divisor = 16;
  ParamInit init(11);
  return std::make_unique<perceptual::Vgg16>(vc, init);
}

using gf::test::bit_equal;
using gf::test::max_rel_error;

}  // namespace

TEST_CASE("projector_schedule is the official learning rate and w noise", "[projector]") {
  // From the official formulas in Python, num_steps 1000, w_std 2.
  struct Want {
    int step;
    double lr, noise;
  };
  const Want want[] = {{0, 0, 0.10000000000000001},
                       {10, 0.02, 0.097351111111111124},
                       {25, 0.050000000000000003, 0.093444444444444441},
                       {50, 0.10000000000000001, 0.087111111111111125},
                       {500, 0.10000000000000001, 0.011111111111111113},
                       {750, 0.10000000000000001, 0},
                       {800, 0.090450849718747353, 0},
                       {999, 3.947789809183311e-06, 0}};
  stylegan2::ProjectorOptions opt;
  for (const Want& w : want) {
    INFO("step " << w.step);
    const stylegan2::ProjectorStep s = stylegan2::projector_schedule(opt, w.step, 2.0);
    CHECK(s.lr == Approx(w.lr).margin(1e-15));
    CHECK(s.w_noise_scale == Approx(w.noise).margin(1e-15));
  }
}

TEST_CASE("noise_regularization sums rolled autocorrelations over the scales", "[projector]") {
  // A buffer of alternating rows (+1, -1): rolled by one row the product is
  // -1 everywhere, rolled by one column +1: each scale adds 1 + 1 = 2, and
  // the 2x2 pool of alternating rows is 0 from then on. 16 -> 8: two scales.
  std::vector<double> v(256);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) v[size_t(y * 16 + x)] = y % 2 ? -1 : 1;
  CHECK(stylegan2::noise_regularization(Tensor::from_vector(v, {16, 16})).item() == Approx(2.0));
  // A constant buffer: every product is 1 at every scale (16 and 8).
  CHECK(stylegan2::noise_regularization(full({16, 16}, 1.0)).item() == Approx(4.0));
  CHECK(stylegan2::noise_regularization(full({4, 4}, 0.5)).item() == Approx(2 * 0.25 * 0.25));
}

TEST_CASE("project leaves G's noise buffers as they were and replays its draws bit for bit", "[projector]") {
  stylegan2::Generator G(tiny_config(), 3);
  const auto vgg = thin_vgg();
  std::vector<Tensor> before;
  for (const auto& [name, t] : G.named_buffers())
    if (name.find("noise_const") != std::string::npos) before.push_back(t.clone());
  REQUIRE(before.size() == 5);  // b4.conv1, b8.conv0/1, b16.conv0/1
  Generator tg(4);
  const Tensor target = affine(rand({1, 16, 16}, tg), 255, 0);
  stylegan2::ProjectorOptions opt;
  opt.num_steps = 3;
  opt.w_avg_samples = 64;
  const fs::path dir = fs::temp_directory_path() / ("gf_test_projector_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto rec = DrawLog::recorder(dir.string());
  int calls = 0;
  const stylegan2::Projection a = stylegan2::project(G, *vgg, target, opt, rec.get(), [&](int, double d, double l) {
    ++calls;
    CHECK(std::isfinite(d));
    CHECK(l >= d);
  });
  CHECK(calls == 3);
  REQUIRE(a.w_steps.shape() == Shape({3, 8}));
  REQUIRE(a.noise.size() == 5);
  CHECK(a.noise[0].first == "b4.conv1.noise_const");
  // The optimized buffers end renormalized: zero mean, unit RMS.
  for (const auto& [name, t] : a.noise) {
    CHECK(std::abs(mean(t).item()) < 1e-5);
    CHECK(mean(square(t)).item() == Approx(1.0).epsilon(1e-4));
  }
  size_t k = 0;
  for (const auto& [name, t] : G.named_buffers())
    if (name.find("noise_const") != std::string::npos) CHECK(bit_equal(t, before[k++]));
  // Step 0 has learning rate 0: w is still w_avg (of the same samples, seed
  // 123); steps 1 and 2 move it.
  CHECK(bit_equal(slice(a.w_steps, 0, 0, 1), stylegan2::w_stats(G, 64).w_avg.reshape({1, 8})));
  CHECK_FALSE(bit_equal(slice(a.w_steps, 0, 1, 2), slice(a.w_steps, 0, 2, 3)));

  // The recorded draws given back: the same projection, bit for bit; another seed differs.
  auto replay = DrawLog::replayer({dir.string()});
  stylegan2::ProjectorOptions other = opt;
  other.seed = 999;  // ignored: every draw comes from the log
  const stylegan2::Projection b = stylegan2::project(G, *vgg, target, other, replay.get());
  CHECK(bit_equal(a.w_steps, b.w_steps));
  CHECK(a.dist == b.dist);
  const stylegan2::Projection c = stylegan2::project(G, *vgg, target, other);
  CHECK_FALSE(bit_equal(a.w_steps, c.w_steps));
  fs::remove_all(dir);

  const Tensor ws = stylegan2::projected_ws(a, 2, G.num_ws());
  CHECK(ws.shape() == Shape({1, G.num_ws(), 8}));
  REQUIRE_THROWS_WITH(stylegan2::project(G, *vgg, zeros({3, 16, 16}), opt),
                      Catch::Contains("the target must be [1, 16, 16]"));
}

TEST_CASE("project on cuda follows the cpu's projection under the same draws", "[projector][cuda]") {
  stylegan2::Generator G(tiny_config(), 3);
  const auto vgg = thin_vgg();
  Generator tg(4);
  const Tensor target = affine(rand({1, 16, 16}, tg), 255, 0);
  stylegan2::ProjectorOptions opt;
  opt.num_steps = 4;
  opt.w_avg_samples = 64;
  const test::TempDir dir("projector_cuda");
  auto rec = DrawLog::recorder(dir.path.string());
  const stylegan2::Projection cpu = stylegan2::project(G, *vgg, target, opt, rec.get());
  G.to(Device::cuda(0));
  vgg->to(Device::cuda(0));
  auto replay = DrawLog::replayer({dir.path.string()});
  std::vector<double> dists;
  const stylegan2::Projection gpu =
      stylegan2::project(G, *vgg, target, opt, replay.get(), [&](int, double d, double) { dists.push_back(d); });
  // Results come back on the cpu; float32 rounding differs between the
  // devices' kernels, and four Adam steps carry it along, so only closeness.
  REQUIRE(gpu.w_steps.device() == Device::cpu());
  CHECK(max_rel_error(gpu.w_steps, cpu.w_steps) < 1e-3);
  REQUIRE(gpu.dist.size() == 4);
  for (size_t k = 0; k < 4; ++k) CHECK(std::abs(gpu.dist[k] - cpu.dist[k]) <= 1e-3 * std::abs(cpu.dist[k]));
  CHECK(dists == gpu.dist);
  REQUIRE(gpu.noise.size() == cpu.noise.size());
  for (size_t k = 0; k < cpu.noise.size(); ++k) CHECK(max_rel_error(gpu.noise[k].second, cpu.noise[k].second) < 1e-3);
}
