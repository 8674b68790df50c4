// PGGAN: the networks (official names, sizes, the lod semantics, gradients of
// first and second order through D's input gradient as WGAN-GP takes them),
// the progressive schedule and data path, and training: a tiny run grows
// through every level with finite losses and a non-zero gradient penalty, the
// optimizers reset where the official loop resets them, and a run resumed
// from a checkpoint in the middle of a fade continues bit for bit.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <tuple>

#include "engine/ops/scale2d.h"
#include "models/pggan/network_file.h"
#include "models/pggan/networks.h"
#include "tests/testing.h"
#include "train/pggan/checkpoint.h"
#include "train/pggan/trainer.h"
#include "train/progressive.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::random_tensor;

namespace {

pggan::GeneratorConfig tiny_g(int res = 16, bool fused = true, int labels = 0) {
  pggan::GeneratorConfig c;
  c.num_channels = 1;
  c.resolution = res;
  c.label_size = labels;
  c.fmap_base = 32;
  c.fmap_max = 4;
  c.latent_size = 4;
  c.fused_scale = fused;
  return c;
}

pggan::DiscriminatorConfig tiny_d(int res = 16, bool fused = true, int labels = 0) {
  pggan::DiscriminatorConfig c;
  c.num_channels = 1;
  c.resolution = res;
  c.label_size = labels;
  c.fmap_base = 32;
  c.fmap_max = 4;
  c.mbstd_group_size = 2;
  c.fused_scale = fused;
  return c;
}

// n images of res x res x 1: a bright square on black, or its negative; labelled by which.
std::unique_ptr<Dataset> toy_dataset(int n, int res, bool labels) {
  std::vector<uint8_t> px(static_cast<size_t>(n * res * res));
  std::vector<int64_t> lab;
  for (int i = 0; i < n; ++i) {
    const int k = i % 2;
    for (int y = 0; y < res; ++y)
      for (int x = 0; x < res; ++x) {
        const bool in = y >= res / 4 && y < 3 * res / 4 && x >= res / 4 + i % 3 && x < 3 * res / 4;
        px[static_cast<size_t>((i * res + y) * res + x)] = static_cast<uint8_t>((in != (k == 1)) ? 250 - 7 * i : 3 * i);
      }
    lab.push_back(k);
  }
  DatasetOptions opt;
  opt.use_labels = labels;
  return std::make_unique<Dataset>("toy", res, 1, std::move(px), labels ? lab : std::vector<int64_t>{}, opt);
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("gf_test_" + std::to_string(::getpid()) + "_" + name)).string();
}

io::TensorMap everything(PGGANTrainer& t) {
  const std::string p = temp_path("pggan_everything.bin");
  save_pggan_checkpoint(p, t);
  io::TensorMap m = io::load_safetensors(p);
  std::filesystem::remove(p);
  return m;
}

using gf::test::bit_equal;

void require_same_state(const io::TensorMap& a, const io::TensorMap& b) {
  REQUIRE(a.size() == b.size());
  for (const auto& [name, t] : a) {
    INFO(name);
    REQUIRE(b.count(name));
    CHECK(bit_equal(t, b.at(name)));
  }
}

PGGANSetup tiny_setup(const Dataset& ds, uint64_t seed = 5) {
  return make_pggan_setup(make_pggan_spec("tiny"), ds, seed, Device::cpu());
}

}  // namespace

// ---- networks ----

TEST_CASE("pggan: G and D at the official 1024x1024 config have the paper's 23.1M parameters", "[pggan]") {
  pggan::GeneratorConfig g;
  g.num_channels = 3;
  g.resolution = 1024;
  pggan::DiscriminatorConfig d;
  d.num_channels = 3;
  d.resolution = 1024;
  // The counts of the official variable lists (tools/reference/pggan_reference.py; the
  // separate-resampling variants have the same counts).
  CHECK(pggan::Generator(g, 0).num_params() == 23079115);
  CHECK(pggan::Discriminator(d, 0).num_params() == 23087249);
}

