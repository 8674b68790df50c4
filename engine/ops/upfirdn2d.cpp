// upfirdn2d is linear in x, and its adjoint is upfirdn2d with up and down
// swapped and the filter flipped, with the padding that lines the adjoint's
// taps up with the forward's (the official _upfirdn2d_cuda backward). The
// gradient therefore reuses this op and is differentiable to any order.
#include "engine/ops/upfirdn2d.h"

#include <cstdint>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/upfirdn2d.h"

namespace gf {
namespace {

using Grads = GradList;

// The 2-D filter the kernel applies; a separable [k] filter becomes outer(f, f).
Tensor filter_2d(const Tensor& f, const Tensor& x) {
  Tensor f2 = f.detach().to(x.device()).to(x.dtype());
  if (f2.dim() == 2) return f2;
  NoGradGuard ng;
  return mul(f2.reshape({f2.size(0), 1}), f2.reshape({1, f2.size(0)}));
}

}  // namespace

Tensor upfirdn2d(const Tensor& x, const Tensor& f, const UpFirDn2dParams& p) {
  const char* op = "upfirdn2d";
  GF_CHECK(x.defined() && f.defined(), op, "undefined operand");
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
  GF_CHECK(f.dim() == 1 || f.dim() == 2, op,
           "filter must be 2-D [fh, fw] or 1-D (separable), got " << shape_str(f.shape()));
  GF_CHECK(f.numel() > 0, op, "empty filter");
  GF_CHECK(p.up_x >= 1 && p.up_y >= 1, op, "up must be >= 1, got " << p.up_x << "x" << p.up_y);
  GF_CHECK(p.down_x >= 1 && p.down_y >= 1, op, "down must be >= 1, got " << p.down_x << "x" << p.down_y);
  GF_CHECK(!(f.requires_grad() && grad_enabled()), op, "the filter is a constant and gets no gradient; detach it");
  check_device_usable(x.device());
  GF_CHECK(f.device() == x.device() || f.device().is_cpu(), op,
           "filter on " << f.device().str() << ", x on " << x.device().str());
  const Tensor f2 = filter_2d(f, x);
  const int fh = static_cast<int>(f2.size(0)), fw = static_cast<int>(f2.size(1));
  const int64_t in_h = x.size(2), in_w = x.size(3);
  const int64_t out_h = (in_h * p.up_y + p.pad_y0 + p.pad_y1 - fh + p.down_y) / p.down_y;
  const int64_t out_w = (in_w * p.up_x + p.pad_x0 + p.pad_x1 - fw + p.down_x) / p.down_x;
  GF_CHECK(out_h >= 1 && out_w >= 1 && in_h * p.up_y + p.pad_y0 + p.pad_y1 >= fh &&
               in_w * p.up_x + p.pad_x0 + p.pad_x1 >= fw,
           op, "output would be empty: x " << shape_str(x.shape()) << ", filter " << fh << "x" << fw << ", pads "
                                           << p.pad_x0 << "," << p.pad_x1 << "," << p.pad_y0 << "," << p.pad_y1);
  GF_CHECK(in_h * p.up_y + p.pad_y0 + fh < INT32_MAX && in_w * p.up_x + p.pad_x0 + fw < INT32_MAX &&
               out_h * out_w < INT32_MAX,
           op, "planes too large for 32-bit in-plane indexing: x " << shape_str(x.shape()));
  if (x.device().is_cuda())
    GF_CHECK(fh * fw <= cuda::kMaxUpFirDnTaps, op, "filter " << fh << "x" << fw << " has too many taps for CUDA");

  UpFirDn2dDesc d;
  d.planes = x.size(0) * x.size(1);
  d.in_h = in_h, d.in_w = in_w, d.out_h = out_h, d.out_w = out_w;
  d.up_x = p.up_x, d.up_y = p.up_y, d.down_x = p.down_x, d.down_y = p.down_y;
  d.pad_x0 = p.pad_x0, d.pad_y0 = p.pad_y0;
  d.f_h = fh, d.f_w = fw;
  d.flip = p.flip_filter;
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::upfirdn2d<T>(x.data<T>(), f2.data<T>(), y.data<T>(), d, p.gain, stream_of(x.device())));
    else
      cpu::upfirdn2d<T>(x.data<T>(), f2.data<T>(), y.data<T>(), d, p.gain);
  });

  return record_op(op, y, {x}, [p, f2 = SavedTensor(f2), in_h, in_w, out_h, out_w, fh, fw](Node&, const Tensor& g) {
    // An empty plane (the output is padding alone) has an empty gradient;
    // the adjoint's own output-size check would refuse it.
    if (in_h == 0 || in_w == 0) return Grads{zeros({g.size(0), g.size(1), in_h, in_w}, g.dtype(), g.device())};
    UpFirDn2dParams b;
    b.up_x = p.down_x, b.up_y = p.down_y, b.down_x = p.up_x, b.down_y = p.up_y;
    b.pad_x0 = fw - p.pad_x0 - 1;
    b.pad_x1 = static_cast<int>(in_w * p.up_x - out_w * p.down_x) + p.pad_x0 - p.up_x + 1;
    b.pad_y0 = fh - p.pad_y0 - 1;
    b.pad_y1 = static_cast<int>(in_h * p.up_y - out_h * p.down_y) + p.pad_y0 - p.up_y + 1;
    b.flip_filter = !p.flip_filter;
    b.gain = p.gain;
    return Grads{upfirdn2d(g, f2, b)};
  });
}

