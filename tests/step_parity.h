// Step-parity harness: a trainer's minibatch held to a PyTorch reference's.
// A fixture (tests/data/step_*.bin, written by a family's fixture maker over
// tools/reference/training_step_reference.py) holds a start state, the draws of a few
// minibatches (train/draw_log.h names) and what the reference computed after
// each; a family's test builds its trainer in the start state, replays the
// draws, and hands each group of tensors to Expect, which compares it to the
// reference's. The StyleGAN2-ADA trainer is held to it in
// tests/test_step_parity.cpp, the PGGAN trainer (WGAN-GP, drift, AC-GAN,
// TensorFlow's Adam with its resets, Gs) in tests/test_pggan_step_parity.cpp,
// the StyleGAN v1 trainer (R1 every step, style mixing among the active
// layers, dlatent_avg, Gs) in tests/test_stylegan_step_parity.cpp; the last
// two share their round's replay (tests/round_step_parity.h).
//
// Fixture format (safetensors; tools/fixtures/make_step_fixtures.py documents the
// StyleGAN2 one in full):
//  - metadata "layout": JSON {layout: [[name, shape], ...]}; a group's tensors
//    are packed into one flat float32 tensor in its layout's order;
//  - metadata "data" {xflip, c_dim}, "start", "minibatches", "poison";
//  - data/pixels [N, C, H, W] (0..255), data/labels [N];
//  - expect/mb<K>/<group> and expect/mb<K>/noise/<group> (float64, one value
//    per tensor of the group: PyTorch's own float32 error on it).
//
// Error measure, per tensor: a ganforge's, b the float64 reference's (rounded
// once to float32), err = max_i |a_i - b_i| / max(max_i |b_i|, floor); a tensor
// passes when err < 1e-4, or, where float32 itself cannot get that close, when
// max |a - b| is within 10 times PyTorch's own float32 error on that tensor.
//  - floor = 1e-2 times the largest |b| of the tensor's group (one phase's
//    gradients of one network, one network's weights, one optimizer's second
//    moments). It matters only for a tensor far smaller than its group, which
//    float32 forms from terms of the group's size: its rounding error scales
//    with the group, not with itself (a tensor that is zero by cancellation
//    would otherwise have to come out exactly zero).
//  - PyTorch's float32 error: the same step in float32 from the same state and
//    draws, against the float64 reference.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/module.h"
#include "train/adam.h"
#include "data/dataset.h"
#include "train/draw_log.h"