TEST_CASE("pggan: the widest resolution is the last whose every stage has a feature map", "[pggan]") {
  for (const auto& [base, decay, max] : {std::tuple{64, 1.0, 8}, {512, 1.0, 64}, {8192, 1.0, 512}, {8192, 0.5, 512}, {1, 1.0, 1}}) {
    const int r = pggan::widest_resolution(base, decay, max);
    const int last = pggan::resolution_log2(r * 2, "test") - 1;  // the last stage of 2r
    CHECK(pggan::nf(last - 1, base, decay, max) >= 1);            // r's last stage has maps
    if (r < (1 << 20)) CHECK(pggan::nf(last, base, decay, max) == 0);  // 2r's has none
  }
  CHECK(pggan::widest_resolution(64, 1.0, 8) == 128);  // --cfg tiny: 2 * fmap_base
}

TEST_CASE("pggan: G's 4x4 dense has the Theano-compatible scale 1/64 at latent 512", "[pggan]") {
  // With a zero bias, a one-hot latent of norm sqrt(512) (what pixel norm
  // makes of it) gives column k of the weight times sqrt(512) * sqrt(2) / 4 /
  // sqrt(512) = sqrt(2) / 4; the effective weight scale is 1/64 at fan-in 512.
  NoGradGuard ng;
  const int k = 7;
  std::vector<double> z(512, 0.0);
  z[k] = 1;
  EqualizedLR eq;
  eq.gain_on = GainOn::weight;
  eq.gain = std::sqrt(2.0) / 4;
  ParamInit init(3);
  const pggan::Dense4x4 dense(512, 512, init, eq, bias_act_spec("linear"));
  const Tensor x = dense.forward(Tensor::from_vector(z, {1, 512}) * std::sqrt(512.0));
  CHECK(x.shape() == Shape{1, 512, 4, 4});
  ParamInit same(3);
  const Tensor w = same.randn({16 * 512, 512});
  CHECK(dense.weight.shape() == Shape{16 * 512, 512});
  CHECK(dense.bias.shape() == Shape{512});
  CHECK(allclose(x.reshape({16 * 512}), slice(w, 1, k, k + 1).reshape({16 * 512}) * (std::sqrt(512.0) / 64), 1e-5, 1e-6).ok);
}

TEST_CASE("pggan: G at an integer lod is the lower level nearest-upscaled; the fade is continuous", "[pggan]") {
  for (bool fused : {true, false}) {
    INFO("fused " << fused);
    pggan::Generator G(tiny_g(16, fused), 3);
    NoGradGuard ng;
    const Tensor z = random_tensor({3, 4}, 4, DType::f32);
    for (int k = 1; k <= 2; ++k) {
      const Tensor img = G.forward(z, Tensor(), k);
      CHECK(img.shape() == Shape{3, 1, 16, 16});
      // Constant over 2^k blocks.
      CHECK(allclose(img, upscale2d(downscale2d(img, 1 << k), 1 << k), 0, 1e-6).ok);
      // Approaching the integer from below (the next level fading in) ends at it.
      CHECK(allclose(G.forward(z, Tensor(), k - 1e-6), img, 1e-3, 1e-4).ok);
      CHECK_FALSE(allclose(G.forward(z, Tensor(), k - 0.5), img, 1e-3, 1e-4).ok);
    }
    // lod beyond the ends acts as the nearest end; the stored lod is the default.
    CHECK(bit_equal(G.forward(z, Tensor(), 5), G.forward(z, Tensor(), 2)));
    CHECK(bit_equal(G.forward(z, Tensor(), -1), G.forward(z, Tensor(), 0)));
    G.set_lod(1.5);
    CHECK(G.lod() == 1.5);
    CHECK(bit_equal(G.forward(z, Tensor()), G.forward(z, Tensor(), 1.5)));
  }
}

