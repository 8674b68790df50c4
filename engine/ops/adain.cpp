// AdaIN: one fused kernel forward (which also keeps each plane's mean and
// rstd) and one fused kernel backward. The backward kernel's three outputs are
// recorded as ops whose own backward is written in engine ops, so second (and
// higher) order goes through it.
//
// Per plane of n = H*W elements, with xhat = (x - mean) * r:
//   dyb = sum(g),  dys = sum(g xhat) =: Sg,
//   dx  = ys * J g,  J g = r * (gc - xhat Sg / n),  gc = g - mean(g)
// (J, the Jacobian of xhat, is symmetric). For upstream a on dx, with
// Sa = sum(a xhat) and A = sum(gc a):
//   d/dg  = ys * J a
//   d/dys = sum(g * J a) = r (A - Sg Sa / n)
//   d/dx  = ys * r^2 / n * (xhat (3 Sg Sa / n - A) - Sa gc - Sg ac)   (the Hessian of sum(g xhat) applied to a)
// and for upstream bs on dys: d/dg = bs xhat, d/dx = bs * J g.
#include "engine/ops/adain.h"

#include "engine/dispatch.h"
#include "kernels/adain.h"

namespace gf {
namespace {

using Grads = GradList;

Tensor plane_sum(const Tensor& t) { return sum(t, {2, 3}, true); }
Tensor plane_center(const Tensor& t) { return sub(t, mean(t, {2, 3}, true)); }

// xhat and r ([N, C, 1, 1]) in engine ops, for the second-order formulas.
std::pair<Tensor, Tensor> instance_norm_ops(const Tensor& x) {
  const Tensor xc = plane_center(x);
  const Tensor r = rsqrt(mean(square(xc), {2, 3}, true) + kAdainEps);
  return {mul(xc, r), r};
}

// The backward kernel: {dx, dys, dyb}, each differentiable in what it depends on.
Grads adain_grad(const Tensor& g, const Tensor& x, const Tensor& ys, const Tensor& mu, const Tensor& rstd,
                 const AdainParams& p) {
  const char* op = "adain_grad";
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor dys = Tensor::empty(ys.shape(), ys.dtype(), ys.device()),
         dyb = Tensor::empty(ys.shape(), ys.dtype(), ys.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::adain_backward<T>(p, g.data<T>(), x.data<T>(), ys.data<T>(), mu.data<T>(), rstd.data<T>(),
                                               dx.data<T>(), dys.data<T>(), dyb.data<T>(), stream_of(x.device())));
    else
      cpu::adain_backward<T>(p, g.data<T>(), x.data<T>(), ys.data<T>(), mu.data<T>(), rstd.data<T>(), dx.data<T>(),
                             dys.data<T>(), dyb.data<T>());
  });
  const Shape s4{x.size(0), x.size(1), 1, 1};
  const double n = static_cast<double>(p.hw);
  dx = record_op("adain_grad_x", dx, {g, x, ys},
                 [g = SavedTensor(g), x = SavedTensor(x), ys = SavedTensor(ys), s4, n](Node& node, const Tensor& a) {
    const auto [xhat, r] = instance_norm_ops(x);
    const Tensor y4 = ys.get().reshape(s4), gc = plane_center(g), ac = plane_center(a);
    const Tensor sg = plane_sum(mul(g, xhat)), sa = plane_sum(mul(a, xhat)), big_a = plane_sum(mul(gc, a));
    Tensor d_g, d_x, d_ys;
    if (node.needs_input_grad(0)) d_g = mul(mul(y4, r), sub(ac, mul(xhat, sa * (1.0 / n))));
    if (node.needs_input_grad(1)) {
      const Tensor coef = sub(mul(sg, sa) * (3.0 / n), big_a);
      const Tensor inner = sub(sub(mul(xhat, coef), mul(sa, gc)), mul(sg, ac));
      d_x = mul(mul(y4, square(r)) * (1.0 / n), inner);
    }
    if (node.needs_input_grad(2)) d_ys = mul(r, sub(big_a, mul(sg, sa) * (1.0 / n))).reshape(ys.shape());
    return Grads{d_g, d_x, d_ys};
  });
  dys = record_op("adain_grad_ys", dys, {g, x},
                  [g = SavedTensor(g), x = SavedTensor(x), s4, n](Node& node, const Tensor& bs) {
    const auto [xhat, r] = instance_norm_ops(x);
    const Tensor b4 = bs.reshape(s4);
    Tensor d_g, d_x;
    if (node.needs_input_grad(0)) d_g = mul(b4, xhat);
    if (node.needs_input_grad(1))
      d_x = mul(mul(b4, r), sub(plane_center(g), mul(xhat, plane_sum(mul(g, xhat)) * (1.0 / n))));
    return Grads{d_g, d_x};
  });
  const Shape gs = g.shape();
  dyb = record_op("adain_grad_yb", dyb, {g},
                  [gs, s4](Node&, const Tensor& bb) { return Grads{expand(bb.reshape(s4), gs)}; });
  return Grads{dx, dys, dyb};
}

}  // namespace

Tensor adain(const Tensor& x, const Tensor& ys, const Tensor& yb) {
  const char* op = "adain";
  check_same(op, {x, ys, yb});
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
  const Shape style{x.size(0), x.size(1)};
  GF_CHECK(ys.shape() == style && yb.shape() == style, op,
           "styles " << shape_str(ys.shape()) << " and " << shape_str(yb.shape()) << " must both be "
                     << shape_str(style) << " for x " << shape_str(x.shape()));
  GF_CHECK(x.size(2) * x.size(3) > 0, op, "empty planes in x " << shape_str(x.shape()));
  AdainParams p;
  p.planes = x.size(0) * x.size(1);
  p.hw = x.size(2) * x.size(3);
  p.eps = kAdainEps;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mu = Tensor::empty(style, x.dtype(), x.device()), rstd = Tensor::empty(style, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::adain_forward<T>(p, x.data<T>(), ys.data<T>(), yb.data<T>(), y.data<T>(), mu.data<T>(),
                                              rstd.data<T>(), stream_of(x.device())));
    else
      cpu::adain_forward<T>(p, x.data<T>(), ys.data<T>(), yb.data<T>(), y.data<T>(), mu.data<T>(), rstd.data<T>());
  });
  return record_op(op, y, {x, ys, yb},
                   [x = SavedTensor(x), ys = SavedTensor(ys), mu, rstd, p](Node& n, const Tensor& g) {
    Grads gr = adain_grad(g, x, ys, mu, rstd, p);
    for (size_t i = 0; i < gr.size(); ++i)
      if (!n.needs_input_grad(i)) gr[i] = Tensor();
    return gr;
  });
}

}  // namespace gf
