// The minibatch standard deviation layer of StyleGAN's discriminator, with the
// semantics of the official MinibatchStdLayer (StyleGAN2-ADA networks.py).
#pragma once
#include "engine/tensor.h"

namespace gf {

// x [N, C, H, W] -> [N, C + num_channels, H, W]. Groups of G = min(group_size, N)
// samples (N must be a multiple of G; sample n belongs to group n % (N / G));
// per group, the standard deviation (biased, eps 1e-8) of every feature,
// averaged over the C / num_channels channels and all pixels of each of the
// num_channels channel groups, appended as constant feature maps.
Tensor minibatch_stddev(const Tensor& x, int64_t group_size, int64_t num_channels = 1);

// minibatch_stddev's backward as an op of its own: dx [N, C, H, W] from the
// forward input x and the output gradient g [N, C + num_channels, H, W], one
// fused kernel. Differentiable again in x and g (R1 differentiates through D's
// epilogue).
Tensor minibatch_stddev_grad(const Tensor& x, const Tensor& g, int64_t group_size, int64_t num_channels = 1);

}  // namespace gf
