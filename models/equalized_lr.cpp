#include "models/equalized_lr.h"

#include <cmath>

#include "engine/error.h"
#include "models/fused_resample.h"

namespace gf {

double EqualizedLR::weight_gain(int64_t fan_in) const {
  if (!use_wscale) return lr_multiplier;
  double g = lr_multiplier;
  if (gain_on == GainOn::weight) g *= gain;
  return g / std::sqrt(static_cast<double>(fan_in));
}

double EqualizedLR::init_scale(int64_t fan_in) const {
  if (use_wscale) return 1 / lr_multiplier;
  const double he_std = (gain_on == GainOn::weight ? gain : 1) / std::sqrt(static_cast<double>(fan_in));
  return he_std / lr_multiplier;
}

BiasActSpec EqualizedLR::activation(const std::string& act, std::optional<double> alpha, const char* op) const {
  // Under GainOn::weight the activation is applied as it is (gain 1).
  const std::optional<double> g = gain_on == GainOn::weight ? std::optional<double>(1.0) : std::nullopt;
  return bias_act_spec(act, alpha, g, std::nullopt, op);
}

namespace {

// N(0, 1) values times the convention's initial scale. With use_wscale the
// stored weight is randn / lr_multiplier, written as that division (the
// StyleGAN2 layers always initialized this way).
Tensor init_weight(ParamInit& init, const Shape& s, const EqualizedLR& eq, int64_t fan_in) {
  if (eq.use_wscale) return init.randn(s) / eq.lr_multiplier;
  return init.randn(s) * eq.init_scale(fan_in);
}

}  // namespace

EqualizedDense::EqualizedDense(int in_features, int out_features, ParamInit& init, const Options& opt)
    : weight(param("weight", init_weight(init, {out_features, in_features}, opt.eq, in_features))),
      bias(opt.bias ? &param("bias", full({out_features}, opt.bias_init, init.dtype)) : nullptr),
      opt_(opt),
      act_(opt.eq.activation(opt.activation, opt.alpha, "EqualizedDense")),
      weight_gain_(opt.eq.weight_gain(in_features)),
      bias_gain_(opt.eq.lr_multiplier) {}

Tensor EqualizedDense::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 2 && x.size(1) == weight.size(1), "EqualizedDense",
           "input must be [N, " << weight.size(1) << "], got " << shape_str(x.shape()));
  Tensor b;
  if (bias) b = bias_gain_ != 1 ? *bias * bias_gain_ : *bias;
  return bias_act(matmul(x, weight_gain_ != 1 ? weight * weight_gain_ : weight, false, true), b, 1, act_);
}

EqualizedConv2d::EqualizedConv2d(int in_channels, int out_channels, int kernel_size, ParamInit& init,
                                 const Options& opt)
    : weight([&]() -> Tensor& {
        const int64_t fan_in = static_cast<int64_t>(in_channels) * kernel_size * kernel_size;
        Tensor w = init_weight(init, {out_channels, in_channels, kernel_size, kernel_size}, opt.eq, fan_in);
        return opt.trainable ? param("weight", w) : buffer("weight", w);
      }()),
      bias(nullptr),
      opt_(opt),
      act_(opt.eq.activation(opt.activation, opt.alpha, "EqualizedConv2d")),
      weight_gain_(opt.eq.weight_gain(static_cast<int64_t>(in_channels) * kernel_size * kernel_size)) {
  GF_CHECK(opt.resample == Resample::none || kernel_size % 2 == 1, "EqualizedConv2d",
           "fused resampling needs an odd kernel, got " << kernel_size);
  if (opt.bias) {
    Tensor b = zeros({out_channels}, init.dtype);
    bias = opt.trainable ? &param("bias", b) : &buffer("bias", b);
  }
}

Tensor EqualizedConv2d::scaled_weight() const { return weight_gain_ != 1 ? weight * weight_gain_ : weight; }

Tensor EqualizedConv2d::epilogue(const Tensor& y, double gain) const {
  BiasActSpec spec = act_;
  spec.gain *= gain;
  if (opt_.conv_clamp) spec.clamp = *opt_.conv_clamp * gain;
  return bias_act(y, bias ? *bias : Tensor(), 1, spec);
}

void EqualizedConv2d::check_input(const Tensor& x, const char* op) const {
  GF_CHECK(x.dim() == 4 && x.size(1) == weight.size(1), op,
           "input must be [N, " << weight.size(1) << ", H, W], got " << shape_str(x.shape()));
}

Tensor EqualizedConv2d::forward(const Tensor& x, double gain) const {
  check_input(x, "EqualizedConv2d");
  const Tensor w = scaled_weight();
  Tensor y;
  switch (opt_.resample) {
    case Resample::none: {
      Conv2dParams p;
      p.pad_h = p.pad_w = static_cast<int>(weight.size(2)) / 2;
      y = conv2d(x, w, p);
      break;
    }
    case Resample::up_fused: y = upscale2d_conv2d(x, w); break;
    case Resample::down_fused: y = conv2d_downscale2d(x, w); break;
  }
  return epilogue(y, gain);
}

}  // namespace gf
