// Where a network's initial values come from, shared by every family: one
// Philox generator drawn from in construction order, so a seed fixes every
// weight; and the dtype of every parameter and buffer (float64 for gradient
// checks).
#pragma once
#include <cstdint>

#include "engine/ops.h"

namespace gf {

struct ParamInit {
  explicit ParamInit(uint64_t seed, DType t = DType::f32) : gen(seed), dtype(t) {}
  gf::Generator gen;
  DType dtype;
  // Leaves the random draws' storage uninitialized: for a network whose
  // weights are loaded right after (a full-size pSp encoder holds ~270M),
  // or whose names and shapes are all that is wanted.
  bool skip_draws = false;
  Tensor randn(const Shape& s) { return skip_draws ? Tensor::empty(s, dtype) : gf::randn(s, gen, dtype); }
  // N(0, scale^2).
  Tensor randn(const Shape& s, double scale) { return skip_draws ? Tensor::empty(s, dtype) : randn(s) * scale; }
};

}  // namespace gf
