#include "models/pggan/networks.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops/pixel_norm.h"
#include "engine/ops/scale2d.h"
#include "models/blocks.h"

namespace gf::pggan {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;

EqualizedLR weight_gain(double gain, bool use_wscale) {
  EqualizedLR eq;
  eq.gain_on = GainOn::weight;
  eq.gain = gain;
  eq.use_wscale = use_wscale;
  return eq;
}

EqualizedConv2d::Options conv_opts(double gain, bool use_wscale, const std::string& act,
                                   EqualizedConv2d::Resample resample = EqualizedConv2d::Resample::none) {
  EqualizedConv2d::Options o;
  o.activation = act;
  o.eq = weight_gain(gain, use_wscale);
  o.resample = resample;
  return o;
}

std::string res_name(int r) { return std::to_string(1 << r) + "x" + std::to_string(1 << r); }

float as_f32(double v) { return static_cast<float>(v); }

}  // namespace

int top_level(int res_log2, double lod) {
  GF_CHECK(std::isfinite(lod), "pggan", "lod must be finite, got " << lod);
  const double top = std::ceil(res_log2 - lod);
  return top <= 2 ? 2 : top >= res_log2 ? res_log2 : static_cast<int>(top);
}

Tensor scores(const Tensor& d_out) { return slice(d_out, 1, 0, 1); }
Tensor label_logits(const Tensor& d_out) { return slice(d_out, 1, 1, d_out.size(1)); }

// ---- G ----

Dense4x4::Dense4x4(int in_features, int channels, ParamInit& init, const EqualizedLR& eq, const BiasActSpec& act)
    : weight(param("weight", eq.use_wscale ? init.randn({16 * channels, in_features})
                                           : init.randn({16 * channels, in_features}) * eq.init_scale(in_features))),
      bias(param("bias", zeros({channels}, init.dtype))),
      channels_(channels),
      weight_gain_(eq.weight_gain(in_features)),
      act_(act) {}

Tensor Dense4x4::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 2 && x.size(1) == weight.size(1), "4x4/Dense",
           "input must be [N, " << weight.size(1) << "], got " << shape_str(x.shape()));
  const Tensor y = matmul(x, weight_gain_ != 1 ? weight * weight_gain_ : weight, false, true);
  return bias_act(y.reshape({x.size(0), channels_, 4, 4}), bias, 1, act_);
}

Generator::Generator(const GeneratorConfig& cfg, uint64_t seed, DType dtype) : Generator(cfg, ParamInit(seed, dtype)) {}

Generator::Generator(const GeneratorConfig& cfg, ParamInit&& init)
    : lod_var(buffer("lod", Tensor::scalar(0.0, init.dtype))), cfg_(cfg) {
  const char* op = "pggan::Generator";
  set_name_separator("/");
  res_log2_ = pggan::resolution_log2(cfg.resolution, op);
  GF_CHECK(cfg.num_channels >= 1 && cfg.label_size >= 0 && cfg.latent_size >= 0 && cfg.fmap_base >= 1 &&
               cfg.fmap_max >= 1 && cfg.pixelnorm_epsilon >= 0,
           op, "bad config " << io::json_text(to_json(cfg)));
  auto ch = [&](int stage) {
    const int c = nf(stage, cfg.fmap_base, cfg.fmap_decay, cfg.fmap_max);
    GF_CHECK(c >= 1, op, "fmap_base " << cfg.fmap_base << " gives no feature maps at stage " << stage);
    return c;
  };
  latent_size_ = cfg.latent_size > 0 ? cfg.latent_size : ch(0);
  const std::string act = cfg.use_leakyrelu ? "lrelu" : "relu";
  const BiasActSpec act_spec = weight_gain(kSqrt2, cfg.use_wscale).activation(act, std::nullopt, op);
  using R = EqualizedConv2d::Resample;
  for (int r = 2; r <= res_log2_; ++r) {
    Level lv;
    const std::string n = res_name(r);
    if (r == 2) {
      // The official gain sqrt(2)/4 matches the original Theano code: 1/64 at latent 512.
      dense_ = &child(n + "/Dense", std::make_unique<Dense4x4>(latent_size_ + cfg.label_size, ch(1), init,
                                                               weight_gain(kSqrt2 / 4, cfg.use_wscale), act_spec));
      lv.conv0 = &child(n + "/Conv", std::make_unique<EqualizedConv2d>(ch(1), ch(1), 3, init,
                                                                        conv_opts(kSqrt2, cfg.use_wscale, act)));
    } else {
      lv.conv0 = &child(n + (cfg.fused_scale ? "/Conv0_up" : "/Conv0"),
                        std::make_unique<EqualizedConv2d>(
                            ch(r - 2), ch(r - 1), 3, init,
                            conv_opts(kSqrt2, cfg.use_wscale, act, cfg.fused_scale ? R::up_fused : R::none)));
      lv.conv1 = &child(n + "/Conv1", std::make_unique<EqualizedConv2d>(ch(r - 1), ch(r - 1), 3, init,
                                                                         conv_opts(kSqrt2, cfg.use_wscale, act)));
    }
    lv.torgb = &child("ToRGB_lod" + std::to_string(res_log2_ - r),
                      std::make_unique<EqualizedConv2d>(ch(r - 1), cfg.num_channels, 1, init,
                                                        conv_opts(1, cfg.use_wscale, "linear")));
    levels_.push_back(lv);
  }
}