Tensor setup_filter(const std::vector<double>& taps, bool separable, DType t, Device d) {
  GF_CHECK(!taps.empty(), "setup_filter", "no taps");
  double s = 0;
  for (double v : taps) s += v;
  GF_CHECK(s != 0, "setup_filter", "taps sum to zero; cannot normalize");
  const int64_t k = static_cast<int64_t>(taps.size());
  if (separable) {
    std::vector<double> v(taps);
    for (double& e : v) e /= s;
    return Tensor::from_vector(v, {k}, t, d);
  }
  std::vector<double> v(static_cast<size_t>(k * k));
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j) v[static_cast<size_t>(i * k + j)] = taps[size_t(i)] * taps[size_t(j)] / (s * s);
  return Tensor::from_vector(v, {k, k}, t, d);
}

// The padding formulas are the official ones (Python floor division).
Tensor upsample2d(const Tensor& x, const Tensor& f, int up, int padding, bool flip_filter, double gain) {
  GF_CHECK(up >= 1, "upsample2d", "up must be >= 1, got " << up);
  GF_CHECK(f.dim() == 1 || f.dim() == 2, "upsample2d", "filter must be 1-D or 2-D, got " << shape_str(f.shape()));
  const int fw = static_cast<int>(f.size(-1)), fh = static_cast<int>(f.size(0));
  UpFirDn2dParams p;
  p.up_x = p.up_y = up;
  p.pad_x0 = padding + floor_div(fw + up - 1, 2), p.pad_x1 = padding + floor_div(fw - up, 2);
  p.pad_y0 = padding + floor_div(fh + up - 1, 2), p.pad_y1 = padding + floor_div(fh - up, 2);
  p.flip_filter = flip_filter;
  p.gain = gain * up * up;
  return upfirdn2d(x, f, p);
}

Tensor downsample2d(const Tensor& x, const Tensor& f, int down, int padding, bool flip_filter, double gain) {
  GF_CHECK(down >= 1, "downsample2d", "down must be >= 1, got " << down);
  GF_CHECK(f.dim() == 1 || f.dim() == 2, "downsample2d", "filter must be 1-D or 2-D, got " << shape_str(f.shape()));
  const int fw = static_cast<int>(f.size(-1)), fh = static_cast<int>(f.size(0));
  UpFirDn2dParams p;
  p.down_x = p.down_y = down;
  p.pad_x0 = padding + floor_div(fw - down + 1, 2), p.pad_x1 = padding + floor_div(fw - down, 2);
  p.pad_y0 = padding + floor_div(fh - down + 1, 2), p.pad_y1 = padding + floor_div(fh - down, 2);
  p.flip_filter = flip_filter;
  p.gain = gain;
  return upfirdn2d(x, f, p);
}

Tensor filter2d(const Tensor& x, const Tensor& f, int padding, bool flip_filter, double gain) {
  GF_CHECK(f.dim() == 1 || f.dim() == 2, "filter2d", "filter must be 1-D or 2-D, got " << shape_str(f.shape()));
  const int fw = static_cast<int>(f.size(-1)), fh = static_cast<int>(f.size(0));
  UpFirDn2dParams p;
  p.pad_x0 = padding + fw / 2, p.pad_x1 = padding + (fw - 1) / 2;
  p.pad_y0 = padding + fh / 2, p.pad_y1 = padding + (fh - 1) / 2;
  p.flip_filter = flip_filter;
  p.gain = gain;
  return upfirdn2d(x, f, p);
}

}  // namespace gf
