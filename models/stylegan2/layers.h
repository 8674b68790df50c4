// The equalized-learning-rate layers of StyleGAN2-ADA (training/networks.py):
// weights are stored N(0, 1) and scaled at run time by 1/sqrt(fan_in), so
// Adam sees every weight on the same scale. Names of parameters and buffers
// are the official ones.
#pragma once
#include <optional>
#include <string>

#include "engine/module.h"
#include "engine/ops.h"
#include "engine/ops/bias_act.h"
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

// y = act(x W^T * lr_multiplier / sqrt(in) + b * lr_multiplier). The weight
// is stored divided by lr_multiplier, so its effective initial scale is
// 1/sqrt(in) whatever the multiplier, while its updates shrink by it.
class FullyConnectedLayer : public Module {
 public:
  FullyConnectedLayer(int in_features, int out_features, ParamInit& init, bool has_bias = true,
                      const std::string& activation = "linear", double lr_multiplier = 1, double bias_init = 0);
  Tensor forward(const Tensor& x) const;  // [N, in] -> [N, out]

  Tensor& weight;  // [out, in]
  Tensor* bias;    // [out], or null

 private:
  BiasActSpec act_;
  double weight_gain_, bias_gain_;
};

// Conv2d with equalized lr, optional FIR up/downsampling by 2, bias, activation
// (with its default gain) and conv_clamp. `trainable` false stores weight and
// bias as buffers (Freeze-D).
class Conv2dLayer : public Module {
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
  Tensor& weight;           // [out, in, k, k]
  Tensor* bias;             // [out], or null

 private:
  Options opt_;
  BiasActSpec act_;
  int padding_;
  double weight_gain_;
};

}  // namespace gf::stylegan2
