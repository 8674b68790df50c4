#include "models/stylegan/networks.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops/adain.h"
#include "engine/ops/pixel_norm.h"
#include "engine/ops/scale2d.h"
#include "engine/ops/upfirdn2d.h"
#include "models/blocks.h"
#include "models/fused_resample.h"
#include "models/pggan/config.h"
#include "models/pggan/networks.h"

namespace gf::stylegan {
namespace {

constexpr double kSqrt2 = 1.4142135623730951;

EqualizedLR weight_gain(double gain, bool use_wscale, double lrmul = 1) {
  EqualizedLR eq;
  eq.gain_on = GainOn::weight;
  eq.gain = gain;
  eq.lr_multiplier = lrmul;
  eq.use_wscale = use_wscale;
  return eq;
}

std::string res_name(int r) { return std::to_string(1 << r) + "x" + std::to_string(1 << r); }

Tensor make_blur(const std::vector<double>& taps, DType t) {
  return taps.empty() ? Tensor() : setup_filter(taps, false, t);
}

// The official blur2d: a depthwise correlation with the normalized filter, 'SAME' padding.
Tensor blur(const Tensor& x, const Tensor& f) {
  if (!f.defined()) return x;
  return filter2d(x, f.device() == x.device() ? f : f.to(x.device()), 0, /*flip_filter=*/true);
}

// A conv whose bias and activation may come after resampling: Conv0_up (no
// bias of its own; G's epilogue follows) and Conv1_down (bias and activation
// after the downscale, as the official conv2d_downscale2d).
class ResampleConv : public EqualizedConv2d {
 public:
  using EqualizedConv2d::EqualizedConv2d;
  // x [N, I, H, W] -> [N, O, 2H, 2W]: nearest 2x upsampling then the conv; no epilogue.
  Tensor up(const Tensor& x, bool fused) const {
    check_input(x, "stylegan Conv0_up");
    const Tensor w = scaled_weight();
    return fused ? upscale2d_conv2d(x, w) : conv2d(upscale2d(x, 2), w, same());
  }
  // x [N, I, H, W] -> [N, O, H, W]: the conv; no epilogue.
  Tensor plain(const Tensor& x) const {
    check_input(x, "stylegan Conv");
    return conv2d(x, scaled_weight(), same());
  }
  // The conv then 2x2 box downsampling, then bias and activation.
  Tensor down(const Tensor& x, bool fused) const {
    check_input(x, "stylegan Conv1_down");
    const Tensor w = scaled_weight();
    return epilogue(fused ? conv2d_downscale2d(x, w) : downscale2d(conv2d(x, w, same()), 2), 1);
  }

 private:
  Conv2dParams same() const {
    Conv2dParams p;
    p.pad_h = p.pad_w = static_cast<int>(weight.size(2)) / 2;
    return p;
  }
};

EqualizedConv2d::Options conv_opts(double gain, bool use_wscale, const std::string& act, bool bias = true) {
  EqualizedConv2d::Options o;
  o.activation = act;
  o.bias = bias;
  o.eq = weight_gain(gain, use_wscale);
  return o;
}

Tensor layer_w(const Tensor& ws, int idx) {
  return slice(ws, 1, idx, idx + 1).reshape({ws.size(0), ws.size(2)});
}

void set_f32(Tensor& var, double v) {
  NoGradGuard ng;
  var.copy_(Tensor::scalar(static_cast<float>(v), var.dtype(), var.device()));
}

}  // namespace

// ---- G_mapping ----

Mapping::Mapping(const GeneratorConfig& cfg, ParamInit& init) : cfg_(cfg) {
  set_name_separator("/");
  const char* op = "stylegan::Mapping";
  GF_CHECK(cfg.latent_size >= 1 && cfg.label_size >= 0 && cfg.dlatent_size >= 1 && cfg.mapping_layers >= 1 &&
               cfg.mapping_fmaps >= 1 && cfg.mapping_lrmul > 0,
           op, "bad config " << io::json_text(to_json(cfg)));
  if (cfg.label_size > 0) label_concat_ = &param("LabelConcat/weight", init.randn({cfg.latent_size, cfg.label_size}));
  int in = cfg.latent_size + (cfg.label_size > 0 ? cfg.latent_size : 0);
  for (int i = 0; i < cfg.mapping_layers; ++i) {
    const int out = i == cfg.mapping_layers - 1 ? cfg.dlatent_size : cfg.mapping_fmaps;
    EqualizedDense::Options o;
    o.activation = cfg.mapping_nonlinearity;
    o.eq = weight_gain(kSqrt2, cfg.use_wscale, cfg.mapping_lrmul);
    dense_.push_back(&child("Dense" + std::to_string(i), std::make_unique<EqualizedDense>(in, out, init, o)));
    in = out;
  }
}

Tensor Mapping::forward(const Tensor& z, const Tensor& labels) const {
  const char* op = "stylegan::Mapping";
  GF_CHECK(z.defined() && z.dim() == 2 && z.size(1) == cfg_.latent_size, op,
           "latents must be [N, " << cfg_.latent_size << "], got " << (z.defined() ? shape_str(z.shape()) : "none"));
  Tensor x = z;
  if (label_concat_) {
    GF_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == z.size(0) &&
                 labels.size(1) == cfg_.label_size,
             op, "labels must be [" << z.size(0) << ", " << cfg_.label_size << "], got "
                                    << (labels.defined() ? shape_str(labels.shape()) : "none"));
    x = concat({x, matmul(labels, *label_concat_, false, true)}, 1);
  }
  if (cfg_.normalize_latents) x = pixel_norm(x, 1, 1e-8);
  for (const EqualizedDense* d : dense_) x = d->forward(x);
  return x;
}

