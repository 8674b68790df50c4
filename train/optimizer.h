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

}  // namespace gf
