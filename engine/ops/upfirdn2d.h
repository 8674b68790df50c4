// upfirdn2d and its resampling helpers, with the semantics of the official
// StyleGAN2-ADA torch_utils/ops/upfirdn2d.py. Filters are constants: they get
// no gradient.
#pragma once
#include <vector>

#include "engine/tensor.h"

namespace gf {

struct UpFirDn2dParams {
  int up_x = 1, up_y = 1;
  int down_x = 1, down_y = 1;
  int pad_x0 = 0, pad_x1 = 0, pad_y0 = 0, pad_y1 = 0;  // negative pads crop
  bool flip_filter = false;  // false: true convolution; true: correlation
  double gain = 1.0;
};

// x [N, C, H, W]; f [fh, fw], or [k] for the separable filter outer(f, f).
// Upsample by zero insertion, pad, filter, downsample, scale by gain. The
// gradient is upfirdn2d again (up and down swapped, filter flipped, padding
// recomputed), so the op is differentiable to any order.
Tensor upfirdn2d(const Tensor& x, const Tensor& f, const UpFirDn2dParams& p = {});

// A filter from 1-D taps, normalized to sum 1: the outer product [k, k]
// (e.g. [1, 3, 3, 1] -> the 4x4 StyleGAN2 filter), or with separable the 1-D
// taps themselves.
Tensor setup_filter(const std::vector<double>& taps, bool separable = false, DType t = DType::f32,
                    Device d = Device::cpu());

// The official helpers: padding is added to the padding that centres the filter.
// Upsampling scales by gain * up^2 so the mean level is kept.
Tensor upsample2d(const Tensor& x, const Tensor& f, int up = 2, int padding = 0, bool flip_filter = false,
                  double gain = 1.0);
Tensor downsample2d(const Tensor& x, const Tensor& f, int down = 2, int padding = 0, bool flip_filter = false,
                    double gain = 1.0);
Tensor filter2d(const Tensor& x, const Tensor& f, int padding = 0, bool flip_filter = false, double gain = 1.0);

// Python's floor division (rounds toward minus infinity; b > 0), which the
// official padding arithmetic of these helpers and of modulated_conv2d uses.
inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

}  // namespace gf
