// Training-step parity with the official StyleGAN (v1) training loop: the
// trainer replays the random draws of tests/data/step_stylegan_*.bin (written
// by tools/fixtures/make_step_fixtures.py from the PyTorch reference round of
// tools/reference/stylegan_training_reference.py) from the same state, and each D and G
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
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "engine/io/safetensors.h"
#include "tests/round_step_parity.h"
#include "train/stylegan/configs.h"
#include "train/stylegan/trainer.h"
#include "train/stylegan/training_loop.h"

using namespace gf;
using namespace gf::step_parity;

namespace {

std::unique_ptr<StyleGANTrainer> fixture_trainer(const Fixture& f, const Dataset& ds) {
  StyleGANSpec spec = stylegan_spec_from_json(f.meta("spec"));
  spec.G_kwargs = stylegan::generator_config_from_json(f.meta("G_kwargs"));
  spec.D_kwargs = stylegan::discriminator_config_from_json(f.meta("D_kwargs"));
  auto t = std::make_unique<StyleGANTrainer>(spec, ds, 0, Device::cpu());
  load_round_start(f, *t);
  return t;
}

void check_fixture(const std::string& name) {
  auto dlatent_avg = [](const Expect& expect, StyleGANTrainer& t) {
    expect.group("dlatent_avg", {{"G", t.G().dlatent_avg}, {"Gs", t.Gs().dlatent_avg}}, "dlatent_avg", "dlatent_avg");
  };
  const StyleGANStats st = check_round_fixture<StyleGANTrainer>(name, fixture_trainer, dlatent_avg);
  CHECK(st.D_skipped == 0);
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
  const auto ds = striped_dataset(8, cond);
  const StyleGANSpec spec = replay_spec(make_stylegan_spec("tiny"));
  check_record_replay<StyleGANTrainer>("stylegan", save_stylegan_checkpoint, [](const std::string&) {}, spec, *ds,
                                       uint64_t{5}, Device::cpu());
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