double Generator::lod() const { return lod_var.item(); }
void Generator::set_lod(double lod) {
  NoGradGuard ng;
  lod_var.copy_(Tensor::scalar(as_f32(lod), lod_var.dtype(), lod_var.device()));
}

Tensor Generator::block(int r, const Tensor& x) const {
  const Level& lv = levels_[static_cast<size_t>(r - 2)];
  const bool pn = cfg_.use_pixelnorm;
  const double eps = cfg_.pixelnorm_epsilon;
  if (r == 2) return pixel_norm_if(lv.conv0->forward(pixel_norm_if(dense_->forward(x), pn, eps)), pn, eps);
  const Tensor y = cfg_.fused_scale ? lv.conv0->forward(x) : lv.conv0->forward(upscale2d(x, 2));
  return pixel_norm_if(lv.conv1->forward(pixel_norm_if(y, pn, eps)), pn, eps);
}

Tensor Generator::forward(const Tensor& latents, const Tensor& labels, double lod) const {
  const char* op = "pggan::Generator";
  GF_CHECK(latents.defined() && latents.dim() == 2 && latents.size(1) == latent_size_, op,
           "latents must be [N, " << latent_size_ << "], got "
                                  << (latents.defined() ? shape_str(latents.shape()) : "none"));
  Tensor x = latents;
  if (cfg_.label_size > 0) {
    GF_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == latents.size(0) &&
                 labels.size(1) == cfg_.label_size,
             op, "labels must be [" << latents.size(0) << ", " << cfg_.label_size << "], got "
                                    << (labels.defined() ? shape_str(labels.shape()) : "none"));
    x = concat({x, labels}, 1);
  }
  if (cfg_.normalize_latents) x = pixel_norm(x, 1, cfg_.pixelnorm_epsilon);
  const int top = top_level(res_log2_, lod);
  const int lod_top = res_log2_ - top;  // the top level's own lod
  Tensor prev;
  for (int r = 2; r <= top; ++r) {
    prev = x;
    x = block(r, x);
  }
  Tensor img = levels_[static_cast<size_t>(top - 2)].torgb->forward(x);
  if (top > 2 && lod > lod_top) {
    // Fading in level `top`: towards the previous level's image, upscaled.
    const Tensor low = upscale2d(levels_[static_cast<size_t>(top - 3)].torgb->forward(prev), 2);
    img = lerp(img, low, lod - lod_top);
  }
  return upscale2d(img, 1 << lod_top);
}

// ---- D ----

Discriminator::Discriminator(const DiscriminatorConfig& cfg, uint64_t seed, DType dtype)
    : Discriminator(cfg, ParamInit(seed, dtype)) {}

