// modulated_conv2d after StyleGAN2-ADA's training/networks.py, with the
// resampling of torch_utils/ops/conv2d_resample.py. The convolution weight is
// formed by one of two paths:
//   fused:   modulate_weight (kernels/modulated_conv2d.h) writes per-sample,
//            demodulated weights in the layout the grouped conv (groups = N)
//            reads, transposed and rotated where the resampling plan asks;
//   unfused: the shared weight, with x scaled by the styles before the conv
//            and the output by the demodulation coefficients after it.
// modulate_weight's backward is the kernel modulate_weight_grad; that op's own
// backward is written below in engine ops, so the path-length penalty can
// differentiate through it.
#include "engine/ops/modulated_conv2d.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "engine/ops/upfirdn2d.h"
#include "kernels/modulated_conv2d.h"

namespace gf {
namespace {

using Grads = GradList;

// ---- the per-sample weights -------------------------------------------------

// The layout of the convolution weight (see kernels/modulated_conv2d.h).
struct WeightLayout {
  bool transpose = false;  // [groups*Cin, Cout, kh, kw] for conv_transpose2d
  bool flip = false;       // rotated by 180 degrees
};

ModWeightParams mod_params(const Tensor& weight, const Tensor& styles, bool demodulate, const WeightLayout& l) {
  ModWeightParams p;
  p.n = styles.size(0), p.o = weight.size(0), p.i = weight.size(1), p.taps = weight.size(2) * weight.size(3);
  p.demodulate = demodulate, p.transpose = l.transpose, p.flip = l.flip;
  return p;
}

Shape mod_shape(const Tensor& weight, const Tensor& styles, const WeightLayout& l) {
  const int64_t n = styles.size(0), o = weight.size(0), i = weight.size(1);
  const int64_t kh = weight.size(2), kw = weight.size(3);
  return l.transpose ? Shape{n * i, o, kh, kw} : Shape{n * o, i, kh, kw};
}

// A tensor in the convolution layout, as the logical [N, O, I, taps], and back.
Tensor to_logical(const Tensor& w, const Tensor& weight, const Tensor& styles, const WeightLayout& l) {
  const int64_t n = styles.size(0), o = weight.size(0), i = weight.size(1), taps = weight.size(2) * weight.size(3);
  Tensor t = l.flip ? flip(w, {2, 3}) : w;
  return l.transpose ? permute(t.reshape({n, i, o, taps}), {0, 2, 1, 3}) : t.reshape({n, o, i, taps});
}
Tensor from_logical(const Tensor& t, const Tensor& weight, const Tensor& styles, const WeightLayout& l) {
  const Tensor w = (l.transpose ? permute(t, {0, 2, 1, 3}) : t).reshape(mod_shape(weight, styles, l));
  return l.flip ? flip(w, {2, 3}) : w;
}

Tensor modulate_weight_grad_weight(const Tensor& g, const Tensor& dw, const Tensor& weight, const Tensor& styles,
                                   bool demodulate, const WeightLayout& l);
Tensor modulate_weight_grad_styles(const Tensor& g, const Tensor& ds, const Tensor& weight, const Tensor& styles,
                                   bool demodulate, const WeightLayout& l);

Tensor modulate_weight(const Tensor& weight, const Tensor& styles, bool demodulate, const WeightLayout& l) {
  const char* op = "modulate_weight";
  const ModWeightParams p = mod_params(weight, styles, demodulate, l);
  Tensor out = Tensor::empty(mod_shape(weight, styles, l), weight.dtype(), weight.device());
  dispatch_float(weight.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (weight.device().is_cuda())
      GF_CUDA_CALL(op, cuda::modulate_weight<T>(p, weight.data<T>(), styles.data<T>(), out.data<T>(),
                                                stream_of(weight.device())));
    else
      cpu::modulate_weight<T>(p, weight.data<T>(), styles.data<T>(), out.data<T>());
  });
  return record_op(op, out, {weight, styles},
                   [weight = SavedTensor(weight), styles = SavedTensor(styles), demodulate, l](Node& n,
                       const Tensor& g) {
    const ModWeightParams p = mod_params(weight, styles, demodulate, l);
    const bool want_w = n.needs_input_grad(0), want_s = n.needs_input_grad(1);
    Tensor dw = want_w ? Tensor::empty(weight.shape(), weight.dtype(), weight.device()) : Tensor();
    Tensor ds = want_s ? Tensor::empty(styles.shape(), styles.dtype(), styles.device()) : Tensor();
    const char* gop = "modulate_weight_grad";
    dispatch_float(g.dtype(), gop, [&](auto tag) {
      using T = decltype(tag);
      T* pw = want_w ? dw.data<T>() : nullptr;
      T* ps = want_s ? ds.data<T>() : nullptr;
      if (g.device().is_cuda()) {
        GF_CUDA_CALL(gop, {
          const Tensor ws = Tensor::empty({2 * p.n * p.o}, g.dtype(), g.device());
          cuda::modulate_weight_grad<T>(p, g.data<T>(), weight.get().data<T>(), styles.get().data<T>(), pw, ps,
                                        ws.data<T>(), stream_of(g.device()));
        });
      } else {
        cpu::modulate_weight_grad<T>(p, g.data<T>(), weight.get().data<T>(), styles.get().data<T>(), pw, ps);
      }
    });
    return Grads{want_w ? modulate_weight_grad_weight(g, dw, weight, styles, demodulate, l) : Tensor(),
                 want_s ? modulate_weight_grad_styles(g, ds, weight, styles, demodulate, l) : Tensor()};
  });
}

// The backward of the gradient kernel, in engine ops. With a = weight, s = styles,
// u = a s, d = rsqrt(sum_{i,t} u^2 + eps) and p = sum_{i,t} g u (all per n, o), the
// kernel computed du = d g - d^3 p u and then dweight = sum_n du s,
// dstyles = sum_{o,t} du a. For a cotangent V of du, with q = sum V g and
// r = sum V u:
//   d/dg = d V - d^3 r u
//   d/du = -d^3 q u + 3 d^5 p r u - d^3 r g - d^3 p V
// and d/du reaches a and s through u = a s. `va` and `vs` are the cotangents of
// dweight and dstyles (one of them undefined): V = va s + vs a, and each also
// meets du directly (dweight = sum_n du s gives s the term sum_{o,t} va du).
Grads modulate_weight_grad_backward(const Tensor& g_conv, const Tensor& va, const Tensor& vs, const Tensor& weight,
                                    const Tensor& styles, bool demodulate, const WeightLayout& l) {
  const int64_t n = styles.size(0), o = weight.size(0), i = weight.size(1), taps = weight.size(2) * weight.size(3);
  const Tensor g = to_logical(g_conv, weight, styles, l);  // [N, O, I, taps]
  const Tensor a = weight.reshape({1, o, i, taps}), s = styles.reshape({n, 1, i, 1});
  const Tensor va4 = va.defined() ? va.reshape({1, o, i, taps}) : Tensor();
  const Tensor vs4 = vs.defined() ? vs.reshape({n, 1, i, 1}) : Tensor();
  const Tensor V = va.defined() ? va4 * s : vs4 * a;
  const DimList it{2, 3}, ot{1, 3};
  Tensor dg, du_u, du;  // d/dg, d/du, and du itself
  if (demodulate) {
    const Tensor u = a * s;
    const Tensor d = rsqrt(sum(square(u), it, true) + 1e-8);
    const Tensor d3 = d * d * d;
    const Tensor p = sum(g * u, it, true), q = sum(V * g, it, true), r = sum(V * u, it, true);
    dg = d * V - d3 * r * u;
    du_u = (3.0 * d3 * d * d * p * r - d3 * q) * u - d3 * r * g - d3 * p * V;
    du = d * g - d3 * p * u;
  } else {
    dg = V;
    du = g;
  }
  Tensor gw, gs;
  if (du_u.defined()) {
    gw = sum(du_u * s, {0});
    gs = sum(du_u * a, ot);
  }
  if (va.defined()) {
    const Tensor t = sum(va4 * du, ot);
    gs = gs.defined() ? gs + t : t;
  } else {
    const Tensor t = sum(vs4 * du, {0});
    gw = gw.defined() ? gw + t : t;
  }
  return Grads{from_logical(dg, weight, styles, l), gw.defined() ? gw.reshape(weight.shape()) : zeros_like(weight),
               gs.defined() ? gs.reshape(styles.shape()) : zeros_like(styles)};
}

Tensor modulate_weight_grad_weight(const Tensor& g, const Tensor& dw, const Tensor& weight, const Tensor& styles,
                                   bool demodulate, const WeightLayout& l) {
  return record_op("modulate_weight_grad_weight", dw, {g, weight, styles},
                   [g = SavedTensor(g), weight = SavedTensor(weight), styles = SavedTensor(styles), demodulate,
                       l](Node&, const Tensor& v) {
                     return modulate_weight_grad_backward(g, v, Tensor(), weight, styles, demodulate, l);
                   });
}

Tensor modulate_weight_grad_styles(const Tensor& g, const Tensor& ds, const Tensor& weight, const Tensor& styles,
                                   bool demodulate, const WeightLayout& l) {
  return record_op("modulate_weight_grad_styles", ds, {g, weight, styles},
                   [g = SavedTensor(g), weight = SavedTensor(weight), styles = SavedTensor(styles), demodulate,
                       l](Node&, const Tensor& v) {
                     return modulate_weight_grad_backward(g, Tensor(), v, weight, styles, demodulate, l);
                   });
}

// ---- conv2d_resample ----------------------------------------------------------

// How conv2d_resample runs for one configuration: the official fast paths,
// with the official padding arithmetic.
struct ResamplePlan {
  enum Kind { down_then_conv1x1, conv1x1_then_up, filter_then_strided_conv, transposed_conv, plain_conv, generic };
  Kind kind = plain_conv;
  int up = 1, down = 1;
  int px0 = 0, px1 = 0, py0 = 0, py1 = 0;  // upfirdn2d's pads
  int pxt = 0, pyt = 0;                    // the transposed conv's padding
  WeightLayout layout;                     // what the convolution's weight must look like
};

ResamplePlan plan_resample(int kh, int kw, int fh, int fw, int up, int down, int padding, bool flip_weight) {
  ResamplePlan r;
  r.up = up, r.down = down;
  r.px0 = r.px1 = r.py0 = r.py1 = padding;
  if (up > 1) {
    r.px0 += floor_div(fw + up - 1, 2), r.px1 += floor_div(fw - up, 2);
    r.py0 += floor_div(fh + up - 1, 2), r.py1 += floor_div(fh - up, 2);
  }
  if (down > 1) {
    r.px0 += floor_div(fw - down + 1, 2), r.px1 += floor_div(fw - down, 2);
    r.py0 += floor_div(fh - down + 1, 2), r.py1 += floor_div(fh - down, 2);
  }
  // torch's conv2d is a correlation: the official wrapper flips the weight when flip_weight is false.
  r.layout.flip = !flip_weight;
  if (kw == 1 && kh == 1 && down > 1 && up == 1) {
    r.kind = ResamplePlan::down_then_conv1x1;
  } else if (kw == 1 && kh == 1 && up > 1 && down == 1) {
    r.kind = ResamplePlan::conv1x1_then_up;
  } else if (down > 1 && up == 1) {
    r.kind = ResamplePlan::filter_then_strided_conv;
  } else if (up > 1) {
    r.kind = ResamplePlan::transposed_conv;
    r.layout = {true, flip_weight};  // the official code passes flip_weight = not flip_weight here
    r.px0 -= kw - 1, r.px1 -= kw - up, r.py0 -= kh - 1, r.py1 -= kh - up;
    r.pxt = std::max(std::min(-r.px0, -r.px1), 0);
    r.pyt = std::max(std::min(-r.py0, -r.py1), 0);
  } else if (r.px0 == r.px1 && r.py0 == r.py1 && r.px0 >= 0 && r.py0 >= 0) {
    r.kind = ResamplePlan::plain_conv;
  } else {
    r.kind = ResamplePlan::generic;  // up = down = 1 with negative padding: crop, then convolve
  }
  return r;
}

UpFirDn2dParams fir(int up, int down, int px0, int px1, int py0, int py1, double gain = 1.0) {
  UpFirDn2dParams p;
  p.up_x = p.up_y = up, p.down_x = p.down_y = down;
  p.pad_x0 = px0, p.pad_x1 = px1, p.pad_y0 = py0, p.pad_y1 = py1;
  p.gain = gain;
  return p;
}

// x [N', groups*Cin, H, W]; w already in plan.layout.
Tensor run_resample(const ResamplePlan& r, const Tensor& x, const Tensor& w, const Tensor& f, int groups) {
  Conv2dParams c;
  c.groups = groups;
  const double up_gain = double(r.up) * r.up;
  switch (r.kind) {
    case ResamplePlan::down_then_conv1x1:
      return conv2d(upfirdn2d(x, f, fir(1, r.down, r.px0, r.px1, r.py0, r.py1)), w, c);
    case ResamplePlan::conv1x1_then_up:
      return upfirdn2d(conv2d(x, w, c), f, fir(r.up, 1, r.px0, r.px1, r.py0, r.py1, up_gain));
    case ResamplePlan::filter_then_strided_conv:
      c.stride_h = c.stride_w = r.down;
      return conv2d(upfirdn2d(x, f, fir(1, 1, r.px0, r.px1, r.py0, r.py1)), w, c);
    case ResamplePlan::transposed_conv: {
      c.stride_h = c.stride_w = r.up;
      c.pad_h = r.pyt, c.pad_w = r.pxt;
      Tensor y = conv_transpose2d(x, w, c);
      y = upfirdn2d(y, f, fir(1, 1, r.px0 + r.pxt, r.px1 + r.pxt, r.py0 + r.pyt, r.py1 + r.pyt, up_gain));
      return r.down > 1 ? upfirdn2d(y, f, fir(1, r.down, 0, 0, 0, 0)) : y;
    }
    case ResamplePlan::plain_conv:
      c.pad_h = r.py0, c.pad_w = r.px0;
      return conv2d(x, w, c);
    case ResamplePlan::generic: {
      const Tensor identity = ones({1, 1}, x.dtype(), x.device());
      return conv2d(upfirdn2d(x, identity, fir(1, 1, r.px0, r.px1, r.py0, r.py1)), w, c);
    }
  }
  throw Error("modulated_conv2d: unreachable resampling plan");
}

// The shared weight in the plan's layout (groups = 1).
Tensor layout_weight(const Tensor& weight, const WeightLayout& l) {
  const Tensor w = l.transpose ? transpose(weight, 0, 1) : weight;
  return l.flip ? flip(w, {2, 3}) : w;
}

}  // namespace

