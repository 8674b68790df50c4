// Bilinear resizing (no antialiasing): torch's F.interpolate(x, size=(out_h,
// out_w), mode='bilinear', align_corners=False / True) with
// ResizeCoords::half_pixel / align_corners, and TF1's ResizeBilinear
// (align_corners=False) with ResizeCoords::asymmetric; and its one-source
// rule, torch's F.interpolate(x, size, mode='nearest') (resize_nearest).
#pragma once
#include "engine/tensor.h"
#include "kernels/resize.h"

namespace gf {

// x [N, C, H, W] -> [N, C, out_h, out_w]. The source coordinate rule is in
// kernels/resize.h. The gradient is resize_bilinear_backward, whose gradient is
// this op again: differentiable to any order.
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, ResizeCoords coords);
// The adjoint: g [N, C, out_h, out_w] -> [N, C, in_h, in_w].
Tensor resize_bilinear_backward(const Tensor& g, int64_t in_h, int64_t in_w, ResizeCoords coords);
// x [N, C, H, W] -> [N, C, out_h, out_w], output (i, j) = x at
// (min(floor(i * H / out_h), H - 1), likewise j), the ratios in float as
// torch's nearest mode forms them. Differentiable to any order.
inline Tensor resize_nearest(const Tensor& x, int64_t out_h, int64_t out_w) {
  return resize_bilinear(x, out_h, out_w, ResizeCoords::nearest);
}

}  // namespace gf
