#include "models/fused_resample.h"

#include "engine/error.h"
#include "engine/ops.h"
#include "engine/ops/upfirdn2d.h"

namespace gf {
namespace {

int check_weight(const Tensor& w, const char* op) {
  GF_CHECK(w.dim() == 4 && w.size(2) == w.size(3) && w.size(2) % 2 == 1, op,
           "weight must be [O, I, k, k] with k odd, got " << shape_str(w.shape()));
  return static_cast<int>(w.size(2));
}

void check_input(const Tensor& x, const Tensor& w, const char* op) {
  GF_CHECK(x.dim() == 4 && x.size(1) == w.size(1), op,
           "x must be [N, " << w.size(1) << ", H, W], got " << shape_str(x.shape()));
}

}  // namespace

Tensor four_shift_sum(const Tensor& w) {
  check_weight(w, "four_shift_sum");
  // [O, I, k, k] read as a batch of O images of I channels: a 2x2 box filter
  // over the weight padded by one on every side sums the four shifts.
  UpFirDn2dParams p;
  p.pad_x0 = p.pad_x1 = p.pad_y0 = p.pad_y1 = 1;
  return upfirdn2d(w, ones({2, 2}, w.dtype(), w.device()), p);
}

Tensor upscale2d_conv2d(const Tensor& x, const Tensor& w) {
  const char* op = "upscale2d_conv2d";
  const int k = check_weight(w, op);
  check_input(x, w, op);
  // TF's 'SAME' for a stride-2 transposed conv of a (k+1)-tap kernel from H
  // to 2H pads (k - 1) / 2 on each side; conv_transpose2d's weight is [I, O, ...].
  Conv2dParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_h = p.pad_w = (k - 1) / 2;
  return conv_transpose2d(x, transpose(four_shift_sum(w), 0, 1), p);
}

Tensor conv2d_downscale2d(const Tensor& x, const Tensor& w) {
  const char* op = "conv2d_downscale2d";
  const int k = check_weight(w, op);
  check_input(x, w, op);
  GF_CHECK(x.size(2) % 2 == 0 && x.size(3) % 2 == 0, op, "needs an even height and width, got " << shape_str(x.shape()));
  Conv2dParams p;
  p.stride_h = p.stride_w = 2;
  p.pad_h = p.pad_w = (k - 1) / 2;
  return conv2d(x, four_shift_sum(w) * 0.25, p);
}

}  // namespace gf
