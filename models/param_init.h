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
  Tensor randn(const Shape& s) { return gf::randn(s, gen, dtype); }
};

}  // namespace gf
