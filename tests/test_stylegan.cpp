// StyleGAN (v1) networks: gradients of first and second order through the
// synthesis layer epilogue (noise, bias, lrelu, instance norm + style), the
// blur after the up-conv, the fused resampling and the lod fade, and through
// D_basic's input gradient as R1 takes it; truncation, style mixing, the
// dlatent_avg update and the noise modes by their defining properties; a tiny
// training run (finite losses, R1 non-zero, dlatent_avg moving, Gs an average).
#include <catch2/catch.hpp>
#include <cmath>

#include "models/stylegan/networks.h"
#include "tests/testing.h"
#include "train/stylegan/trainer.h"
#include "train/stylegan/training_loop.h"

#include <filesystem>
#include <unistd.h>

using namespace gf;
using gf::test::allclose;
using gf::test::check_first_and_second_order;
using gf::test::Fn;
using gf::test::random_tensor;

namespace {

stylegan::GeneratorConfig tiny_g(int res = 8) {
  stylegan::GeneratorConfig c;
  c.latent_size = 3;
  c.dlatent_size = 3;
  c.mapping_layers = 2;
  c.mapping_fmaps = 3;
  c.num_channels = 1;
  c.resolution = res;
  c.fmap_base = 8;
  c.fmap_max = 2;
  c.fused_scale = stylegan::FusedScale::always;
  return c;
}

stylegan::DiscriminatorConfig tiny_d(int res = 8) {
  stylegan::DiscriminatorConfig c;
  c.num_channels = 1;
  c.resolution = res;
  c.fmap_base = 8;
  c.fmap_max = 2;
  c.mbstd_group_size = 2;
  c.fused_scale = stylegan::FusedScale::always;
  return c;
}

Tensor named(const Module& m, const std::string& n) {
  auto sd = m.state_dict();
  INFO(n);
  REQUIRE(sd.count(n) == 1);
  return sd.at(n);
}

// 8 grayscale 8x8 squares, labelled by polarity.
std::unique_ptr<Dataset> toy_data() {
  const int n = 8, res = 8;
  std::vector<uint8_t> px(static_cast<size_t>(n * res * res));
  std::vector<int64_t> lab;
  for (int i = 0; i < n; ++i) {
    for (int y = 0; y < res; ++y)
      for (int x = 0; x < res; ++x) {
        const bool in = y >= 2 && y < 6 && x >= 1 + i % 3 && x < 6;
        px[static_cast<size_t>((i * res + y) * res + x)] = static_cast<uint8_t>((in != (i % 2 == 1)) ? 240 : 10);
      }
    lab.push_back(i % 2);
  }
  DatasetOptions dopt;
  dopt.use_labels = true;
  return std::make_unique<Dataset>("toy", res, 1, std::move(px), lab, dopt);
}

// From 4x4: 8 images, an 8-image fade, then 8x8; minibatch 4, one minibatch per round.
StyleGANSpec tiny_spec() {
  StyleGANSpec spec;
  spec.sched = stylegan_v1_schedule();
  spec.sched.lod_initial_resolution = 4;
  spec.sched.lod_training_kimg = 0.008;
  spec.sched.lod_transition_kimg = 0.008;
  spec.sched.minibatch_base = 4;
  spec.sched.minibatch_dict.clear();
  spec.minibatch_repeats = 1;
  spec.G_smoothing_kimg = 0.01;
  spec.mirror_augment = true;
  auto& g = spec.G_kwargs;
  g.latent_size = g.dlatent_size = g.mapping_fmaps = 4;
  g.mapping_layers = 2;
  g.fmap_base = 8;
  g.fmap_max = 4;
  auto& d = spec.D_kwargs;
  d.fmap_base = 8;
  d.fmap_max = 4;
  d.mbstd_group_size = 2;
  return spec;
}

}  // namespace