Discriminator::Discriminator(const DiscriminatorConfig& cfg, ParamInit&& init)
    : lod_var(buffer("lod", Tensor::scalar(0.0, init.dtype))), cfg_(cfg) {
  const char* op = "pggan::Discriminator";
  set_name_separator("/");
  res_log2_ = pggan::resolution_log2(cfg.resolution, op);
  GF_CHECK(cfg.num_channels >= 1 && cfg.label_size >= 0 && cfg.fmap_base >= 1 && cfg.fmap_max >= 1, op,
           "bad config " << io::json_text(to_json(cfg)));
  auto ch = [&](int stage) {
    const int c = nf(stage, cfg.fmap_base, cfg.fmap_decay, cfg.fmap_max);
    GF_CHECK(c >= 1, op, "fmap_base " << cfg.fmap_base << " gives no feature maps at stage " << stage);
    return c;
  };
  using R = EqualizedConv2d::Resample;
  levels_.resize(static_cast<size_t>(res_log2_ - 1));
  auto fromrgb = [&](int r) {
    levels_[static_cast<size_t>(r - 2)].fromrgb = &child(
        "FromRGB_lod" + std::to_string(res_log2_ - r),
        std::make_unique<EqualizedConv2d>(cfg.num_channels, ch(r - 1), 1, init, conv_opts(kSqrt2, cfg.use_wscale, "lrelu")));
  };
  // In the official variable order: FromRGB of the top level, then each block and the next level's FromRGB.
  fromrgb(res_log2_);
  for (int r = res_log2_; r >= 3; --r) {
    Level& lv = levels_[static_cast<size_t>(r - 2)];
    const std::string n = res_name(r);
    lv.conv0 = &child(n + "/Conv0", std::make_unique<EqualizedConv2d>(ch(r - 1), ch(r - 1), 3, init,
                                                                       conv_opts(kSqrt2, cfg.use_wscale, "lrelu")));
    lv.conv1 = &child(n + (cfg.fused_scale ? "/Conv1_down" : "/Conv1"),
                      std::make_unique<EqualizedConv2d>(
                          ch(r - 1), ch(r - 2), 3, init,
                          conv_opts(kSqrt2, cfg.use_wscale, "lrelu", cfg.fused_scale ? R::down_fused : R::none)));
    fromrgb(r - 1);
  }
  const int mbstd = cfg.mbstd_group_size > 1 ? 1 : 0;
  levels_[0].conv0 = &child("4x4/Conv", std::make_unique<EqualizedConv2d>(ch(1) + mbstd, ch(1), 3, init,
                                                                          conv_opts(kSqrt2, cfg.use_wscale, "lrelu")));
  EqualizedDense::Options d0;
  d0.activation = "lrelu";
  d0.eq = weight_gain(kSqrt2, cfg.use_wscale);
  dense0_ = &child("4x4/Dense0", std::make_unique<EqualizedDense>(ch(1) * 16, ch(0), init, d0));
  EqualizedDense::Options d1;
  d1.eq = weight_gain(1, cfg.use_wscale);
  dense1_ = &child("4x4/Dense1", std::make_unique<EqualizedDense>(ch(0), 1 + cfg.label_size, init, d1));
}

double Discriminator::lod() const { return lod_var.item(); }
void Discriminator::set_lod(double lod) {
  NoGradGuard ng;
  lod_var.copy_(Tensor::scalar(as_f32(lod), lod_var.dtype(), lod_var.device()));
}

Tensor Discriminator::block(int r, const Tensor& x) const {
  const Level& lv = levels_[static_cast<size_t>(r - 2)];
  if (r >= 3) {
    const Tensor y = lv.conv1->forward(lv.conv0->forward(x));
    return cfg_.fused_scale ? y : downscale2d(y, 2);
  }
  Tensor y = cfg_.mbstd_group_size > 1 ? mbstd_layer(x, cfg_.mbstd_group_size, 1) : x;
  y = lv.conv0->forward(y);
  return dense1_->forward(dense0_->forward(y.reshape({y.size(0), -1})));
}

Tensor Discriminator::forward(const Tensor& images, double lod) const {
  const int res = cfg_.resolution;
  GF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == cfg_.num_channels && images.size(2) == res &&
               images.size(3) == res,
           "pggan::Discriminator",
           "images must be [N, " << cfg_.num_channels << ", " << res << ", " << res << "], got "
                                 << (images.defined() ? shape_str(images.shape()) : "none"));
  const int top = top_level(res_log2_, lod);
  const int lod_top = res_log2_ - top;
  Tensor x = block(top, levels_[static_cast<size_t>(top - 2)].fromrgb->forward(downscale2d(images, 1 << lod_top)));
  if (top > 2 && lod > lod_top) {
    const Tensor low = levels_[static_cast<size_t>(top - 3)].fromrgb->forward(downscale2d(images, 2 << lod_top));
    x = lerp(x, low, lod - lod_top);
  }
  for (int r = top - 1; r >= 2; --r) x = block(r, x);
  return x;
}

}  // namespace gf::pggan
