// Equalized learning rate (Karras et al. 2018, "Progressive Growing of GANs",
// section 4.1), shared by every family: a weight is stored N(0, 1) (divided by
// lr_multiplier) and scaled at run time by lr_multiplier / sqrt(fan_in), so
// Adam sees every weight on the same scale. Where the He gain goes is the
// family's convention:
//  - GainOn::weight (PGGAN networks.py get_weight, StyleGAN v1): the runtime
//    scale is gain * lr_multiplier / sqrt(fan_in) and the activation has no gain
//    (sqrt(2) for lrelu layers, 1 for ToRGB and output layers, sqrt(2)/4 for
//    PGGAN's first dense layer);
//  - GainOn::activation (StyleGAN2-ADA): the runtime scale is
//    lr_multiplier / sqrt(fan_in) and bias_act applies the activation's
//    default gain (sqrt(2) for lrelu and relu, 1 otherwise).
// use_wscale false (PGGAN's -nowscale ablation) stores the weight at its
// initial scale instead and uses it as it is.
#pragma once
#include <optional>
#include <string>

#include "engine/module.h"
#include "engine/ops.h"
#include "engine/ops/bias_act.h"
#include "models/param_init.h"

namespace gf {

enum class GainOn { weight, activation };

struct EqualizedLR {
  GainOn gain_on = GainOn::activation;
  double gain = 1;  // the He gain, with GainOn::weight
  double lr_multiplier = 1;
  bool use_wscale = true;

  // Runtime scale of a weight with fan_in inputs per output.
  double weight_gain(int64_t fan_in) const;
  // What the stored N(0, 1) initial values are multiplied by.
  double init_scale(int64_t fan_in) const;
  // The bias_act spec for an activation under this convention.
  BiasActSpec activation(const std::string& act, std::optional<double> alpha = std::nullopt,
                         const char* op = "EqualizedLR") const;
};

// A dense layer y = act(x W^T * weight_gain + b * lr_multiplier): weight
// [out, in], bias [out] stored as bias_init and scaled by lr_multiplier at run
// time, as StyleGAN2-ADA's FullyConnectedLayer and StyleGAN v1's dense do
// (PGGAN's have lr_multiplier 1).
class EqualizedDense : public Module {
 public:
  struct Options {
    bool bias = true;
    std::string activation = "linear";
    std::optional<double> alpha;  // lrelu slope; unset: 0.2
    EqualizedLR eq;
    double bias_init = 0;
  };
  EqualizedDense(int in_features, int out_features, ParamInit& init, const Options& opt);
  Tensor forward(const Tensor& x) const;  // [N, in] -> [N, out]

  Tensor& weight;  // [out, in]
  Tensor* bias;    // [out], or null

  double weight_gain() const { return weight_gain_; }

 protected:
  Options opt_;
  BiasActSpec act_;
  double weight_gain_, bias_gain_;
};

// A convolution with equalized lr: weight [out, in, k, k], bias [out], then
// bias, activation (with its gain under the convention) and an optional clamp
// in one bias_act. `resample` picks the convolution:
//  - none: 'same' padding k / 2;
//  - up_fused: PGGAN's upscale2d_conv2d (nearest 2x upsampling then the conv,
//    as one stride-2 transposed conv with the four-shift-summed weight);
//  - down_fused: PGGAN's conv2d_downscale2d (the conv then 2x2 box
//    downsampling, as one stride-2 conv with the four-shift sum times 1/4).
// Subclasses with other resampling (StyleGAN2's FIR filters) call
// scaled_weight() and epilogue() around their own convolution. `trainable`
// false stores weight and bias as buffers (Freeze-D).
class EqualizedConv2d : public Module {
 public:
  enum class Resample { none, up_fused, down_fused };
  struct Options {
    bool bias = true;
    std::string activation = "linear";
    std::optional<double> alpha;
    EqualizedLR eq;
    std::optional<double> conv_clamp;
    bool trainable = true;
    Resample resample = Resample::none;
  };
  EqualizedConv2d(int in_channels, int out_channels, int kernel_size, ParamInit& init, const Options& opt);
  // x [N, in, H, W] -> [N, out, H', W'] (H' = H, 2H or H/2 by `resample`).
  // gain multiplies the activation's gain and the clamp.
  Tensor forward(const Tensor& x, double gain = 1) const;

  Tensor& weight;  // [out, in, k, k]
  Tensor* bias;    // [out], or null

 protected:
  // The weight times its runtime scale.
  Tensor scaled_weight() const;
  // Bias, activation, gain and clamp on a convolution's output.
  Tensor epilogue(const Tensor& y, double gain) const;
  // Input checks shared by every forward.
  void check_input(const Tensor& x, const char* op) const;

  Options opt_;
  BiasActSpec act_;
  double weight_gain_;
};

}  // namespace gf
