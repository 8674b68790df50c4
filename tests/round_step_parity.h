// Step parity of the official progressive-growing loops' round (PGGAN and
// StyleGAN v1: train/pggan/, train/stylegan/), shared by
// tests/test_pggan_step_parity.cpp and tests/test_stylegan_step_parity.cpp
// over the harness of tests/step_parity.h. Both trainers run the same round
// (minibatch_repeats times D_repeats D steps, then a G step, at one schedule
// evaluation), keep G, Gs, D and two Adams, and name their draws alike; a
// family adds its own checks (v1: dlatent_avg) through callbacks.
#pragma once
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "tests/step_parity.h"
#include "train/progressive.h"

namespace gf::step_parity {

// The fixture's start into a progressive trainer: load_start with Gs (init/Gs),
// and the start's image count and previous round's lod.
template <class Trainer>
void load_round_start(const Fixture& f, Trainer& t) {
  load_start(f, t, t.Gs(), "Gs");
  const nlohmann::json start = f.meta("start");
  t.set_progress(start["cur_nimg"].get<int64_t>(), start["prev_lod"].get<double>());
}

// Replays tests/data/<name>.bin's rounds (one step() each) in the trainer
// build(f, ds) makes, and holds to the reference after each round: the
// schedule it ran with (lod, minibatch, learning rates) and the float32 lod G
// runs at; the step names that ran ("rep<i>/D<k>", "rep<i>/G") and each step's
// gradients before the fixture's poison (zeros where the lod leaves a layer
// out); G, Gs, D; both Adams' state. more(expect, trainer) adds a family's
// checks of the round. Every poisoned step is skipped (G_skipped). Returns the
// trainer's statistics of the whole replay (take_stats).
template <class Trainer, class Build, class More>
auto check_round_fixture(const std::string& name, Build build, More more) {
  const Replay<Trainer> r(name, build);
  const Fixture& f = r.f;
  const nlohmann::json& poisons = r.poisons;
  Trainer& t = *r.t;
  std::vector<std::string> steps;
  for (int i = 0; i < t.spec().minibatch_repeats; ++i) {
    for (int k = 0; k < t.spec().D_repeats; ++k) steps.push_back("rep" + std::to_string(i) + "/D" + std::to_string(k));
    steps.push_back("rep" + std::to_string(i) + "/G");
  }

  // Each step's gradients before the optimizer, then the fixture's poison.
  std::map<std::string, io::TensorMap> grads;
  int64_t round = 0;
  t.set_step_hook([&](const std::string& step, Module& net) {
    grads[step] = grads_of(net, /*missing_as_zero=*/true);
    poison(poisons, round, step, net);
  });

  const nlohmann::json rounds = f.meta("rounds");
  size_t i = 0;
  for (const auto& mbj : f.meta("minibatches")) {
    round = mbj.get<int64_t>();
    REQUIRE(t.cur_nimg() == round);
    grads.clear();
    t.step();
    INFO(name << ", the round from image " << round);
    // The schedule the round ran with, and the float32 lod the networks ran at.
    const Schedule s = t.last_schedule();
    CHECK(s.lod == Approx(rounds[i]["lod"].get<double>()).epsilon(1e-12).margin(1e-15));
    CHECK(s.minibatch == rounds[i]["minibatch"].get<int>());
    CHECK(s.G_lrate == rounds[i]["G_lrate"].get<double>());
    CHECK(s.D_lrate == rounds[i]["D_lrate"].get<double>());
    CHECK(t.G().lod() == static_cast<double>(static_cast<float>(s.lod)));
    ++i;
    const Expect expect(f, round);
    expect.phases(steps, grads, [](const std::string& step) { return step.back() == 'G' ? "G_params" : "D_params"; });
    expect.group("G", params_of(t.G()), "G", "G_params");
    expect.group("Gs", params_of(t.Gs()), "Gs", "G_params");
    expect.group("D", params_of(t.D()), "D", "D_params");
    more(expect, t);
    expect.adam("G_opt", t.G_opt(), "G_params", "");
    expect.adam("D_opt", t.D_opt(), "D_params", "");
  }
  const auto stats = t.take_stats();
  CHECK(stats.G_skipped == static_cast<int64_t>(poisons.size()));
  return stats;
}

// The record/replay cases' data: 6 grayscale res x res images with stripes
// that differ per image, labelled i % 3 when cond.
inline std::unique_ptr<Dataset> striped_dataset(int res, bool cond) {
  std::vector<uint8_t> px;
  std::vector<int64_t> lab;
  for (int i = 0; i < 6; ++i) {
    for (int p = 0; p < res * res; ++p) px.push_back(static_cast<uint8_t>((p * (i + 3) * 29) % 256));
    lab.push_back(i % 3);
  }
  DatasetOptions opt;
  opt.use_labels = cond;
  return std::make_unique<Dataset>("striped", res, 1, std::move(px), cond ? lab : std::vector<int64_t>{}, opt);
}

// The record/replay cases' schedule over a family's 'tiny' spec: mirrored,
// rounds of 2 minibatches, a fade from the second round on.
template <class Spec>
Spec replay_spec(Spec spec) {
  spec.mirror_augment = true;
  spec.minibatch_repeats = 2;
  spec.sched.lod_training_kimg = 0.004;
  spec.sched.lod_transition_kimg = 0.016;
  return spec;
}

// A recorded run replays bit for bit through the draw log, and recording
// changes nothing: three trainers Trainer(args...), one plain and one
// recording for 3 rounds, then one replaying the recording with its own
// random stream and sampler moved elsewhere (only the log can make it take
// the recorded run's steps). Their checkpoints (save(path, trainer)) must
// agree in every tensor but the random stream's and the sampler's, and the
// recording trainer's stream must stand where the plain one's does. The
// callers' setups run rounds of 8 images: check_draws(path) may read the
// second round's log (draws-mb000008.bin) before the replay.
template <class Trainer, class Save, class CheckDraws, class... Args>
void check_record_replay(const std::string& tag, Save save, CheckDraws check_draws, const Args&... args) {
  namespace fs = std::filesystem;
  const std::string dir = temp_path(tag + "_draws");
  fs::remove_all(dir);

  Trainer plain(args...), recorded(args...), replayed(args...);
  recorded.set_draw_log(DrawLog::recorder(dir));
  for (int i = 0; i < 3; ++i) {
    plain.step();
    recorded.step();
  }
  REQUIRE(fs::exists(dir + "/draws-mb000008.bin"));  // the second round starts at image 8
  check_draws(dir + "/draws-mb000008.bin");
  replayed.rng().offset += 1000;
  replayed.sampler().next_batch(3);
  replayed.set_draw_log(DrawLog::replayer({dir}));
  for (int i = 0; i < 3; ++i) replayed.step();

  auto state = [&](Trainer& t) {
    const std::string p = temp_path(tag + "_state.bin");
    save(p, t);
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

}  // namespace gf::step_parity
