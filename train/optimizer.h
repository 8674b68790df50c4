// What a training loop asks of an optimizer (train/adam.h, train/ranger.h):
// a step over the parameters that have gradients, and its state for exact
// resumes. Every optimizer updates in place, outside the graph.
#pragma once
#include "engine/io/safetensors.h"

namespace gf {

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Updates every parameter that has a gradient.
  virtual void step() = 0;
  // Drops every parameter's gradient.
  virtual void zero_grad() = 0;
  // Per-parameter state named "<param>.<what>"; loading restores it bit for
  // bit, and an unknown name or a misshapen tensor throws before anything changes.
  virtual io::TensorMap state_dict() const = 0;
  virtual void load_state_dict(const io::TensorMap& state) = 0;
};

// A fresh copy of `src` on `device`, never an alias of it (Tensor::to keeps
// one already there): state_dict's tensors must not change at the next step,
// and a loaded state must not share the caller's map.
Tensor state_copy(const Tensor& src, Device device);

// For load_state_dict: throws naming `what` (e.g. "G.b4.conv1.weight.exp_avg_sq")
// unless every element of a CPU tensor is >= 0. A second moment is a running
// mean of squares: a negative one (a damaged file) made sqrt() NaN at the
// next step and the whole run NaN without a word.
void check_second_moment(const Tensor& t, const std::string& what, const char* op);

}  // namespace gf
