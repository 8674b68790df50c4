// The StyleGAN2-ADA discriminator, 'resnet' architecture (or 'orig', train.py's
// --cfg cifar: the same blocks without their residual skip path): FromRGB at
// the top resolution, blocks halving the resolution down to 8x8, and an
// epilogue at 4x4 (minibatch stddev, conv, FC, output FC; with labels, a
// projection onto their mapped embedding).
#pragma once
#include <vector>

#include "models/stylegan2/config.h"
#include "models/stylegan2/layers.h"
#include "models/stylegan2/mapping.h"

namespace gf::stylegan2 {

class DiscriminatorBlock : public Module {
  // Declared first: the layer initializers below count layers through it.
  int num_layers_ = 0;

 public:
  // in_channels 0: the first block, which reads the image through FromRGB.
  // Layers with index < freeze_layers (counted from first_layer_idx) are frozen.
  DiscriminatorBlock(DiscriminatorArchitecture architecture, int in_channels, int tmp_channels, int out_channels,
                     int img_channels, int first_layer_idx, int freeze_layers, std::optional<double> conv_clamp,
                     ParamInit& init);
  // x [N, tmp, res, res] (undefined for the first block), img [N, C, res, res]
  // (read by the first block only) -> [N, out, res/2, res/2].
  Tensor forward(const Tensor& x, const Tensor& img) const;

  int num_layers() const { return num_layers_; }

  Tensor& resample_filter;  // buffer [4, 4]
  Conv2dLayer* fromrgb;     // 1x1, first block only
  Conv2dLayer& conv0;       // 3x3
  Conv2dLayer& conv1;       // 3x3, down 2
  Conv2dLayer* skip;        // 1x1, down 2, no bias; 'resnet' only

 private:
  bool next_trainable(int first_layer_idx, int freeze_layers) { return first_layer_idx + num_layers_++ >= freeze_layers; }
};

class DiscriminatorEpilogue : public Module {
 public:
  // cmap_dim 0: one logit; otherwise the output is projected onto cmap.
  DiscriminatorEpilogue(int in_channels, int cmap_dim, int resolution, int mbstd_group_size, int mbstd_num_channels,
                        std::optional<double> conv_clamp, ParamInit& init);
  // x [N, in, 4, 4], cmap [N, cmap_dim] (undefined when cmap_dim is 0) -> [N, 1].
  Tensor forward(const Tensor& x, const Tensor& cmap) const;

  Conv2dLayer& conv;         // (in + mbstd channels) -> in, 3x3
  FullyConnectedLayer& fc;   // in * res^2 -> in
  FullyConnectedLayer& out;  // in -> 1 or cmap_dim

 private:
  int in_channels_, cmap_dim_, resolution_, mbstd_group_size_, mbstd_num_channels_;
};

class Discriminator : public Module {
 public:
  Discriminator(const DiscriminatorConfig& cfg, uint64_t seed, DType dtype = DType::f32);
  // img [N, C, res, res], c [N, c_dim] (undefined when c_dim is 0) -> logits [N, 1].
  Tensor forward(const Tensor& img, const Tensor& c) const;

  const DiscriminatorConfig& config() const { return cfg_; }
  int cmap_dim() const { return cmap_dim_; }

  std::vector<DiscriminatorBlock*> blocks;  // b<img_resolution>, ..., b8
  MappingNetwork* mapping;                  // label embedding, when c_dim > 0
  DiscriminatorEpilogue* b4;

 private:
  Discriminator(const DiscriminatorConfig& cfg, ParamInit&& init);
  DiscriminatorConfig cfg_;
  int cmap_dim_ = 0;
};

}  // namespace gf::stylegan2
