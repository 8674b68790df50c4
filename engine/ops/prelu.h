// PReLU as torch.nn.functional.prelu.
#pragma once
#include "engine/tensor.h"

namespace gf {

// x: [N, C, *] (or [N] / [N, C]); a: [C] slopes per channel, or [1] shared.
// y = x > 0 ? x : a * x. Differentiable in x and a to any order (the backward
// is written in ops around the piecewise-constant mask x > 0).
Tensor prelu(const Tensor& x, const Tensor& a);

}  // namespace gf