namespace gf::step_parity {

inline constexpr double kTol = 1e-4;
inline constexpr double kFloor = 1e-2;  // of the group's scale
inline constexpr double kNoise = 10;    // times PyTorch's own float32 error

struct Fixture {
  std::string path;
  io::SafetensorsFile file;
  nlohmann::json meta(const std::string& key) const;
  const Tensor& at(const std::string& name) const;  // fails the test when missing
  bool has(const std::string& name) const { return file.tensors.count(name) > 0; }
  // The names of a layout, in its order.
  std::vector<std::string> names(const std::string& layout) const;
  // A packed tensor split by one of the metadata's layouts, by name.
  io::TensorMap unpack(const std::string& name, const std::string& layout) const;
};

// tests/data/<name>.bin.
Fixture open_fixture(const std::string& name);

// The fixture's images and labels as a Dataset (mirrored when data.xflip).
std::unique_ptr<Dataset> fixture_dataset(const Fixture& f);

// <temp dir>/gf_test_step_<pid>_<name>: a test's scratch file or folder.
std::string temp_path(const std::string& name);

// Loads an Adam state from init/<key>/exp_avg_sq and init/<key>/step (one step
// count per parameter, float64) in the layout's order; the first moments start
// at zero (beta1 = 0: never read). A step count of 0 leaves the parameter
// without state (PGGAN: a layer the lod does not reach yet).
void load_adam(const Fixture& f, const std::string& key, const std::string& layout, Adam& opt);

// The fixture's start into a family's trainer: G, D and G's moving average
// (`avg`: StyleGAN2's G_ema, PGGAN's and v1's Gs) from init/G, init/D and
// init/<avg_key> (the G_state layout), both Adams (load_adam of G_opt, D_opt),
// and its draws to replay from the next step on. The family sets its progress.
template <class Trainer>
void load_start(const Fixture& f, Trainer& t, Module& avg, const std::string& avg_key) {
  t.G().load_state_dict(f.unpack("init/G", "G_state"));
  avg.load_state_dict(f.unpack("init/" + avg_key, "G_state"));
  t.D().load_state_dict(f.unpack("init/D", "D_state"));
  load_adam(f, "G_opt", "G_params", t.G_opt());
  load_adam(f, "D_opt", "D_params", t.D_opt());
  t.set_draw_log(DrawLog::replayer({f.path}));
}

// What a step-parity case replays: tests/data/<name>.bin, its dataset, the
// trainer build(f, *ds) makes of them in the start state, and the gradient
// elements the fixture poisons.
template <class Trainer>
struct Replay {
  template <class Build>
  Replay(const std::string& name, Build build)
      : f(open_fixture(name)), ds(fixture_dataset(f)), t(build(f, *ds)), poisons(f.meta("poison")) {}
  const Fixture f;
  const std::unique_ptr<Dataset> ds;
  const std::unique_ptr<Trainer> t;
  const nlohmann::json poisons;
};

// Copies of a module's parameters; of their gradients (every parameter must
// have one: the official "* 0" terms make torch form one in every phase;
// with missing_as_zero, a parameter without one reads as zeros: PGGAN's layers
// the lod does not reach, where TensorFlow's gradient is zero).
io::TensorMap params_of(const Module& m);
io::TensorMap grads_of(const Module& m, bool missing_as_zero = false);

// The fixture's poisoned gradient elements (metadata "poison": {mb, phase,
// param, index, value "nan"/"inf"/"-inf"}) for this minibatch and phase,
// written into net's gradients; and what nan_to_num makes of them in `grads`.
void poison(const nlohmann::json& list, int64_t mb, const std::string& phase, Module& net);
void clean_poisoned(const nlohmann::json& list, int64_t mb, const std::string& phase, io::TensorMap& grads);

// Each tensor of a group against the reference; noise: PyTorch's float32 error per tensor.
void check_group(const std::string& what, const io::TensorMap& got, const io::TensorMap& want,
                 const std::map<std::string, double>& noise);

// The checks after one replayed minibatch.
class Expect {
 public:
  Expect(const Fixture& f, int64_t mb);
  // expect/mb<K>/<group> (split by layout, or `want` when given) against got.
  void group(const std::string& what, const io::TensorMap& got, const std::string& group, const std::string& layout,
             io::TensorMap want = {}) const;
  // The phases that ran are exactly those the fixture holds gradients of
  // (expect/mb<K>/grad/<phase>, of all_phases), and each phase's gradients
  // (grads: phase -> gradients before the cleaning) equal the reference's;
  // layout_of(phase) names the layout of the phase's network.
  void phases(const std::vector<std::string>& all_phases, const std::map<std::string, io::TensorMap>& grads,
              const std::function<std::string(const std::string&)>& layout_of) const;
  // An Adam's state after the minibatch: second moments (group <key>/exp_avg_sq)
  // and step counts (<key>/step, exact); first moments: <key>/exp_avg when the
  // fixture holds it, else (beta1 = 0) the last phase's gradients after the
  // poisoning and the cleaning. A parameter without state reads as zero
  // moments and step 0.
  void adam(const std::string& key, const Adam& opt, const std::string& layout, const std::string& last_phase) const;

 private:
  const Fixture& f_;
  int64_t mb_;
  std::string prefix_;
};

}  // namespace gf::step_parity
