// The layers of StyleGAN2-ADA (training/networks.py) over the shared
// equalized-lr layers (models/equalized_lr.h) with the gain on the
// activation. Names of parameters and buffers are the official ones.
#pragma once
#include <optional>
#include <string>

#include "engine/module.h"
#include "engine/ops.h"
#include "engine/ops/bias_act.h"
#include "models/equalized_lr.h"
#include "models/param_init.h"

namespace gf::stylegan2 {

using gf::ParamInit;

// The resampling filter every StyleGAN2 layer uses: setup_filter([1, 3, 3, 1]).
Tensor default_resample_filter(DType t);

// The official conv2d_resample for the layouts Conv2dLayer uses (one group;
// correlation without resampling, true convolution when upsampling):
// conv2d with `padding`, preceded by FIR downsampling (down = 2) or followed
// by FIR upsampling (up = 2) with the 2-D filter f.
Tensor conv2d_resample(const Tensor& x, const Tensor& w, const Tensor& f, int up, int down, int padding);

// y = act(x W^T * lr_multiplier / sqrt(in) + b * lr_multiplier): the shared
// EqualizedDense with the gain on the activation. The weight is stored divided
// by lr_multiplier, so its effective initial scale is 1/sqrt(in) whatever the
// multiplier, while its updates shrink by it.
class FullyConnectedLayer : public EqualizedDense {
 public:
  FullyConnectedLayer(int in_features, int out_features, ParamInit& init, bool has_bias = true,
                      const std::string& activation = "linear", double lr_multiplier = 1, double bias_init = 0);
};

// Conv2d with equalized lr (the shared EqualizedConv2d, gain on the
// activation), optional FIR up/downsampling by 2, bias, activation (with its
// default gain) and conv_clamp. `trainable` false stores weight and bias as
// buffers (Freeze-D).
class Conv2dLayer : public EqualizedConv2d {
 public:
  struct Options {
    bool bias = true;
    std::string activation = "linear";
    int up = 1;
    int down = 1;
    std::optional<double> conv_clamp;
    bool trainable = true;
  };
  Conv2dLayer(int in_channels, int out_channels, int kernel_size, ParamInit& init, const Options& opt);
  // gain scales the activation's gain and the clamp (the resnet blocks pass sqrt(0.5)).
  Tensor forward(const Tensor& x, double gain = 1) const;

  Tensor& resample_filter;  // buffer [4, 4]

 private:
  int up_, down_, padding_;
};

}  // namespace gf::stylegan2