// ---- layer epilogue ----

Epilogue::Epilogue(int channels, const GeneratorConfig& cfg, ParamInit& init)
    : cfg_(cfg), bias_(param("bias", zeros({channels}, init.dtype))) {
  set_name_separator("/");
  if (cfg.use_noise) noise_ = &child("Noise", std::make_unique<NoiseStrength>(channels, init.dtype));
  EqualizedDense::Options o;
  o.eq = weight_gain(1, cfg.use_wscale);
  style_ = &child("StyleMod", std::make_unique<EqualizedDense>(cfg.dlatent_size, 2 * channels, init, o));
}

Tensor Epilogue::forward(const Tensor& x, const Tensor& w, const Tensor& noise) const {
  const BiasActSpec act = weight_gain(kSqrt2, cfg_.use_wscale).activation(cfg_.nonlinearity, std::nullopt, "stylegan");
  Tensor y = noise_ && noise.defined() ? noise_bias_act(x, noise, noise_->weight, bias_, act)
                                       : bias_act(x, bias_, 1, act);
  if (cfg_.use_pixel_norm) y = pixel_norm(y, 1, 1e-8);
  const int64_t c = x.size(1);
  const Tensor style = style_->forward(w);  // [N, 2C]: scale - 1, then bias
  const Tensor ys = slice(style, 1, 0, c) + 1.0, yb = slice(style, 1, c, 2 * c);
  if (cfg_.use_instance_norm) return adain(y, ys, yb);
  const Shape s4{x.size(0), c, 1, 1};
  return add(mul(y, ys.reshape(s4)), yb.reshape(s4));
}

// ---- G_synthesis ----

