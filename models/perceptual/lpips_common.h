// What the LPIPS networks (Zhang et al. 2018, v0.1) share around their
// backbones: the input scaling and the unit normalization of the taps. Used by
// LPIPS-AlexNet (lpips.h) and the LPIPS part of VGG16 (vgg16.h).
#pragma once
#include "engine/ops.h"

namespace gf::perceptual {

// The ScalingLayer: x [N, 3, H, W] in [-1, 1] ->
// (x - [-.030, -.088, -.188]) / [.458, .448, .450] per channel (ImageNet's
// mean and std mapped to [-1, 1], rounded as LPIPS has them).
Tensor lpips_scaling(const Tensor& x);

// x [N, C, H, W] -> x / (sqrt(sum_c x^2) + 1e-10), the eps added to the norm
// (normalize_tensor). Differentiable; where every channel of a pixel is 0
// (all ReLUs off) the gradient is torch's once a ReLU before it masks it
// (see the .cpp).
Tensor normalize_activation(const Tensor& x);

}  // namespace gf::perceptual
