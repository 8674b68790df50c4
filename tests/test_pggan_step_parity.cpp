// Training-step parity with the official PGGAN training loop: the trainer
// replays the random draws of tests/data/step_pggan_*.bin (written by
// tools/make_step_fixtures.py from the PyTorch reference round of
// tools/pggan_training_reference.py) from the same state, and each D and G
// step's gradients, every updated weight of G, D and Gs, both Adams' moments
// and step counts, and the round's schedule (lod, minibatch) must equal the
// reference's (tests/step_parity.h: relative error 1e-4 per tensor, or within
// 10x PyTorch's own float32 error). One fixture enters a fade (the optimizers
// reset, new layers join at a fractional lod) and continues inside it; the
// other stays at a stable lod with labels (AC-GAN), two D steps per
// minibatch, and a G step skipped for a NaN gradient.
// docs/FAULT_INJECTION.md lists the faults tried and which case caught each.
//
// Also here: a recorded PGGAN run replays bit for bit through the draw log.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "tests/step_parity.h"
#include "train/pggan/checkpoint.h"
#include "train/pggan/trainer.h"

using namespace gf;
using namespace gf::step_parity;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<PGGANTrainer> fixture_trainer(const Fixture& f, const Dataset& ds) {
  const PGGANSpec spec = pggan_spec_from_json(f.meta("spec"));
  const PGGANSetup setup = make_pggan_setup(spec, ds, 0, Device::cpu());
  // The trainer builds the networks train.py builds for the spec.
  const nlohmann::json G_kw = f.meta("G_kwargs"), D_kw = f.meta("D_kwargs");
  CHECK(setup.G_kwargs.latent_size == G_kw["latent_size"].get<int>());
  CHECK(setup.G_kwargs.fused_scale == G_kw["fused_scale"].get<bool>());
  CHECK(setup.D_kwargs.mbstd_group_size == D_kw["mbstd_group_size"].get<int>());
  auto t = std::make_unique<PGGANTrainer>(setup, ds);
  t->G().load_state_dict(f.unpack("init/G", "G_state"));
  t->Gs().load_state_dict(f.unpack("init/Gs", "G_state"));
  t->D().load_state_dict(f.unpack("init/D", "D_state"));
  load_adam(f, "G_opt", "G_params", t->G_opt());
  load_adam(f, "D_opt", "D_params", t->D_opt());
  const nlohmann::json start = f.meta("start");
  t->set_progress(start["cur_nimg"].get<int64_t>(), start["prev_lod"].get<double>());
  t->set_draw_log(DrawLog::replayer({f.path}));
  return t;
}