Synthesis::Synthesis(const GeneratorConfig& cfg, ParamInit& init)
    : lod_var(buffer("lod", Tensor::scalar(0.0, init.dtype))), cfg_(cfg) {
  set_name_separator("/");
  const char* op = "stylegan::Synthesis";
  res_log2_ = pggan::resolution_log2(cfg.resolution, op);
  num_layers_ = 2 * res_log2_ - 2;
  GF_CHECK(cfg.num_channels >= 1 && cfg.fmap_base >= 1 && cfg.fmap_max >= 1, op, "bad config " << io::json_text(to_json(cfg)));
  auto ch = [&](int stage) {
    const int c = nf(stage, cfg.fmap_base, cfg.fmap_decay, cfg.fmap_max);
    GF_CHECK(c >= 1, op, "fmap_base " << cfg.fmap_base << " gives no feature maps at stage " << stage);
    return c;
  };
  blur_ = make_blur(cfg.blur_filter, init.dtype);
  // The official creation order: noise inputs, then the layers level by level, each level's ToRGB last.
  layers_.resize(static_cast<size_t>(num_layers_));
  for (int i = 0; i < num_layers_; ++i) {
    const int r = i / 2 + 2;
    if (cfg.use_noise) layers_[i].noise = &buffer("noise" + std::to_string(i), init.randn({1, 1, 1 << r, 1 << r}));
  }
  for (int r = 2; r <= res_log2_; ++r) {
    const std::string n = res_name(r);
    const int c = ch(r - 1);
    for (int k = 0; k < 2; ++k) {
      const int idx = 2 * r - 4 + k;
      Layer& lv = layers_[static_cast<size_t>(idx)];
      std::string name;
      if (idx == 0) {
        name = n + "/Const";
        const_ = &param(name + "/const", ones({1, c, 4, 4}, init.dtype));
      } else {
        const bool up = r > 2 && k == 0;
        name = n + (r == 2 ? "/Conv" : up ? "/Conv0_up" : "/Conv1");
        const int in = up ? ch(r - 2) : c;
        auto conv = std::make_unique<ResampleConv>(in, c, 3, init, conv_opts(kSqrt2, cfg.use_wscale, "linear", false));
        lv.conv = &child(name, std::move(conv));
        lv.upsample = up;
        lv.fused_up = up && fused_at(cfg.fused_scale, 1 << r);
      }
      lv.epilogue = &child(name, std::make_unique<Epilogue>(c, cfg, init));
    }
    torgb_.push_back(&child("ToRGB_lod" + std::to_string(res_log2_ - r),
                            std::make_unique<EqualizedConv2d>(c, cfg.num_channels, 1, init,
                                                              conv_opts(1, cfg.use_wscale, "linear"))));
  }
}

Tensor Synthesis::layer(int idx, const Tensor& x, const Tensor& ws, const SynthesisOptions& opt) const {
  const Layer& lv = layers_[static_cast<size_t>(idx)];
  Tensor y;
  if (idx == 0) {
    y = expand(*const_, {ws.size(0), const_->size(1), 4, 4});
  } else {
    const auto* conv = static_cast<const ResampleConv*>(lv.conv);
    y = lv.upsample ? blur(conv->up(x, lv.fused_up), blur_) : conv->plain(x);
  }
  Tensor noise;
  if (lv.noise && opt.noise_mode == NoiseMode::random && opt.noise_source) {
    noise = opt.noise_source("noise" + std::to_string(idx), {y.size(0), 1, y.size(2), y.size(3)});
  } else if (lv.noise) {
    GF_CHECK(opt.noise_mode != NoiseMode::random || opt.noise_gen, "stylegan::Synthesis",
             "random noise needs a noise generator");
    noise = make_noise(y, opt.noise_mode, opt.noise_gen, *lv.noise);
  }
  return lv.epilogue->forward(y, layer_w(ws, idx), noise);
}

Tensor Synthesis::forward(const Tensor& ws, double lod, const SynthesisOptions& opt) const {
  GF_CHECK(ws.defined() && ws.dim() == 3 && ws.size(1) == num_layers_ && ws.size(2) == cfg_.dlatent_size,
           "stylegan::Synthesis",
           "dlatents must be [N, " << num_layers_ << ", " << cfg_.dlatent_size << "], got "
                                   << (ws.defined() ? shape_str(ws.shape()) : "none"));
  const int top = pggan::top_level(res_log2_, lod);
  const int lod_top = res_log2_ - top;
  Tensor x = layer(1, layer(0, Tensor(), ws, opt), ws, opt);
  Tensor prev = x;
  for (int r = 3; r <= top; ++r) {
    prev = x;
    x = layer(2 * r - 3, layer(2 * r - 4, x, ws, opt), ws, opt);
  }
  Tensor img = torgb_[static_cast<size_t>(top - 2)]->forward(x);
  if (top > 2 && lod > lod_top) {
    const Tensor low = upscale2d(torgb_[static_cast<size_t>(top - 3)]->forward(prev), 2);
    img = lerp(img, low, lod - lod_top);
  }
  return upscale2d(img, 1 << lod_top);
}

// ---- G_style ----

Generator::Generator(const GeneratorConfig& cfg, uint64_t seed, DType dtype) : Generator(cfg, ParamInit(seed, dtype)) {}

