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

namespace {

EqualizedDense::Options dense_options(bool has_bias, const std::string& activation, double lr_multiplier,
                                      double bias_init) {
  EqualizedDense::Options o;
  o.bias = has_bias;
  o.activation = activation;
  o.eq.gain_on = GainOn::activation;
  o.eq.lr_multiplier = lr_multiplier;
  o.bias_init = bias_init;
  return o;
}

EqualizedConv2d::Options conv_options(const Conv2dLayer::Options& opt) {
  EqualizedConv2d::Options o;
  o.bias = opt.bias;
  o.activation = opt.activation;
  o.eq.gain_on = GainOn::activation;
  o.conv_clamp = opt.conv_clamp;
  o.trainable = opt.trainable;
  return o;
}

}  // namespace

FullyConnectedLayer::FullyConnectedLayer(int in_features, int out_features, ParamInit& init, bool has_bias,
                                         const std::string& activation, double lr_multiplier, double bias_init)
    : EqualizedDense(in_features, out_features, init, dense_options(has_bias, activation, lr_multiplier, bias_init)) {}

Conv2dLayer::Conv2dLayer(int in_channels, int out_channels, int kernel_size, ParamInit& init, const Options& opt)
    : EqualizedConv2d(in_channels, out_channels, kernel_size, init, conv_options(opt)),
      resample_filter(buffer("resample_filter", default_resample_filter(init.dtype))),
      up_(opt.up),
      down_(opt.down),
      padding_(kernel_size / 2) {}

Tensor Conv2dLayer::forward(const Tensor& x, double gain) const {
  check_input(x, "Conv2dLayer");
  return epilogue(conv2d_resample(x, scaled_weight(), resample_filter, up_, down_, padding_), gain);
}

}  // namespace gf::stylegan2
