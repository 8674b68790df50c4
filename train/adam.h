// Adam with exactly torch.optim.Adam's update (no weight decay, no amsgrad):
//   m = beta1 * m + (1 - beta1) * g            (as m.lerp_(g, 1 - beta1))
//   v = beta2 * v + (1 - beta2) * g * g
//   p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// with a step count t per parameter. State is created on a parameter's first
// gradient and, like torch's, a parameter without a gradient is skipped.
// With tf_epsilon, eps goes where tf.train.AdamOptimizer puts it (PGGAN and
// StyleGAN v1 train with it):
//   p -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps)
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/module.h"
#include "engine/tensor.h"
#include "train/optimizer.h"

namespace gf {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  bool tf_epsilon = false;
};

class Adam : public Optimizer {
 public:
  // Names are the parameters' state-dict names (Module::named_parameters()).
  Adam(std::vector<std::pair<std::string, Tensor>> params, const AdamOptions& opt);

  // Updates every parameter that has a gradient, in place, outside the graph.
  void step() override;
  // Drops every parameter's gradient.
  void zero_grad() override;
  // Forgets every moment and step count, as the official PGGAN loop's
  // reset_optimizer_state does when new layers come in.
  void reset();

  AdamOptions& options() { return opt_; }  // lr may change between steps
  const AdamOptions& options() const { return opt_; }

  // "<param>.exp_avg", "<param>.exp_avg_sq" and "<param>.step" (float64
  // scalar) for every parameter that has state, as torch keeps it. Loading
  // restores it bit for bit; an unknown name or a misshapen tensor throws
  // before anything changes.
  io::TensorMap state_dict() const override;
  void load_state_dict(const io::TensorMap& state) override;

  // For a loader whose trainer steps every parameter at every optimizer step
  // (StyleGAN2: each phase's loss reaches every trainable parameter, as the
  // official Dreg's real_logits * 0 ensures): what is wrong with `state` (as
  // load_state_dict takes it) against that, "" when nothing is: the first
  // parameter without state, or whose step count is not the others', named
  // with `prefix` before its name (the file's "G_opt.").
  std::string uneven_state(const io::TensorMap& state, const std::string& prefix) const;

 private:
  struct Slot {
    std::string name;
    Tensor param, exp_avg, exp_avg_sq;  // state undefined until the first step
    int64_t step = 0;
  };
  std::vector<Slot> slots_;
  AdamOptions opt_;
};

// Whether every gradient of the module is finite: the official TensorFlow
// optimizer (dnnlib.tflib, PGGAN's tfutil) skips a step whose gradients hold a
// NaN or an infinity; PGGAN's and StyleGAN v1's trainers do the same.
bool finite_grads(const Module& net);

}  // namespace gf