Generator::Generator(const GeneratorConfig& cfg, ParamInit&& init)
    : lod_var(buffer("lod", Tensor::scalar(0.0, init.dtype))),
      dlatent_avg(buffer("dlatent_avg", zeros({cfg.dlatent_size}, init.dtype))),
      cfg_(cfg) {
  set_name_separator("/");
  synthesis_ = &child("G_synthesis", std::make_unique<Synthesis>(cfg, init));
  mapping_ = &child("G_mapping", std::make_unique<Mapping>(cfg, init));
}

Tensor Generator::mapping(const Tensor& z, const Tensor& labels) const {
  const Tensor w = mapping_->forward(z, labels);
  const int L = num_layers();
  return expand(w.reshape({w.size(0), 1, w.size(1)}), {w.size(0), L, w.size(1)});
}

Tensor Generator::truncate(const Tensor& ws, double psi, int cutoff) const {
  if (psi == 1 || cutoff <= 0) return ws;
  const int L = static_cast<int>(ws.size(1));
  std::vector<double> c(static_cast<size_t>(L));
  for (int i = 0; i < L; ++i) c[static_cast<size_t>(i)] = i < cutoff ? psi : 1.0;
  const Tensor coefs = Tensor::from_vector(c, {1, L, 1}, ws.dtype()).to(ws.device());
  const Tensor avg = dlatent_avg.reshape({1, 1, dlatent_avg.size(0)});
  return add(avg, mul(sub(ws, avg), coefs));
}

Tensor Generator::synthesis(const Tensor& ws, double lod, const SynthesisOptions& opt) const {
  return synthesis_->forward(ws, lod, opt);
}

Tensor Generator::forward(const Tensor& z, const Tensor& labels, double lod, const GenerateOptions& opt) const {
  return synthesis(truncate(mapping(z, labels), opt.truncation_psi, opt.truncation_cutoff), lod, opt.synthesis);
}

GenerateOptions Generator::default_options(const SynthesisOptions& s) const {
  GenerateOptions o;
  o.truncation_psi = cfg_.truncation_psi;
  o.truncation_cutoff = cfg_.truncation_cutoff;
  o.synthesis = s;
  return o;
}

void Generator::update_dlatent_avg(const Tensor& ws) {
  NoGradGuard ng;
  const Tensor batch_avg = mean(layer_w(ws.detach(), 0), {0});
  dlatent_avg.copy_(lerp(batch_avg, dlatent_avg, cfg_.dlatent_avg_beta));
}

double Generator::lod() const { return lod_var.item(); }
void Generator::set_lod(double lod) {
  set_f32(lod_var, lod);
  set_f32(synthesis_->lod_var, lod);
}

Tensor mix_styles(const Tensor& ws, const Tensor& ws2, int cutoff) {
  const int64_t L = ws.size(1);
  if (cutoff >= L) return ws;
  if (cutoff <= 0) return ws2;
  return concat({slice(ws, 1, 0, cutoff), slice(ws2, 1, cutoff, L)}, 1);
}

// ---- D_basic ----

Discriminator::Discriminator(const DiscriminatorConfig& cfg, uint64_t seed, DType dtype)
    : Discriminator(cfg, ParamInit(seed, dtype)) {}