TEST_CASE("pggan: D at lod k sees only the image's level-k box means", "[pggan]") {
  for (bool fused : {true, false}) {
    INFO("fused " << fused);
    pggan::Discriminator D(tiny_d(16, fused), 5);
    NoGradGuard ng;
    const Tensor x = random_tensor({4, 1, 16, 16}, 6, DType::f32);
    for (double lod : {1.0, 1.5, 2.0}) {
      const int f = 1 << static_cast<int>(std::floor(lod));
      CHECK(allclose(D.forward(x, lod), D.forward(upscale2d(downscale2d(x, f), f), lod), 1e-5, 1e-6).ok);
    }
    CHECK_FALSE(allclose(D.forward(x, 0.0), D.forward(upscale2d(downscale2d(x, 2), 2), 0.0), 1e-5, 1e-6).ok);
    CHECK(D.forward(x, 0.3).shape() == Shape{4, 1});
  }
  pggan::Discriminator Dc(tiny_d(16, true, 3), 7);
  CHECK(Dc.forward(random_tensor({2, 1, 16, 16}, 8, DType::f32), 0.0).shape() == Shape{2, 4});
}

TEST_CASE("pggan: G and D reject bad inputs naming what they expected", "[pggan]") {
  pggan::Generator G(tiny_g(16, true, 2), 1);
  CHECK_THROWS_WITH(G.forward(random_tensor({2, 4}, 1, DType::f32), Tensor(), 0), Catch::Contains("labels must be [2, 2]"));
  CHECK_THROWS_WITH(G.forward(random_tensor({2, 5}, 1, DType::f32), Tensor(), 0), Catch::Contains("latents must be [N, 4]"));
  CHECK_THROWS_WITH(G.forward(random_tensor({2, 4}, 1, DType::f32), random_tensor({2, 2}, 2, DType::f32), NAN),
                    Catch::Contains("lod must be finite"));
  pggan::Discriminator D(tiny_d(), 1);
  CHECK_THROWS_WITH(D.forward(random_tensor({2, 1, 8, 8}, 1, DType::f32), 0), Catch::Contains("images must be [N, 1, 16, 16]"));
  pggan::GeneratorConfig bad = tiny_g();
  bad.resolution = 24;
  CHECK_THROWS_WITH(pggan::Generator(bad, 0), Catch::Contains("not a power of two"));
}

TEST_CASE("pggan: config JSON round trip; unknown keys are errors", "[pggan]") {
  pggan::GeneratorConfig g = tiny_g(32, false, 3);
  g.fmap_decay = 0.5;
  g.use_leakyrelu = false;
  CHECK(pggan::to_json(pggan::generator_config_from_json(pggan::to_json(g))) == pggan::to_json(g));
  pggan::DiscriminatorConfig d = tiny_d(32, false, 3);
  CHECK(pggan::to_json(pggan::discriminator_config_from_json(pggan::to_json(d))) == pggan::to_json(d));
  CHECK_THROWS_WITH(pggan::generator_config_from_json({{"z_dim", 3}}), Catch::Contains("unknown key 'z_dim'"));
}