TEST_CASE("stylegan: G synthesis gradients of first and second order (epilogue, blur, fused up-conv, fade)",
          "[stylegan][grad]") {
  stylegan::Generator G(tiny_g(), 1, DType::f64);
  {
    NoGradGuard ng;  // non-zero noise strengths and style biases, so every path carries signal
    for (const char* n : {"G_synthesis/8x8/Conv0_up/Noise/weight", "G_synthesis/4x4/Conv/Noise/weight",
                          "G_synthesis/8x8/Conv0_up/StyleMod/bias"}) {
      Tensor t = named(G, n);
      t.copy_(random_tensor(t.shape(), 7, DType::f64, Device::cpu(), 0.5));
    }
  }
  Tensor ws = random_tensor({2, G.num_layers(), 3}, 3).requires_grad_();
  const std::vector<Tensor> inputs{ws, named(G, "G_synthesis/8x8/Conv0_up/Noise/weight"),
                                   named(G, "G_synthesis/8x8/Conv0_up/StyleMod/weight"),
                                   named(G, "G_synthesis/8x8/Conv0_up/weight")};
  stylegan::SynthesisOptions opt;
  opt.noise_mode = NoiseMode::constant;
  for (double lod : {0.0, 0.5}) {
    INFO("lod " << lod);
    Fn f = [&](const std::vector<Tensor>& v) { return square(G.synthesis(v[0], lod, opt)); };
    check_first_and_second_order(f, inputs);
  }
}

TEST_CASE("stylegan: D_basic gradients of first and second order through its input gradient (R1)",
          "[stylegan][grad]") {
  for (auto fused : {stylegan::FusedScale::always, stylegan::FusedScale::never}) {
    auto cfg = tiny_d();
    cfg.fused_scale = fused;
    stylegan::Discriminator D(cfg, 2, DType::f64);
    Tensor x = random_tensor({2, 1, 8, 8}, 4).requires_grad_();
    Fn f = [&](const std::vector<Tensor>& v) { return D.forward(v[0], Tensor(), 0.5); };
    INFO("fused " << (fused == stylegan::FusedScale::always));
    check_first_and_second_order(f, {x, named(D, "8x8/Conv1_down/weight")});
  }
}

TEST_CASE("stylegan: truncation lerps towards dlatent_avg below the cutoff only", "[stylegan]") {
  NoGradGuard ng;
  stylegan::Generator G(tiny_g(16), 5);
  named(G, "dlatent_avg").copy_(random_tensor({3}, 9, DType::f32));
  const Tensor ws = G.mapping(random_tensor({2, 3}, 8, DType::f32), Tensor());
  REQUIRE(ws.shape() == Shape{2, 6, 3});
  const Tensor t = G.truncate(ws, 0.25, 4);
  const Tensor avg = G.dlatent_avg.reshape({1, 1, 3});
  const Tensor want_lo = add(avg, mul(sub(slice(ws, 1, 0, 4), avg), Tensor::scalar(0.25)));
  CHECK(allclose(slice(t, 1, 0, 4), want_lo, 1e-6, 1e-6).ok);
  // Coefficient 1 above the cutoff: avg + (w - avg), as the official lerp computes it.
  CHECK(allclose(slice(t, 1, 4, 6), slice(ws, 1, 4, 6), 1e-6, 1e-6).ok);
  CHECK(allclose(G.truncate(ws, 1.0, 8), ws, 0, 0).ok);
  CHECK(allclose(G.truncate(ws, 0.5, 0), ws, 0, 0).ok);
  // psi 0 at every layer: every latent gives the average's image.
  stylegan::GenerateOptions o;
  o.truncation_psi = 0;
  o.truncation_cutoff = 6;
  o.synthesis.noise_mode = NoiseMode::constant;
  const Tensor img = G.forward(random_tensor({2, 3}, 10, DType::f32), Tensor(), 0, o);
  CHECK(allclose(slice(img, 0, 0, 1), slice(img, 0, 1, 2), 1e-5, 1e-6).ok);
}

