// Small blocks the families of this lineage share, each an engine op with the
// official calling convention around it.
#pragma once
#include "engine/tensor.h"

namespace gf {

// The minibatch-stddev layer (PGGAN minibatch_stddev_layer, StyleGAN2-ADA
// MinibatchStdLayer): x [N, C, H, W] -> [N, C + num_channels, H, W] over
// groups of min(group_size, N) samples; group_size 0 takes the whole
// minibatch as one group (StyleGAN2-ADA's None). PGGAN's layer is
// num_channels 1: the stddev averaged over all channels and pixels.
Tensor mbstd_layer(const Tensor& x, int group_size, int num_channels = 1);

// PGGAN's PN(x): pixel norm over the channels (dim 1) when `on`, else x.
Tensor pixel_norm_if(const Tensor& x, bool on, double eps = 1e-8);

}  // namespace gf
