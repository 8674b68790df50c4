// Training-step parity with the official StyleGAN (v1) training loop: the
// trainer replays the random draws of tests/data/step_stylegan_*.bin (written
// by tools/make_step_fixtures.py from the PyTorch reference round of
// tools/stylegan_training_reference.py) from the same state, and each D and G
// step's gradients, every updated weight of G, D and Gs, both Adams' moments
// and step counts, G's and Gs's dlatent_avg and the round's schedule (lod,
// minibatch, learning rates) must equal the reference's (tests/step_parity.h:
// relative error 1e-4 per tensor, or within 10x PyTorch's own float32 error).
// One fixture enters a fade (the optimizers reset, new layers join at a
// fractional lod), mirrored, with style mixing over all layers; the other
// stays at a stable lod with labels, two D steps per minibatch, style mixing
// among the 4 layers the lod runs, and a G step skipped for a NaN gradient.
// R1 runs in every D step of both. docs/FAULT_INJECTION.md lists the faults
// tried and which case caught each.
//
// Also here: a recorded run replays bit for bit through the draw log, and the
// presets hold the official values of NVlabs/stylegan's train.py and
// training_loop.py.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "tests/step_parity.h"
#include "train/stylegan/configs.h"
#include "train/stylegan/trainer.h"
#include "train/stylegan/training_loop.h"

using namespace gf;
using namespace gf::step_parity;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<StyleGANTrainer> fixture_trainer(const Fixture& f, const Dataset& ds) {
  StyleGANSpec spec = stylegan_spec_from_json(f.meta("spec"));
  spec.G_kwargs = stylegan::generator_config_from_json(f.meta("G_kwargs"));
  spec.D_kwargs = stylegan::discriminator_config_from_json(f.meta("D_kwargs"));
  auto t = std::make_unique<StyleGANTrainer>(spec, ds, 0, Device::cpu());
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
  const StyleGANSpec& spec = t->spec();
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
    expect.group("dlatent_avg", {{"G", t->G().dlatent_avg}, {"Gs", t->Gs().dlatent_avg}}, "dlatent_avg", "dlatent_avg");
    expect.adam("G_opt", t->G_opt(), "G_params", "");
    expect.adam("D_opt", t->D_opt(), "D_params", "");
  }
  const StyleGANStats st = t->take_stats();
  CHECK(st.G_skipped == static_cast<int64_t>(poisons.size()));
  CHECK(st.D_skipped == 0);
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("gf_test_stylegan_step_" + std::to_string(::getpid()) + "_" + name)).string();
}

}  // namespace

TEST_CASE("StyleGAN v1 step parity: into a fade (optimizers reset, new layers join) and inside it, mirrored, mixing",
          "[step_parity][stylegan]") {
  check_fixture("step_stylegan_fade");
}

TEST_CASE("StyleGAN v1 step parity: stable lod, labels, mixing among the active layers, a skipped G step",
          "[step_parity][stylegan]") {
  check_fixture("step_stylegan_stable_cond");
}