TEST_CASE("stylegan: style mixing, the dlatent_avg update and the noise modes", "[stylegan]") {
  NoGradGuard ng;
  const Tensor a = random_tensor({2, 6, 3}, 1, DType::f32), b = random_tensor({2, 6, 3}, 2, DType::f32);
  const Tensor m = stylegan::mix_styles(a, b, 2);
  CHECK(allclose(slice(m, 1, 0, 2), slice(a, 1, 0, 2), 0, 0).ok);
  CHECK(allclose(slice(m, 1, 2, 6), slice(b, 1, 2, 6), 0, 0).ok);
  CHECK(allclose(stylegan::mix_styles(a, b, 6), a, 0, 0).ok);

  stylegan::Generator G(tiny_g(16), 5);
  const Tensor before = G.dlatent_avg.clone();
  G.update_dlatent_avg(a);
  // lerp(batch mean of ws[:, 0], avg, 0.995) from avg = 0: 0.005 of the mean.
  const Tensor want = mul(mean(slice(a, 1, 0, 1).reshape({2, 3}), {0}), Tensor::scalar(0.005));
  CHECK(allclose(G.dlatent_avg, add(before, want), 1e-5, 1e-7).ok);

  const Tensor z = random_tensor({2, 3}, 11, DType::f32);
  stylegan::GenerateOptions o;
  gf::Generator g1(1), g1b(1), g2(2);
  o.synthesis.noise_gen = &g1;
  const Tensor r1 = G.forward(z, Tensor(), 0, o);
  o.synthesis.noise_gen = &g1b;
  const Tensor r1b = G.forward(z, Tensor(), 0, o);
  o.synthesis.noise_gen = &g2;
  const Tensor r2 = G.forward(z, Tensor(), 0, o);
  CHECK(allclose(r1, r1b, 0, 0).ok);
  // Noise strengths start at zero (official init): random noise changes nothing until trained.
  CHECK(allclose(r1, r2, 0, 0).ok);
  { Tensor t = named(G, "G_synthesis/16x16/Conv1/Noise/weight"); t.copy_(ones(t.shape(), t.dtype())); }
  o.synthesis.noise_gen = &g1;
  const Tensor s1 = G.forward(z, Tensor(), 0, o);
  o.synthesis.noise_gen = &g2;
  CHECK_FALSE(allclose(s1, G.forward(z, Tensor(), 0, o), 1e-3, 1e-3).ok);
  stylegan::GenerateOptions c;
  c.synthesis.noise_mode = NoiseMode::constant;
  CHECK(allclose(G.forward(z, Tensor(), 0, c), G.forward(z, Tensor(), 0, c), 0, 0).ok);
  CHECK_THROWS_WITH(G.forward(z, Tensor(), 0, stylegan::GenerateOptions{}), Catch::Contains("noise generator"));
}

TEST_CASE("stylegan training: a tiny progressive run (losses finite, R1 non-zero, dlatent_avg moves)",
          "[stylegan][training]") {
  auto ds = toy_data();
  const StyleGANSpec spec = tiny_spec();
  const Dataset& dsr = *ds;
  StyleGANTrainer t(spec, dsr, 3, Device::cpu());
  CHECK(t.G().config().label_size == 2);
  const std::vector<double> avg0 = t.G().dlatent_avg.to_vector();
  for (int i = 0; i < 8; ++i) t.step();  // 32 images: through 4x4, the fade and 8x8
  CHECK(t.cur_nimg() == 32);
  CHECK(t.schedule().lod < 1);
  const StyleGANStats st = t.take_stats();
  CHECK(st.D_steps == 8);
  CHECK(st.G_steps == 8);
  for (double v : {st.G_loss, st.D_loss, st.r1_penalty, st.scores_real, st.scores_fake}) CHECK(std::isfinite(v));
  CHECK(st.r1_penalty > 0);
  const std::vector<double> avg1 = t.G().dlatent_avg.to_vector();
  double moved = 0;
  for (size_t i = 0; i < avg1.size(); ++i) moved += std::abs(avg1[i] - avg0[i]);
  CHECK(moved > 0);
  // Gs copies G's buffers (dlatent_avg, as of its last update after a D step) and averages its parameters.
  double gs_avg = 0;
  for (double v : t.Gs().dlatent_avg.to_vector()) gs_avg += std::abs(v);
  CHECK(gs_avg > 0);
  const Tensor gw = t.G().state_dict().at("G_synthesis/4x4/Conv/weight");
  const Tensor sw = t.Gs().state_dict().at("G_synthesis/4x4/Conv/weight");
  CHECK_FALSE(allclose(gw, sw, 0, 0).ok);
  CHECK(std::isfinite(sum(square(sw)).item()));
}