Discriminator::Discriminator(const DiscriminatorConfig& cfg, ParamInit&& init)
    : lod_var(buffer("lod", Tensor::scalar(0.0, init.dtype))), cfg_(cfg) {
  const char* op = "stylegan::Discriminator";
  set_name_separator("/");
  res_log2_ = pggan::resolution_log2(cfg.resolution, op);
  GF_CHECK(cfg.num_channels >= 1 && cfg.label_size >= 0 && cfg.fmap_base >= 1 && cfg.fmap_max >= 1 &&
               (cfg.mbstd_group_size <= 1 || cfg.mbstd_num_features >= 1),
           op, "bad config " << io::json_text(to_json(cfg)));
  auto ch = [&](int stage) {
    const int c = nf(stage, cfg.fmap_base, cfg.fmap_decay, cfg.fmap_max);
    GF_CHECK(c >= 1, op, "fmap_base " << cfg.fmap_base << " gives no feature maps at stage " << stage);
    return c;
  };
  blur_ = make_blur(cfg.blur_filter, init.dtype);
  const std::string act = cfg.nonlinearity;
  levels_.resize(static_cast<size_t>(res_log2_ - 1));
  auto fromrgb = [&](int r) {
    levels_[static_cast<size_t>(r - 2)].fromrgb =
        &child("FromRGB_lod" + std::to_string(res_log2_ - r),
               std::make_unique<EqualizedConv2d>(cfg.num_channels, ch(r - 1), 1, init, conv_opts(kSqrt2, cfg.use_wscale, act)));
  };
  fromrgb(res_log2_);
  for (int r = res_log2_; r >= 3; --r) {
    Level& lv = levels_[static_cast<size_t>(r - 2)];
    const std::string n = res_name(r);
    lv.conv0 = &child(n + "/Conv0", std::make_unique<EqualizedConv2d>(ch(r - 1), ch(r - 1), 3, init,
                                                                       conv_opts(kSqrt2, cfg.use_wscale, act)));
    lv.conv1 = &child(n + "/Conv1_down", std::make_unique<ResampleConv>(ch(r - 1), ch(r - 2), 3, init,
                                                                         conv_opts(kSqrt2, cfg.use_wscale, act)));
    fromrgb(r - 1);
  }
  const int mbstd = cfg.mbstd_group_size > 1 ? cfg.mbstd_num_features : 0;
  levels_[0].conv0 = &child("4x4/Conv", std::make_unique<EqualizedConv2d>(ch(1) + mbstd, ch(1), 3, init,
                                                                          conv_opts(kSqrt2, cfg.use_wscale, act)));
  EqualizedDense::Options d0;
  d0.activation = act;
  d0.eq = weight_gain(kSqrt2, cfg.use_wscale);
  dense0_ = &child("4x4/Dense0", std::make_unique<EqualizedDense>(ch(1) * 16, ch(0), init, d0));
  EqualizedDense::Options d1;
  d1.eq = weight_gain(1, cfg.use_wscale);
  dense1_ = &child("4x4/Dense1", std::make_unique<EqualizedDense>(ch(0), std::max(cfg.label_size, 1), init, d1));
}

double Discriminator::lod() const { return lod_var.item(); }
void Discriminator::set_lod(double lod) { set_f32(lod_var, lod); }

Tensor Discriminator::block(int r, const Tensor& x) const {
  const Level& lv = levels_[static_cast<size_t>(r - 2)];
  if (r >= 3) {
    const auto* down = static_cast<const ResampleConv*>(lv.conv1);
    return down->down(blur(lv.conv0->forward(x), blur_), fused_at(cfg_.fused_scale, 1 << r));
  }
  Tensor y = cfg_.mbstd_group_size > 1 ? mbstd_layer(x, cfg_.mbstd_group_size, cfg_.mbstd_num_features) : x;
  y = lv.conv0->forward(y);
  return dense1_->forward(dense0_->forward(y.reshape({y.size(0), -1})));
}

Tensor Discriminator::forward(const Tensor& images, const Tensor& labels, double lod) const {
  const char* op = "stylegan::Discriminator";
  const int res = cfg_.resolution;
  GF_CHECK(images.defined() && images.dim() == 4 && images.size(1) == cfg_.num_channels && images.size(2) == res &&
               images.size(3) == res,
           op,
           "images must be [N, " << cfg_.num_channels << ", " << res << ", " << res << "], got "
                                 << (images.defined() ? shape_str(images.shape()) : "none"));
  if (cfg_.label_size > 0)
    GF_CHECK(labels.defined() && labels.dim() == 2 && labels.size(0) == images.size(0) &&
                 labels.size(1) == cfg_.label_size,
             op, "labels must be [" << images.size(0) << ", " << cfg_.label_size << "], got "
                                    << (labels.defined() ? shape_str(labels.shape()) : "none"));
  const int top = pggan::top_level(res_log2_, lod);
  const int lod_top = res_log2_ - top;
  Tensor x = block(top, levels_[static_cast<size_t>(top - 2)].fromrgb->forward(downscale2d(images, 1 << lod_top)));
  if (top > 2 && lod > lod_top) {
    const Tensor low = levels_[static_cast<size_t>(top - 3)].fromrgb->forward(downscale2d(images, 2 << lod_top));
    x = lerp(x, low, lod - lod_top);
  }
  for (int r = top - 1; r >= 2; --r) x = block(r, x);
  // LabelSwitch: the score of the sample's label (projection).
  if (cfg_.label_size > 0) x = sum(mul(x, labels), {1}, true);
  return x;
}

}  // namespace gf::stylegan
