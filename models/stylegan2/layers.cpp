#include "models/stylegan2/layers.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/ops/upfirdn2d.h"

namespace gf::stylegan2 {

Tensor default_resample_filter(DType t) { return setup_filter({1, 3, 3, 1}, false, t); }

Tensor conv2d_resample(const Tensor& x, const Tensor& w, const Tensor& f, int up, int down, int padding) {
  const char* op = "conv2d_resample";
  GF_CHECK(w.dim() == 4 && w.size(2) == w.size(3), op, "weight must be [O, I, k, k], got " << shape_str(w.shape()));
  GF_CHECK((up == 1 || up == 2) && (down == 1 || down == 2) && !(up == 2 && down == 2), op,
           "supports up = 2 or down = 2, got up " << up << ", down " << down);
  const int k = static_cast<int>(w.size(2));
  if (up == 1 && down == 1) {
    Conv2dParams p;
    p.pad_h = p.pad_w = padding;
    return conv2d(x, w, p);
  }
  GF_CHECK(f.defined() && f.dim() == 2 && f.size(0) == f.size(1), op, "resampling needs a square 2-D filter");
  const int fw = static_cast<int>(f.size(0));
  UpFirDn2dParams fp;
  if (down > 1) {
    // Pad so that filter-then-stride keeps the image centred (official padding rule).
    const int p0 = padding + (fw - down + 1) / 2, p1 = padding + (fw - down) / 2;
    fp.pad_x0 = fp.pad_y0 = p0;
    fp.pad_x1 = fp.pad_y1 = p1;
    if (k == 1) {
      // 1x1: downsample first, then convolve the smaller image.
      fp.down_x = fp.down_y = down;
      return conv2d(upfirdn2d(x, f, fp), w);
    }
    Conv2dParams cp;
    cp.stride_h = cp.stride_w = down;
    return conv2d(upfirdn2d(x, f, fp), w, cp);
  }
  int p0 = padding + (fw + up - 1) / 2, p1 = padding + (fw - up) / 2;
  fp.gain = up * up;  // zero insertion divides the mean by up^2
  if (k == 1) {
    // 1x1: convolve first, then upsample.
    fp.up_x = fp.up_y = up;
    fp.pad_x0 = fp.pad_y0 = p0;
    fp.pad_x1 = fp.pad_y1 = p1;
    return upfirdn2d(conv2d(x, w), f, fp);
  }
  // Transposed strided conv (a true convolution, hence no weight flip), then
  // the FIR filter; padding the transposed conv can absorb is moved into it.
  p0 -= k - 1;
  p1 -= k - up;
  const int pt = std::max(std::min(-p0, -p1), 0);
  Conv2dParams cp;
  cp.stride_h = cp.stride_w = up;
  cp.pad_h = cp.pad_w = pt;
  fp.pad_x0 = fp.pad_y0 = p0 + pt;
  fp.pad_x1 = fp.pad_y1 = p1 + pt;
  return upfirdn2d(conv_transpose2d(x, transpose(w, 0, 1), cp), f, fp);
}

FullyConnectedLayer::FullyConnectedLayer(int in_features, int out_features, ParamInit& init, bool has_bias,
                                         const std::string& activation, double lr_multiplier, double bias_init)
    : weight(param("weight", init.randn({out_features, in_features}) / lr_multiplier)),
      bias(has_bias ? &param("bias", full({out_features}, bias_init, init.dtype)) : nullptr),
      act_(bias_act_spec(activation, std::nullopt, std::nullopt, std::nullopt, "FullyConnectedLayer")),
      weight_gain_(lr_multiplier / std::sqrt(static_cast<double>(in_features))),
      bias_gain_(lr_multiplier) {}

Tensor FullyConnectedLayer::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 2 && x.size(1) == weight.size(1), "FullyConnectedLayer",
           "input must be [N, " << weight.size(1) << "], got " << shape_str(x.shape()));
  Tensor b;
  if (bias) b = bias_gain_ != 1 ? *bias * bias_gain_ : *bias;
  return bias_act(matmul(x, weight * weight_gain_, false, true), b, 1, act_);
}

Conv2dLayer::Conv2dLayer(int in_channels, int out_channels, int kernel_size, ParamInit& init, const Options& opt)
    : resample_filter(buffer("resample_filter", default_resample_filter(init.dtype))),
      weight(opt.trainable ? param("weight", init.randn({out_channels, in_channels, kernel_size, kernel_size}))
                           : buffer("weight", init.randn({out_channels, in_channels, kernel_size, kernel_size}))),
      bias(nullptr),
      opt_(opt),
      act_(bias_act_spec(opt.activation, std::nullopt, std::nullopt, std::nullopt, "Conv2dLayer")),
      padding_(kernel_size / 2),
      weight_gain_(1 / std::sqrt(static_cast<double>(in_channels) * kernel_size * kernel_size)) {
  if (opt.bias) {
    Tensor b = zeros({out_channels}, init.dtype);
    bias = opt.trainable ? &param("bias", b) : &buffer("bias", b);
  }
}

Tensor Conv2dLayer::forward(const Tensor& x, double gain) const {
  GF_CHECK(x.dim() == 4 && x.size(1) == weight.size(1), "Conv2dLayer",
           "input must be [N, " << weight.size(1) << ", H, W], got " << shape_str(x.shape()));
  Tensor y = conv2d_resample(x, weight * weight_gain_, resample_filter, opt_.up, opt_.down, padding_);
  BiasActSpec spec = act_;
  spec.gain *= gain;
  if (opt_.conv_clamp) spec.clamp = *opt_.conv_clamp * gain;
  return bias_act(y, bias ? *bias : Tensor(), 1, spec);
}

}  // namespace gf::stylegan2