TEST_CASE("stylegan training: a tick is as long as the schedule of the round that ran, as the official loop",
          "[stylegan][training]") {
  // training/training_loop.py checks the tick's end after a round with that round's sched.tick_kimg.
  auto ds = toy_data();
  StyleGANSpec spec = tiny_spec();
  spec.sched.tick_kimg_dict = {{4, 0.004}, {8, 0.012}};
  StyleGANTrainer t(spec, *ds, 3, Device::cpu());
  const std::optional<double> schedule_tick;  // no fixed --tick
  StyleGANRun run(t, schedule_tick);
  bool next_differs = false;
  for (int i = 0; i < 8; ++i) {  // through 4x4, the fade and 8x8
    const Schedule ran = t.schedule();
    t.step();
    CHECK(run.tick_kimg(4) == ran.tick_kimg);
    next_differs |= t.schedule().tick_kimg != ran.tick_kimg;
  }
  CHECK(next_differs);  // some round was followed by one of another tick length
}

TEST_CASE("stylegan training: each fakes grid draws fresh noise, as the official Gs.run(is_validation=True)",
          "[stylegan][training]") {
  // training_loop.py leaves randomize_noise at True; the draw depends on the
  // image count alone, so a resumed run writes the same grid at a kimg.
  auto ds = toy_data();
  StyleGANTrainer t(tiny_spec(), *ds, 3, Device::cpu());
  for (auto& [name, p] : t.Gs().named_parameters())
    if (name.find("/Noise/weight") != std::string::npos) p.copy_(full_like(p, 0.5));
  const gf::test::TempDir dir("v1_grid_noise");
  StyleGANRun run(t, std::optional<double>());
  run.write_reals(dir / "reals.png", 2, 2);
  run.write_fakes(dir / "a.png", 2, 2);
  run.write_fakes(dir / "b.png", 2, 2);
  CHECK(gf::test::file_bytes(dir / "a.png") == gf::test::file_bytes(dir / "b.png"));
  t.set_progress(16, t.schedule().lod);
  run.write_fakes(dir / "c.png", 2, 2);
  CHECK(gf::test::file_bytes(dir / "a.png") != gf::test::file_bytes(dir / "c.png"));
}

TEST_CASE("stylegan training: a run resumed from a checkpoint in the middle of the fade continues bit for bit",
          "[stylegan][training]") {
  auto ds = toy_data();
  const StyleGANSpec spec = tiny_spec();
  StyleGANTrainer a(spec, *ds, 7, Device::cpu());
  for (int i = 0; i < 6; ++i) a.step();
  StyleGANTrainer b(spec, *ds, 7, Device::cpu());
  for (int i = 0; i < 3; ++i) b.step();  // 12 images: inside the fade
  REQUIRE(b.schedule().lod > 0);
  REQUIRE(b.schedule().lod < 1);
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("gf_stylegan_ckpt_" + std::to_string(getpid()) + ".bin")).string();
  save_stylegan_checkpoint(path, b);
  const io::SafetensorsFile file = io::read_safetensors(path);
  std::filesystem::remove(path);
  uint64_t seed = 0;
  const StyleGANSpec restored = stylegan_checkpoint_spec(file, path, &seed);
  CHECK(seed == 7);
  StyleGANTrainer c(restored, *ds, seed, Device::cpu());
  load_stylegan_checkpoint(c, file, path);
  CHECK(c.cur_nimg() == 12);
  for (int i = 0; i < 3; ++i) c.step();
  for (const auto& [name, t] : a.G().state_dict()) {
    INFO(name);
    CHECK(allclose(c.G().state_dict().at(name), t, 0, 0).ok);
  }
  for (const auto& [name, t] : a.Gs().state_dict()) {
    INFO("Gs " << name);
    CHECK(allclose(c.Gs().state_dict().at(name), t, 0, 0).ok);
  }
  for (const auto& [name, t] : a.D().state_dict()) {
    INFO("D " << name);
    CHECK(allclose(c.D().state_dict().at(name), t, 0, 0).ok);
  }
}
