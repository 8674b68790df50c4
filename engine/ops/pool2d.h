// Pooling over NCHW planes, as torch's F.adaptive_avg_pool2d and F.max_pool2d.
#pragma once
#include "engine/tensor.h"

namespace gf {

// x [N, C, H, W] -> [N, C, out_h, out_w]; output (i, j) averages input rows
// [floor(i H / out_h), ceil((i + 1) H / out_h)) and the columns likewise
// (torch's bins: overlapping when H is not a multiple of out_h). The gradient
// is adaptive_avg_pool2d_backward, whose gradient is this op again, so the
// pair is differentiable to any order.
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
// The adjoint: g [N, C, out_h, out_w] -> [N, C, in_h, in_w], each value spread
// evenly over its bin.
Tensor adaptive_avg_pool2d_backward(const Tensor& g, int64_t in_h, int64_t in_w);

struct MaxPool2dParams {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;  // implicit -inf; at most half the kernel, as torch requires
};
// x [N, C, H, W] -> [N, C, (H + 2 pad - k) / stride + 1, ...] (floor mode,
// dilation 1): the maximum of each window (the first maximum gets the
// gradient; a NaN counts as the maximum). pSp's shortcut MaxPool2d(1, s) is the
// 1x1 case: every stride-th pixel. First-order gradient through
// max_pool2d_backward; its own gradient in g (second order) is a gather at the
// same maxima.
Tensor max_pool2d(const Tensor& x, const MaxPool2dParams& p);
// The gradient of max_pool2d at x for the output gradient g: g summed into the
// position of each window's maximum.
Tensor max_pool2d_backward(const Tensor& x, const Tensor& g, const MaxPool2dParams& p);

}  // namespace gf
