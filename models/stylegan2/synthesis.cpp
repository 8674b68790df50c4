#include "models/stylegan2/synthesis.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "engine/ops/modulated_conv2d.h"
#include "engine/ops/upfirdn2d.h"

namespace gf::stylegan2 {
namespace {

// Row i of ws [N, K, w_dim] as [N, w_dim].
Tensor select_w(const Tensor& ws, int64_t i) { return slice(ws, 1, i, i + 1).reshape({ws.size(0), ws.size(2)}); }

BiasActSpec clamped(const std::string& act, const std::optional<double>& conv_clamp, const char* op) {
  return bias_act_spec(act, std::nullopt, std::nullopt, conv_clamp, op);
}

}  // namespace

SynthesisLayer::SynthesisLayer(int in_channels, int out_channels, int w_dim, int resolution, int up,
                               std::optional<double> conv_clamp, bool use_noise, ParamInit& init)
    : resample_filter(buffer("resample_filter", default_resample_filter(init.dtype))),
      affine(child("affine", std::make_unique<FullyConnectedLayer>(w_dim, in_channels, init, true, "linear", 1, 1))),
      weight(param("weight", init.randn({out_channels, in_channels, 3, 3}))),
      noise_const(use_noise ? &buffer("noise_const", init.randn({resolution, resolution})) : nullptr),
      noise_strength(use_noise ? &param("noise_strength", zeros({}, init.dtype)) : nullptr),
      bias(param("bias", zeros({out_channels}, init.dtype))),
      resolution_(resolution),
      up_(up),
      name_("b" + std::to_string(resolution) + (up == 2 ? ".conv0" : ".conv1")),
      act_(clamped("lrelu", conv_clamp, "SynthesisLayer")) {}

Tensor SynthesisLayer::forward(const Tensor& x, const Tensor& w, const SynthesisOptions& opt, double gain) const {
  const int64_t in_res = resolution_ / up_;
  GF_CHECK(x.dim() == 4 && x.size(1) == weight.size(1) && x.size(2) == in_res && x.size(3) == in_res,
           "SynthesisLayer",
           "x must be [N, " << weight.size(1) << ", " << in_res << ", " << in_res << "], got " << shape_str(x.shape()));
  const Tensor styles = affine.forward(w);
  ModConv2dParams p;
  p.demodulate = true;
  p.up = up_;
  p.padding = 1;
  p.flip_weight = up_ == 1;  // the upsampling path runs a transposed conv, which flips by itself
  p.fused = opt.fused_modconv;
  const Tensor y = modulated_conv2d(x, weight, styles, resample_filter, p);
  Tensor noise;
  if (noise_const) {
    noise = opt.noise_mode == NoiseMode::random && opt.noise_source
                ? opt.noise_source(name_, {y.size(0), 1, y.size(2), y.size(3)})
                : make_noise(y, opt.noise_mode, opt.noise_gen, *noise_const);
  }
  BiasActSpec spec = act_;
  spec.gain *= gain;
  if (spec.clamp >= 0) spec.clamp *= gain;
  return noise_bias_act(y, noise, noise_strength ? *noise_strength : Tensor(), bias, spec);
}

ToRGBLayer::ToRGBLayer(int in_channels, int out_channels, int w_dim, std::optional<double> conv_clamp,
                       ParamInit& init)
    : affine(child("affine", std::make_unique<FullyConnectedLayer>(w_dim, in_channels, init, true, "linear", 1, 1))),
      weight(param("weight", init.randn({out_channels, in_channels, 1, 1}))),
      bias(param("bias", zeros({out_channels}, init.dtype))),
      weight_gain_(1 / std::sqrt(static_cast<double>(in_channels))),
      act_(clamped("linear", conv_clamp, "ToRGBLayer")) {}

Tensor ToRGBLayer::forward(const Tensor& x, const Tensor& w, bool fused_modconv) const {
  // The equalized-lr gain goes on the styles: without demodulation it scales the output.
  const Tensor styles = affine.forward(w) * weight_gain_;
  ModConv2dParams p;
  p.demodulate = false;
  p.fused = fused_modconv;
  return bias_act(modulated_conv2d(x, weight, styles, Tensor(), p), bias, 1, act_);
}

SynthesisBlock::SynthesisBlock(int in_channels, int out_channels, int w_dim, int resolution, int img_channels,
                               std::optional<double> conv_clamp, bool use_noise, ParamInit& init)
    : resample_filter(buffer("resample_filter", default_resample_filter(init.dtype))),
      const_input(in_channels == 0 ? &param("const", init.randn({out_channels, resolution, resolution})) : nullptr),
      conv0(in_channels != 0 ? &child("conv0", std::make_unique<SynthesisLayer>(in_channels, out_channels, w_dim,
                                                                                resolution, 2, conv_clamp, use_noise,
                                                                                init))
                             : nullptr),
      conv1(child("conv1", std::make_unique<SynthesisLayer>(out_channels, out_channels, w_dim, resolution, 1,
                                                            conv_clamp, use_noise, init))),
      torgb(child("torgb", std::make_unique<ToRGBLayer>(out_channels, img_channels, w_dim, conv_clamp, init))),
      in_channels_(in_channels),
      resolution_(resolution),
      w_dim_(w_dim) {}

std::pair<Tensor, Tensor> SynthesisBlock::forward(const Tensor& x_in, const Tensor& img_in, const Tensor& ws,
                                                  const SynthesisOptions& opt) const {
  const char* op = "SynthesisBlock";
  const int64_t k = num_conv() + num_torgb();
  GF_CHECK(ws.dim() == 3 && ws.size(1) == k && ws.size(2) == w_dim_, op,
           "ws must be [N, " << k << ", " << w_dim_ << "], got " << shape_str(ws.shape()));
  const int64_t n = ws.size(0);
  Tensor x;
  if (in_channels_ == 0) {
    const Tensor& c = *const_input;
    x = expand(c.reshape({1, c.size(0), c.size(1), c.size(2)}), {n, c.size(0), c.size(1), c.size(2)});
    x = conv1.forward(x, select_w(ws, 0), opt);
  } else {
    x = conv0->forward(x_in, select_w(ws, 0), opt);
    x = conv1.forward(x, select_w(ws, 1), opt);
  }
  // Skip architecture: the running image is upsampled and this block's RGB added.
  Tensor img = torgb.forward(x, select_w(ws, num_conv()), opt.fused_modconv);
  if (img_in.defined()) {
    GF_CHECK(img_in.dim() == 4 && img_in.size(1) == img.size(1) && img_in.size(2) * 2 == resolution_, op,
             "img must be [N, " << img.size(1) << ", " << resolution_ / 2 << ", " << resolution_ / 2 << "], got "
                                << shape_str(img_in.shape()));
    img = upsample2d(img_in, resample_filter) + img;
  }
  return {x, img};
}

SynthesisNetwork::SynthesisNetwork(int w_dim, int img_resolution, int img_channels, int channel_base, int channel_max,
                                   std::optional<double> conv_clamp, bool use_noise, ParamInit& init)
    : w_dim_(w_dim) {
  GF_CHECK(img_resolution >= 4 && (img_resolution & (img_resolution - 1)) == 0, "SynthesisNetwork",
           "img_resolution " << img_resolution << " is not a power of two >= 4");
  GF_CHECK(img_channels > 0, "SynthesisNetwork", "img_channels " << img_channels << " must be at least 1");
  for (int res = 4; res <= img_resolution; res *= 2) {
    const int in = res > 4 ? channels_at(channel_base, channel_max, res / 2) : 0;
    const int out = channels_at(channel_base, channel_max, res);
    GF_CHECK(out > 0, "SynthesisNetwork",
             "channel_base " << channel_base << " gives no channels at " << res << "x" << res);
    SynthesisBlock& b = child("b" + std::to_string(res), std::make_unique<SynthesisBlock>(
                                                             in, out, w_dim, res, img_channels, conv_clamp, use_noise,
                                                             init));
    // Consecutive blocks share a w: each block's ToRGB uses the next block's conv0 w.
    num_ws_ += b.num_conv() + (res == img_resolution ? b.num_torgb() : 0);
    blocks.push_back(&b);
    resolutions_.push_back(res);
  }
}

Tensor SynthesisNetwork::forward(const Tensor& ws, const SynthesisOptions& opt) const {
  GF_CHECK(ws.dim() == 3 && ws.size(1) == num_ws_ && ws.size(2) == w_dim_, "SynthesisNetwork",
           "ws must be [N, " << num_ws_ << ", " << w_dim_ << "], got " << shape_str(ws.shape()));
  Tensor x, img;
  int64_t w_idx = 0;
  for (const SynthesisBlock* b : blocks) {
    const int64_t k = b->num_conv() + b->num_torgb();
    std::tie(x, img) = b->forward(x, img, slice(ws, 1, w_idx, w_idx + k), opt);
    w_idx += b->num_conv();
  }
  return img;
}

}  // namespace gf::stylegan2