void check_fixture(const std::string& name) {
  const Fixture f = open_fixture(name);
  const auto ds = fixture_dataset(f);
  auto t = fixture_trainer(f, *ds);
  const nlohmann::json poisons = f.meta("poison");
  const PGGANSpec& spec = t->setup().spec;
  std::vector<std::string> steps;
  for (int r = 0; r < spec.minibatch_repeats; ++r) {
    for (int k = 0; k < spec.D_repeats; ++k) steps.push_back("rep" + std::to_string(r) + "/D" + std::to_string(k));
    steps.push_back("rep" + std::to_string(r) + "/G");
  }

  // Each step's gradients before the optimizer (zeros where the lod leaves a
  // layer out), then the fixture's poison.
  std::map<std::string, io::TensorMap> grads;
  int64_t round = 0;
  t->set_step_hook([&](const std::string& step, Module& net) {
    grads[step] = grads_of(net, /*missing_as_zero=*/true);
    poison(poisons, round, step, net);
  });

  const nlohmann::json rounds = f.meta("rounds");
  size_t i = 0;
  for (const auto& mbj : f.meta("minibatches")) {
    round = mbj.get<int64_t>();
    REQUIRE(t->cur_nimg() == round);
    grads.clear();
    t->step();
    INFO(name << ", the round from image " << round);
    // The schedule the round ran with, and the float32 lod the networks ran at.
    const Schedule s = t->last_schedule();
    CHECK(s.lod == Approx(rounds[i]["lod"].get<double>()).epsilon(1e-12).margin(1e-15));
    CHECK(s.minibatch == rounds[i]["minibatch"].get<int>());
    CHECK(s.G_lrate == rounds[i]["G_lrate"].get<double>());
    CHECK(s.D_lrate == rounds[i]["D_lrate"].get<double>());
    CHECK(t->G().lod() == static_cast<double>(static_cast<float>(s.lod)));
    ++i;
    const Expect expect(f, round);
    expect.phases(steps, grads, [](const std::string& step) { return step.back() == 'G' ? "G_params" : "D_params"; });
    expect.group("G", params_of(t->G()), "G", "G_params");
    expect.group("Gs", params_of(t->Gs()), "Gs", "G_params");
    expect.group("D", params_of(t->D()), "D", "D_params");
    expect.adam("G_opt", t->G_opt(), "G_params", "");
    expect.adam("D_opt", t->D_opt(), "D_params", "");
  }
  const PGGANStats st = t->take_stats();
  CHECK(st.G_skipped == static_cast<int64_t>(poisons.size()));
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("gf_test_pggan_step_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("PGGAN step parity: into a fade (optimizers reset, new layers join) and inside it, mirrored",
          "[step_parity][pggan]") {
  check_fixture("step_pggan_fade");
}

TEST_CASE("PGGAN step parity: stable lod, labels, two D steps per minibatch, a skipped G step",
          "[step_parity][pggan]") {
  check_fixture("step_pggan_stable_cond");
}

TEST_CASE("PGGAN draw log: a recorded run replays bit for bit, and recording changes nothing",
          "[step_parity][pggan]") {
  const bool cond = GENERATE(false, true);
  INFO((cond ? "conditional" : "unconditional") << ", mirrored");
  std::vector<uint8_t> px;
  std::vector<int64_t> lab;
  for (int i = 0; i < 6; ++i) {
    for (int p = 0; p < 16 * 16; ++p) px.push_back(static_cast<uint8_t>((p * (i + 3) * 29) % 256));
    lab.push_back(i % 3);
  }
  DatasetOptions opt;
  opt.use_labels = cond;
  const Dataset ds("striped", 16, 1, px, cond ? lab : std::vector<int64_t>{}, opt);
  PGGANSpec spec = make_pggan_spec("tiny");
  spec.mirror_augment = true;
  spec.minibatch_repeats = 2;
  spec.sched.lod_training_kimg = 0.004;  // a fade from the second round on
  spec.sched.lod_transition_kimg = 0.016;
  const PGGANSetup setup = make_pggan_setup(spec, ds, 5, Device::cpu());
  const std::string dir = temp_path("draws");
  fs::remove_all(dir);

  PGGANTrainer plain(setup, ds), recorded(setup, ds), replayed(setup, ds);
  recorded.set_draw_log(DrawLog::recorder(dir));
  for (int i = 0; i < 3; ++i) {
    plain.step();
    recorded.step();
  }
  REQUIRE(fs::exists(dir + "/draws-mb000008.bin"));  // the second round starts at image 8
  // What replaying cannot check, the draws themselves: one interpolation
  // weight and one mirror coin per sample (distinct uniforms in [0, 1)), as
  // loss.py's tf.random_uniform([minibatch_size, 1, 1, 1]) and process_reals draw them.
  int eps_seen = 0;
  for (const auto& [n, v] : io::load_safetensors(dir + "/draws-mb000008.bin")) {
    const bool eps = n.size() > 7 && n.compare(n.size() - 7, 7, "/gp_eps") == 0;
    const bool coin = n.size() > 9 && n.compare(n.size() - 9, 9, "/mirror_u") == 0;
    if (!eps && !coin) continue;
    INFO(n);
    eps_seen += eps;
    CHECK(v.numel() == spec.sched.minibatch_base);
    std::vector<double> u = v.to_vector();
    for (double x : u) CHECK((x >= 0 && x < 1));
    std::sort(u.begin(), u.end());
    CHECK(std::adjacent_find(u.begin(), u.end()) == u.end());
  }
  CHECK(eps_seen == spec.minibatch_repeats * spec.D_repeats);
  // The replaying trainer's own stream and sampler are elsewhere: only the
  // log can make it take the recorded run's steps.
  replayed.rng().offset += 1000;
  replayed.sampler().next_batch(3);
  replayed.set_draw_log(DrawLog::replayer({dir}));
  for (int i = 0; i < 3; ++i) replayed.step();

  auto state = [&](PGGANTrainer& t) {
    const std::string p = temp_path("state.bin");
    save_pggan_checkpoint(p, t);
    io::TensorMap m = io::load_safetensors(p);
    fs::remove(p);
    for (auto it = m.begin(); it != m.end();)
      it = (it->first.rfind("sampler.", 0) == 0 || it->first.rfind("state.rng", 0) == 0) ? m.erase(it) : std::next(it);
    return m;
  };
  const io::TensorMap want = state(plain), got_recorded = state(recorded), got_replayed = state(replayed);
  REQUIRE(want.size() == got_recorded.size());
  REQUIRE(want.size() == got_replayed.size());
  for (const auto& [n, v] : want) {
    INFO(n);
    REQUIRE(got_recorded.count(n));
    REQUIRE(got_replayed.count(n));
    CHECK(v.to_vector() == got_recorded.at(n).to_vector());
    CHECK(v.to_vector() == got_replayed.at(n).to_vector());
  }
  CHECK(recorded.rng().offset == plain.rng().offset);
  fs::remove_all(dir);
}

TEST_CASE("PGGAN configs: the official loss, optimizer and loop values of every preset", "[step_parity][pggan]") {
  // loss.py D_wgangp_acgan / G_wgan_acgan defaults, config.py's G_opt and
  // D_opt, train.py's train_progressive_gan defaults, written here by hand.
  for (const std::string& cfg : pggan_config_names()) {
    INFO("cfg " << cfg);
    const PGGANSpec s = make_pggan_spec(cfg);
    CHECK(s.wgan_lambda == 10);
    CHECK(s.wgan_epsilon == 0.001);
    CHECK(s.wgan_target == 1);
    CHECK(s.cond_weight == 1);
    CHECK(s.adam_beta1 == 0);
    CHECK(s.adam_beta2 == 0.99);
    CHECK(s.adam_epsilon == 1e-8);
    CHECK(s.D_repeats == 1);
    CHECK(s.minibatch_repeats == 4);
    CHECK(s.reset_opt_for_new_lod);
    CHECK(!s.mirror_augment);  // train.py's default; the CelebA-HQ line of config.py turns it on
    // 'cpu' averages Gs over a shorter half-life on purpose (configs.cpp says why).
    CHECK(s.G_smoothing == (cfg == "cpu" ? 0.99 : 0.999));
    CHECK(s.sched.lod_initial_resolution == 4);
    CHECK(s.sched.G_lrate_base == 0.001);
    CHECK(s.sched.D_lrate_base == 0.001);
  }
}

TEST_CASE("PGGAN configs: every official preset's schedule table, as config.py and train.py write it",
          "[step_parity][pggan]") {
  // progressive_growing_of_gans config.py's '-preset-*' lines and its default
  // '-fp32' line, over train.py's TrainingSchedule and train_progressive_gan
  // defaults, written here by hand (the schedule a step runs with is held to
  // the reference only at the tiny test schedules).
  struct Preset {
    std::string cfg;
    int num_gpus, minibatch_base;
    std::map<int, int> minibatch_dict;
    std::map<int, double> lrate_dict;
    double phase_kimg, total_kimg;
    int mbstd_group_size;
  };
  const std::vector<Preset> presets = {
      {"v1-1gpu", 1, 16, {{256, 14}, {512, 6}, {1024, 3}}, {}, 800, 19000, 16},
      {"v2-1gpu", 1, 4, {{4, 128}, {8, 128}, {16, 128}, {32, 64}, {64, 32}, {128, 16}, {256, 8}, {512, 4}},
       {{1024, 0.0015}}, 600, 12000, 4},
      {"v2-2gpus", 2, 8, {{4, 256}, {8, 256}, {16, 128}, {32, 64}, {64, 32}, {128, 16}, {256, 8}},
       {{512, 0.0015}, {1024, 0.002}}, 600, 12000, 4},
      {"v2-4gpus", 4, 16, {{4, 512}, {8, 256}, {16, 128}, {32, 64}, {64, 32}, {128, 16}},
       {{256, 0.0015}, {512, 0.002}, {1024, 0.003}}, 600, 12000, 4},
      {"v2-8gpus", 8, 32, {{4, 512}, {8, 256}, {16, 128}, {32, 64}, {64, 32}},
       {{128, 0.0015}, {256, 0.002}, {512, 0.003}, {1024, 0.003}}, 600, 12000, 4},
  };
  for (const Preset& want : presets) {
    INFO("cfg " << want.cfg);
    const PGGANSpec s = make_pggan_spec(want.cfg);
    const ScheduleSpec& q = s.sched;
    CHECK(q.num_gpus == want.num_gpus);
    CHECK(q.minibatch_base == want.minibatch_base);
    CHECK(q.minibatch_dict == want.minibatch_dict);
    CHECK(q.max_minibatch_per_gpu == std::map<int, int>{{256, 16}, {512, 8}, {1024, 4}});  // '-fp32'
    CHECK(q.G_lrate_dict == want.lrate_dict);
    CHECK(q.D_lrate_dict == want.lrate_dict);
    CHECK(q.G_lrate_base == 0.001);
    CHECK(q.D_lrate_base == 0.001);
    CHECK(q.lod_initial_resolution == 4);
    CHECK(q.lod_training_kimg == want.phase_kimg);
    CHECK(q.lod_transition_kimg == want.phase_kimg);
    CHECK(q.tick_kimg_base == 160);
    CHECK(q.tick_kimg_dict ==
          std::map<int, double>{{4, 160}, {8, 140}, {16, 120}, {32, 100}, {64, 80}, {128, 60}, {256, 40}, {512, 20}, {1024, 10}});
    CHECK(s.total_kimg == want.total_kimg);
    CHECK(s.mbstd_group_size == want.mbstd_group_size);
    // config.py's networks: G_paper / D_paper defaults.
    CHECK(s.fmap_base == 8192);
    CHECK(s.fmap_decay == 1.0);
    CHECK(s.fmap_max == 512);
    CHECK(s.latent_size == 0);
    CHECK(s.fused_scale);
  }
}
