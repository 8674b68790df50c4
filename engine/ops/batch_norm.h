// Batch normalization as torch.nn.functional.batch_norm (BatchNorm1d/2d).
#pragma once
#include "engine/tensor.h"

namespace gf {

// x: [N, C] or [N, C, *] (BatchNorm1d on [N, C] / [N, C, L], BatchNorm2d on
// [N, C, H, W]); weight, bias: [C] or undefined (affine=False); running_mean,
// running_var: [C] or undefined (track_running_stats=False).
// training, or no running stats: normalize with the batch's mean and biased
// variance over every dim but 1; in training the running stats (when given)
// are updated in place, outside the graph, as torch does: r = (1 - momentum) r
// + momentum s, with the unbiased variance (n / (n - 1)). A batch with one value
// per channel is refused, as torch refuses it.
// eval with running stats: y = (x - running_mean) / sqrt(running_var + eps) * weight + bias.
// Differentiable in x, weight and bias; the first-order backward runs the fused
// kernels of kernels/batch_norm.h, a backward recorded for higher order is
// composed of engine ops (the statistics recomputed from x), so any order is exact.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

}  // namespace gf
