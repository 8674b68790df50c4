// The fused resampling convolutions of PGGAN's networks.py, which StyleGAN v1
// reuses: nearest 2x upsampling followed by a k x k conv, and a k x k conv
// followed by 2x2 box downsampling, each as one stride-2 convolution whose
// weight is the (k+1) x (k+1) sum of the k x k weight at the four shifts
// (0|1, 0|1) (times 1/4 when downsampling). Weights are [out, in, k, k] (the
// official [k, k, in, out] and, for the transposed conv, [k, k, out, in],
// permuted), k odd; both are linear in x and w, so their gradients (of any
// order) come from conv2d, conv_transpose2d and upfirdn2d.
#pragma once
#include "engine/tensor.h"

namespace gf {

// w [O, I, k, k] -> [O, I, k+1, k+1]: out[i, j] = w[i, j] + w[i-1, j] +
// w[i, j-1] + w[i-1, j-1], zero outside w (the official pad-and-add_n).
Tensor four_shift_sum(const Tensor& w);

// upscale2d then conv2d: x [N, I, H, W] -> [N, O, 2H, 2W] (upscale2d_conv2d:
// TF conv2d_transpose, stride 2, 'SAME'). A transposed conv is the adjoint of
// a correlation, so this equals conv2d(upscale2d(x), w flipped in both
// spatial dims); the official weights are trained for this form.
Tensor upscale2d_conv2d(const Tensor& x, const Tensor& w);

// conv2d then downscale2d: x [N, I, H, W] (H, W even) -> [N, O, H/2, W/2]
// (conv2d_downscale2d: TF conv2d, stride 2, 'SAME'); equals
// downscale2d(conv2d(x, w)).
Tensor conv2d_downscale2d(const Tensor& x, const Tensor& w);

}  // namespace gf