Tensor modulated_conv2d(const Tensor& x, const Tensor& weight, const Tensor& styles, const Tensor& resample_filter,
                        const ModConv2dParams& p) {
  const char* op = "modulated_conv2d";
  check_same(op, {x, weight, styles});
  GF_CHECK(x.dim() == 4, op, "x must be [N, Cin, H, W], got " << shape_str(x.shape()));
  GF_CHECK(weight.dim() == 4, op, "weight must be [Cout, Cin, kh, kw], got " << shape_str(weight.shape()));
  GF_CHECK(weight.size(1) == x.size(1), op,
           "weight " << shape_str(weight.shape()) << " expects " << weight.size(1) << " input channels, x "
                     << shape_str(x.shape()) << " has " << x.size(1));
  GF_CHECK(styles.shape() == (Shape{x.size(0), x.size(1)}), op,
           "styles " << shape_str(styles.shape()) << " must be [N, Cin] = " << shape_str({x.size(0), x.size(1)})
                     << " for x " << shape_str(x.shape()));
  GF_CHECK(p.up == 1 || p.up == 2, op, "up must be 1 or 2, got " << p.up);
  GF_CHECK(p.down == 1 || p.down == 2, op, "down must be 1 or 2, got " << p.down);
  const bool resample = p.up > 1 || p.down > 1;
  GF_CHECK(!resample || resample_filter.defined(), op,
           "up = " << p.up << ", down = " << p.down << " needs a resample_filter (e.g. setup_filter({1, 3, 3, 1}))");
  if (resample) check_same(op, {x, resample_filter});
  GF_CHECK(!resample || resample_filter.dim() == 1 || resample_filter.dim() == 2, op,
           "resample_filter must be [taps] or [fh, fw], got " << shape_str(resample_filter.shape()));
  const int fh = resample ? static_cast<int>(resample_filter.size(0)) : 1;
  const int fw = resample ? static_cast<int>(resample_filter.size(resample_filter.dim() - 1)) : 1;
  const ResamplePlan plan = plan_resample(static_cast<int>(weight.size(2)), static_cast<int>(weight.size(3)), fh, fw,
                                          p.up, p.down, p.padding, p.flip_weight);
  const int64_t n = x.size(0), o = weight.size(0);

  // An empty batch takes the unfused path, which gives the empty result (the
  // grouped conv of a fused one would have 0 groups).
  if (p.fused && n > 0) {
    const Tensor w = modulate_weight(weight, styles, p.demodulate, plan.layout);
    const Tensor y = run_resample(plan, x.reshape({1, n * x.size(1), x.size(2), x.size(3)}), w, resample_filter,
                                  static_cast<int>(n));
    return y.reshape({n, o, y.size(2), y.size(3)});
  }
  Tensor y = run_resample(plan, x * styles.reshape({n, x.size(1), 1, 1}), layout_weight(weight, plan.layout),
                          resample_filter, 1);
  if (p.demodulate) {
    // sum_{i,t} (weight[o,i,t] styles[n,i])^2 = sum_i styles[n,i]^2 sum_t weight[o,i,t]^2: one [N,I] x [I,O] product.
    const Tensor dcoefs = rsqrt(matmul(square(styles), sum(square(weight), {2, 3}), false, true) + 1e-8);
    y = y * dcoefs.reshape({n, o, 1, 1});
  }
  return y;
}

}  // namespace gf
