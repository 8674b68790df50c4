// Modulated convolution with optional demodulation (StyleGAN2), with the
// semantics of the official StyleGAN2-ADA `modulated_conv2d` + `conv2d_resample`.
#pragma once
#include "engine/tensor.h"

namespace gf {

struct ModConv2dParams {
  bool demodulate = true;
  int up = 1;       // 1 or 2: transposed conv (stride 2), then the FIR filter
  int down = 1;     // 1 or 2: the FIR filter, then a stride-2 conv
  int padding = 0;  // as in the official code (e.g. kernel_size // 2)
  bool flip_weight = true;
  bool fused = true;  // one grouped conv with per-sample weights, or scale activations around a shared conv
};

// x [N, Cin, H, W], weight [Cout, Cin, kh, kw], styles [N, Cin],
// resample_filter: the 2-D filter from setup_filter({1,3,3,1}) (required when up or down is 2).
// w[n,o,i] = weight[o,i] * styles[n,i]; with demodulate, divided by
// sqrt(sum_{i,kh,kw} w[n,o,i]^2 + 1e-8). Differentiable to second order in x,
// weight and styles (the path-length penalty differentiates through it).
Tensor modulated_conv2d(const Tensor& x, const Tensor& weight, const Tensor& styles,
                        const Tensor& resample_filter = Tensor(), const ModConv2dParams& p = {});

}  // namespace gf