TEST_CASE("StyleGAN v1 draw log: a recorded run replays bit for bit, and recording changes nothing",
          "[step_parity][stylegan]") {
  const bool cond = GENERATE(false, true);
  INFO((cond ? "conditional" : "unconditional") << ", mirrored");
  std::vector<uint8_t> px;
  std::vector<int64_t> lab;
  for (int i = 0; i < 6; ++i) {
    for (int p = 0; p < 8 * 8; ++p) px.push_back(static_cast<uint8_t>((p * (i + 3) * 29) % 256));
    lab.push_back(i % 3);
  }
  DatasetOptions opt;
  opt.use_labels = cond;
  const Dataset ds("striped", 8, 1, px, cond ? lab : std::vector<int64_t>{}, opt);
  StyleGANSpec spec = make_stylegan_spec("tiny");
  spec.mirror_augment = true;
  spec.minibatch_repeats = 2;
  spec.sched.lod_training_kimg = 0.004;  // a fade from the second round on
  spec.sched.lod_transition_kimg = 0.016;
  const std::string dir = temp_path("draws");
  fs::remove_all(dir);

  StyleGANTrainer plain(spec, ds, 5, Device::cpu()), recorded(spec, ds, 5, Device::cpu()),
      replayed(spec, ds, 5, Device::cpu());
  recorded.set_draw_log(DrawLog::recorder(dir));
  for (int i = 0; i < 3; ++i) {
    plain.step();
    recorded.step();
  }
  REQUIRE(fs::exists(dir + "/draws-mb000008.bin"));  // the second round starts at image 8
  // The replaying trainer's own stream and sampler are elsewhere: only the
  // log can make it take the recorded run's steps.
  replayed.rng().offset += 1000;
  replayed.sampler().next_batch(3);
  replayed.set_draw_log(DrawLog::replayer({dir}));
  for (int i = 0; i < 3; ++i) replayed.step();

  auto state = [&](StyleGANTrainer& t) {
    const std::string p = temp_path("state.bin");
    save_stylegan_checkpoint(p, t);
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

TEST_CASE("StyleGAN v1 configs: the official loss, optimizer, loop and schedule values", "[step_parity][stylegan]") {
  // NVlabs/stylegan, written here by hand: loss.py D_logistic_simplegp's
  // r1_gamma (train.py's D_loss leaves it at 10); train.py's G_opt/D_opt
  // (beta1 0, beta2 0.99, epsilon 1e-8); training_loop.py's defaults
  // (G_smoothing_kimg 10, D_repeats 1, minibatch_repeats 4,
  // reset_opt_for_new_lod, mirror_augment off); G_style's dlatent_avg_beta
  // 0.995 and style_mixing_prob 0.9; and the '1gpu' schedule of train.py
  // (FFHQ: lod_initial_resolution 8; minibatch_base 4 with the '1gpu'
  // minibatch_dict; lrates 0.0015/0.002/0.003 from 128; training_schedule's
  // 600 + 600 kimg per resolution and its tick_kimg_dict).
  for (const std::string& cfg : stylegan_config_names()) {
    INFO("cfg " << cfg);
    const StyleGANSpec s = make_stylegan_spec(cfg);
    CHECK(s.r1_gamma == 10);
    CHECK(s.adam_beta1 == 0);
    CHECK(s.adam_beta2 == 0.99);
    CHECK(s.adam_epsilon == 1e-8);
    CHECK(s.D_repeats == 1);
    CHECK(s.minibatch_repeats == 4);
    CHECK(s.reset_opt_for_new_lod);
    CHECK(!s.mirror_augment);
    CHECK(s.G_kwargs.dlatent_avg_beta == 0.995);
    CHECK(s.G_kwargs.style_mixing_prob == 0.9);
    CHECK(s.G_kwargs.truncation_psi == 0.7);  // inference only: never applied in training
    CHECK(s.G_kwargs.truncation_cutoff == 8);
    if (cfg != "1gpu") continue;  // 'cpu' and 'tiny' shorten the schedule and the Gs half-life on purpose
    CHECK(s.G_smoothing_kimg == 10);
    CHECK(s.total_kimg == 25000);
    const ScheduleSpec& q = s.sched;
    CHECK(q.lod_initial_resolution == 8);
    CHECK(q.lod_training_kimg == 600);
    CHECK(q.lod_transition_kimg == 600);
    CHECK(q.minibatch_base == 4);
    CHECK(q.minibatch_dict == std::map<int, int>{{4, 128}, {8, 128}, {16, 128}, {32, 64}, {64, 32}, {128, 16}, {256, 8}, {512, 4}});
    CHECK(q.max_minibatch_per_gpu.empty());
    const std::map<int, double> lr{{128, 0.0015}, {256, 0.002}, {512, 0.003}, {1024, 0.003}};
    CHECK(q.G_lrate_dict == lr);
    CHECK(q.D_lrate_dict == lr);
    CHECK(q.G_lrate_base == 0.001);
    CHECK(q.D_lrate_base == 0.001);
    CHECK(q.tick_kimg_base == 160);
    CHECK(q.tick_kimg_dict ==
          std::map<int, double>{{4, 160}, {8, 140}, {16, 120}, {32, 100}, {64, 80}, {128, 60}, {256, 40}, {512, 30}, {1024, 20}});
    CHECK(q.num_gpus == 1);
  }
}
