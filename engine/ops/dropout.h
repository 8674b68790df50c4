// Dropout as torch's F.dropout: in training, each element is zeroed with
// probability p and the rest scaled by 1 / (1 - p); outside training, x as is.
#pragma once
#include "engine/ops.h"

namespace gf {

// The keep mask comes from `gen` (Philox uniforms: u >= p keeps), so a seed
// gives the same mask on the CPU and the GPU. Differentiable in x (the mask
// is a constant). p in [0, 1); p == 0 or !training returns x.
Tensor dropout(const Tensor& x, double p, bool training, Generator& gen);

}  // namespace gf