TEST_CASE("pggan: D gradients in the image and every weight, first order (float64)", "[pggan][grad]") {
  for (bool fused : {true, false}) {
    pggan::Discriminator D(tiny_d(8, fused, 2), 11, DType::f64);
    Tensor x = random_tensor({2, 1, 8, 8}, 12).requires_grad_();
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : D.parameters()) inputs.push_back(p);
    const Fn f = [&](const std::vector<Tensor>& v) { return D.forward(v[0], 0.6); };
    const auto r = gradcheck(f, inputs);
    INFO("fused " << fused << ": " << r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("pggan: WGAN-GP through D, (|dD/dx| - 1)^2 in the image and every weight (float64)", "[pggan][grad]") {
  // The penalty differentiates D's input gradient: this checks the backward of
  // every backward on D's path (fused convs, box downscale, lod lerp, mbstd).
  for (bool fused : {true, false}) {
    pggan::Discriminator D(tiny_d(8, fused), 13, DType::f64);
    Tensor x = random_tensor({2, 1, 8, 8}, 14).requires_grad_();
    std::vector<Tensor> inputs{x};
    for (const Tensor& p : D.parameters()) inputs.push_back(p);
    const Fn gp = [&](const std::vector<Tensor>& v) {
      GradModeGuard on(true);
      const Tensor s = D.forward(v[0], 0.4);
      const Tensor g = grad({sum(s)}, {v[0]}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
      return square(sqrt(sum(square(g), {1, 2, 3})) - 1.0);
    };
    const auto r = gradcheck(gp, inputs, 1e-6, 1e-4, 1e-7);
    INFO("fused " << fused << ": " << r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("pggan: G gradients in the latents and every weight at a fractional lod (float64)", "[pggan][grad]") {
  for (bool fused : {true, false}) {
    pggan::Generator G(tiny_g(8, fused, 2), 15, DType::f64);
    Tensor z = random_tensor({2, 4}, 16).requires_grad_();
    Tensor c = random_tensor({2, 2}, 17).requires_grad_();
    std::vector<Tensor> inputs{z, c};
    for (const Tensor& p : G.parameters()) inputs.push_back(p);
    const Fn f = [&](const std::vector<Tensor>& v) { return G.forward(v[0], v[1], 0.7); };
    const auto r = gradcheck(f, inputs);
    INFO("fused " << fused << ": " << r.message);
    CHECK(r.ok);
  }
}

// ---- schedule and data ----

TEST_CASE("pggan schedule: the official TrainingSchedule's lod, minibatch and rates", "[pggan]") {
  const ScheduleSpec v2 = make_pggan_spec("v2-1gpu").sched;
  struct Case {
    double kimg, lod;
    int res, mb;
  };
  // 1024x1024 (log2 10), 600 + 600 kimg per resolution from 4x4.
  for (const Case& c : {Case{0, 8, 4, 128}, Case{599, 8, 4, 128}, Case{600, 8, 4, 128}, Case{900, 7.5, 8, 128},
                        Case{1200, 7, 8, 128}, Case{1800, 7, 8, 128}, Case{2100, 6.5, 16, 128}, Case{5400, 4, 64, 32},
                        Case{9000, 1, 512, 4}, Case{9300, 0.5, 1024, 4}, Case{9900, 0, 1024, 4}, Case{20000, 0, 1024, 4}}) {
    INFO("kimg " << c.kimg);
    const Schedule s = training_schedule(static_cast<int64_t>(c.kimg * 1000), 10, v2);
    CHECK(s.lod == Approx(c.lod));
    CHECK(s.resolution == c.res);
    CHECK(s.minibatch == c.mb);
  }
  CHECK(training_schedule(9300000, 10, v2).G_lrate == 0.0015);
  CHECK(training_schedule(0, 10, v2).G_lrate == 0.001);
  CHECK(training_schedule(0, 10, v2).tick_kimg == 160);
  // The 8-GPU preset: its own rates, and per-GPU limits times 8.
  const ScheduleSpec v8 = make_pggan_spec("v2-8gpus").sched;
  CHECK(training_schedule(6000000, 10, v8).resolution == 128);
  CHECK(training_schedule(6000000, 10, v8).D_lrate == 0.0015);
  CHECK(training_schedule(20000000, 10, v8).minibatch == 32);
  CHECK(schedule_minibatch(make_pggan_spec("v2-1gpu").sched, 256) == 8);
  // The spec round-trips through JSON.
  const PGGANSpec p = make_pggan_spec("v1-1gpu");
  CHECK(to_json(pggan_spec_from_json(to_json(p))) == to_json(p));
  CHECK(p.mbstd_group_size == 16);
  CHECK_THROWS_WITH(make_pggan_spec("nope"), Catch::Contains("unknown --cfg 'nope'"));
}

TEST_CASE("pggan data: the dataset's levels are rounded box means; reals fade and upscale as process_reals", "[pggan]") {
  // One 4x4 image with 2x2 block sums chosen to hit the rounding.
  std::vector<uint8_t> px = {0, 1, 10, 10,  //
                             1, 0, 10, 11,  //  means 0.5 -> 0 (half to even), 10.25 -> 10
                             3, 4, 200, 201,
                             3, 4, 201, 201};  // 3.5 -> 4, 200.75 -> 201
  Dataset ds("one", 4, 1, px, {}, DatasetOptions{});
  uint8_t lvl1[4], lvl2[1];
  dataset_level_image(ds, 0, 1, lvl1);
  CHECK(std::vector<int>(lvl1, lvl1 + 4) == std::vector<int>{0, 10, 4, 201});
  dataset_level_image(ds, 0, 2, lvl2);
  CHECK(int(lvl2[0]) == 54);  // 860 / 16 = 53.75
  auto value = [](int v) { return float(v) * (2.0f / 255.0f) - 1.0f; };
  const Tensor r0 = progressive_reals(ds, {0}, 0.0, {}, Device::cpu());
  CHECK(r0.to_vector()[2] == double(value(10)));
  const Tensor r1 = progressive_reals(ds, {0}, 1.0, {}, Device::cpu());
  CHECK(r1.shape() == Shape{1, 1, 4, 4});
  CHECK(r1.to_vector()[0] == double(value(0)));
  CHECK(r1.to_vector()[15] == double(value(201)));
  // A fade halfway to the next level's mean.
  const Tensor r05 = progressive_reals(ds, {0}, 0.5, {}, Device::cpu());
  CHECK(r05.to_vector()[0] == Approx(0.5 * (value(0) + 0.25 * (value(0) + value(1) + value(1) + value(0)))));
  // Mirroring flips along x.
  const Tensor m = progressive_reals(ds, {0}, 0.0, {true}, Device::cpu());
  CHECK(m.to_vector()[3] == double(value(0)));
  CHECK_THROWS_WITH(progressive_reals(ds, {0}, 1.5, {}, Device::cpu()), Catch::Contains("outside"));
}

// ---- training ----

TEST_CASE("pggan: Adam with TensorFlow's epsilon, and its reset", "[pggan][training]") {
  // Two steps on one weight: p -= lr sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps).
  Tensor p = Tensor::from_vector({1.0}, {1}, DType::f64).requires_grad_();
  AdamOptions o;
  o.lr = 0.1;
  o.beta1 = 0.5;
  o.beta2 = 0.9;
  o.eps = 0.25;  // large, so where it goes shows
  o.tf_epsilon = true;
  Adam adam({{"p", p}}, o);
  double want = 1, m = 0, v = 0;
  for (int t = 1; t <= 2; ++t) {
    const double g = 2.0 * t;
    p.set_grad(Tensor::from_vector({g}, {1}, DType::f64));
    adam.step();
    m = 0.5 * m + 0.5 * g;
    v = 0.9 * v + 0.1 * g * g;
    want -= 0.1 * std::sqrt(1 - std::pow(0.9, t)) / (1 - std::pow(0.5, t)) * m / (std::sqrt(v) + 0.25);
    CHECK(p.item() == Approx(want).epsilon(1e-14));
  }
  adam.reset();
  CHECK(adam.state_dict().empty());
  p.set_grad(Tensor::from_vector({3.0}, {1}, DType::f64));
  adam.step();  // t = 1 again: m = 1.5, v = 0.9
  CHECK(p.item() == Approx(want - 0.1 * std::sqrt(0.1) / 0.5 * 1.5 / (std::sqrt(0.9) + 0.25)).epsilon(1e-14));
  CHECK(adam.state_dict().at("p.step").item() == 1);
}

TEST_CASE("pggan training: grows through every level with finite losses and a gradient penalty", "[pggan][training]") {
  const auto ds = toy_dataset(12, 16, true);
  PGGANTrainer t(tiny_setup(*ds), *ds);
  const int log2 = 4;
  // tiny: 32 + 32 images per resolution, 4 images a minibatch, rounds of 4;
  // 4x4 trains, 8x8 fades in and trains, 16x16 fades in and trains.
  int64_t prev_floor = -100, prev_ceil = -100, resets = 0;
  double gp = 0;
  while (t.cur_nimg() < 256) {
    const Schedule want = training_schedule(t.cur_nimg(), log2, t.setup().spec.sched);
    const bool reset = std::floor(want.lod) != prev_floor || std::ceil(want.lod) != prev_ceil;
    prev_floor = static_cast<int64_t>(std::floor(want.lod));
    prev_ceil = static_cast<int64_t>(std::ceil(want.lod));
    resets += reset;
    const double step_before = reset ? 0 : t.D_opt().state_dict().at("4x4/Dense1/bias.step").item();
    t.step();
    INFO("kimg " << want.kimg << " lod " << want.lod);
    CHECK(t.last_schedule().lod == want.lod);
    CHECK(t.G().lod() == static_cast<float>(want.lod));
    CHECK(t.Gs().lod() == t.G().lod());
    // The optimizers restarted with this round where the lod entered or left a fade.
    CHECK(t.D_opt().state_dict().at("4x4/Dense1/bias.step").item() == step_before + 4);
    const PGGANStats st = t.take_stats();
    REQUIRE(std::isfinite(st.loss.g_loss));
    REQUIRE(std::isfinite(st.loss.d_loss));
    REQUIRE(std::isfinite(st.loss.label_penalty_reals));
    CHECK(st.G_skipped == 0);
    CHECK(st.D_skipped == 0);
    gp += st.loss.gradient_penalty;
  }
  CHECK(gp > 0);
  // The first round, then both ends of the two fades (8x8, 16x16).
  CHECK(resets == 5);
  CHECK(t.last_schedule().lod == 0);
  // Gs trails G.
  CHECK_FALSE(bit_equal(t.G().state_dict().at("16x16/Conv1/weight"), t.Gs().state_dict().at("16x16/Conv1/weight")));
}

TEST_CASE("pggan training: a step with non-finite gradients is skipped, as the official optimizer does", "[pggan][training]") {
  const auto ds = toy_dataset(8, 16, false);
  PGGANTrainer t(tiny_setup(*ds), *ds);
  {
    NoGradGuard ng;
    t.D().state_dict().at("4x4/Dense1/bias").copy_(full({1}, std::numeric_limits<double>::infinity()));
  }
  const Tensor w = t.D().state_dict().at("4x4/Conv/weight").clone();
  t.step();
  const PGGANStats st = t.take_stats();
  CHECK(st.D_skipped == 4);
  CHECK(bit_equal(w, t.D().state_dict().at("4x4/Conv/weight")));
  CHECK(t.D_opt().state_dict().empty());
}

TEST_CASE("pggan training: a run resumed from a checkpoint inside a fade continues bit for bit", "[pggan][training]") {
  const bool cond = GENERATE(false, true);
  INFO("conditional " << cond);
  const auto ds = toy_dataset(12, 16, cond);
  PGGANSetup setup = tiny_setup(*ds, 9);
  setup.spec.mirror_augment = true;
  const int total = 10, first = 3;  // round 3 starts at 48 images: halfway through the 8x8 fade

  PGGANTrainer straight(setup, *ds);
  for (int i = 0; i < total; ++i) straight.step();

  PGGANTrainer part(setup, *ds);
  for (int i = 0; i < first; ++i) part.step();
  const double lod = part.schedule().lod;
  CHECK(lod != std::floor(lod));  // resumes inside a fade
  const std::string path = temp_path("pggan_resume.bin");
  save_pggan_checkpoint(path, part);
  const io::SafetensorsFile file = io::read_safetensors(path);
  std::filesystem::remove(path);
  REQUIRE(is_pggan_checkpoint(file));
  const PGGANSetup restored = pggan_checkpoint_setup(file, path, Device::cpu());
  CHECK(to_json(restored.spec) == to_json(setup.spec));
  PGGANTrainer resumed(restored, *ds);
  load_pggan_checkpoint(resumed, file, path);
  require_same_state(everything(part), everything(resumed));
  for (int i = first; i < total; ++i) resumed.step();
  CHECK(resumed.cur_nimg() == straight.cur_nimg());
  CHECK(resumed.rng().offset == straight.rng().offset);
  require_same_state(everything(straight), everything(resumed));
}

TEST_CASE("pggan training: snapshots load as networks; bad checkpoints are refused", "[pggan][training]") {
  const auto ds = toy_dataset(8, 16, false);
  const PGGANSetup setup = tiny_setup(*ds);
  PGGANTrainer a(setup, *ds);
  a.step();
  const std::string path = temp_path("pggan_snapshot.bin");
  save_pggan_snapshot(path, a);
  const io::SafetensorsFile snap = io::read_safetensors(path);
  std::filesystem::remove(path);
  CHECK_FALSE(is_pggan_checkpoint(snap));
  auto Gs = pggan::load_generator(snap, path);
  CHECK(bit_equal(Gs->state_dict().at("4x4/Conv/weight"), a.Gs().state_dict().at("4x4/Conv/weight")));
  CHECK(Gs->lod() == a.Gs().lod());
  PGGANTrainer b(pggan_bundle_setup(snap, path, setup), *ds);
  load_pggan_networks(b, snap, path);
  CHECK(bit_equal(b.D().state_dict().at("4x4/Dense0/weight"), a.D().state_dict().at("4x4/Dense0/weight")));
  CHECK(b.cur_nimg() == 0);

  save_pggan_checkpoint(path, a);
  io::SafetensorsFile file = io::read_safetensors(path);
  std::filesystem::remove(path);
  SECTION("a missing progress entry") {
    file.tensors.erase("state.prev_lod");
    PGGANTrainer c(pggan_checkpoint_setup(file, path, Device::cpu()), *ds);
    CHECK_THROWS_WITH(load_pggan_checkpoint(c, file, path), Catch::Contains(path) && Catch::Contains("state.prev_lod"));
  }
  SECTION("a misshapen weight") {
    file.tensors["G.4x4/Conv/weight"] = zeros({3, 3});
    PGGANTrainer c(pggan_checkpoint_setup(file, path, Device::cpu()), *ds);
    CHECK_THROWS_WITH(load_pggan_checkpoint(c, file, path), Catch::Contains("4x4/Conv/weight"));
  }
  SECTION("another dataset") {
    const auto other = toy_dataset(10, 16, false);
    PGGANTrainer c(pggan_checkpoint_setup(file, path, Device::cpu()), *other);
    CHECK_THROWS_WITH(load_pggan_checkpoint(c, file, path), Catch::Contains("--data"));
  }
  SECTION("a StyleGAN2 file is not a PGGAN checkpoint") {
    file.metadata.erase("format");
    CHECK_THROWS_WITH(pggan_checkpoint_setup(file, path, Device::cpu()), Catch::Contains("not a ganforge PGGAN checkpoint"));
    file.metadata["family"] = "stylegan2";
    CHECK_THROWS_WITH(pggan_bundle_setup(file, path, setup), Catch::Contains("not PGGAN"));
  }
}

TEST_CASE("pggan training on CUDA: the first losses agree with the CPU's", "[pggan][training][cuda]") {
  const auto ds = toy_dataset(12, 16, true);
  PGGANSetup cpu_setup = tiny_setup(*ds, 21);
  PGGANSetup gpu_setup = cpu_setup;
  gpu_setup.device = Device::cuda(0);
  PGGANTrainer cpu(cpu_setup, *ds), gpu(gpu_setup, *ds);
  cpu.step();
  gpu.step();
  // The same Philox draws on both devices; the first D loss comes before any update.
  const PGGANStats sc = cpu.take_stats(), sg = gpu.take_stats();
  CHECK(sg.loss.real_scores == Approx(sc.loss.real_scores).epsilon(1e-3));
  CHECK(std::isfinite(sg.loss.g_loss + sg.loss.d_loss + sg.loss.gradient_penalty));
  for (int i = 1; i < 6; ++i) gpu.step();
  const PGGANStats s = gpu.take_stats();
  CHECK(std::isfinite(s.loss.g_loss + s.loss.d_loss + s.loss.gradient_penalty));
  CHECK(s.loss.gradient_penalty > 0);
}
