// Elementwise ops with NumPy broadcasting. Backward formulas are written with
// these same ops; sum_to folds a gradient back over broadcast dims.
#include <cmath>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace gf {

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    GF_CHECK(da == db || da == 1 || db == 1, op,
             "shapes " << shape_str(a) << " and " << shape_str(b) << " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

bool broadcasts_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t i = 1; i <= from.size(); ++i)
    if (from[from.size() - i] != 1 && from[from.size() - i] != to[to.size() - i]) return false;
  return true;
}

namespace {

// Raw kernels, no graph.
// Into `into` when given (it may be x itself: each element is read, then written), else a new tensor.
Tensor run_unary(const char* name, UnaryOp op, const Tensor& x, double a = 0, double b = 0, double c = 0,
                 const Tensor& into = Tensor()) {
  check_same(name, {x});
  Tensor y = into.defined() ? into : Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(name, cuda::unary<T>(op, x.data<T>(), y.data<T>(), x.numel(), a, b, c, stream_of(x.device())));
    else
      cpu::unary<T>(op, x.data<T>(), y.data<T>(), x.numel(), a, b, c);
  });
  return y;
}

Tensor run_binary(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same(name, {a, b});
  const Shape s = broadcast_shape(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(s, a.dtype(), a.device());
  const Dims d = to_dims(s);
  const Strides sa = broadcast_strides(a.shape(), s), sb = broadcast_strides(b.shape(), s);
  dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if (a.device().is_cuda())
      GF_CUDA_CALL(name, cuda::binary<T>(op, a.data<T>(), sa, b.data<T>(), sb, out.data<T>(), d, stream_of(a.device())));
    else
      cpu::binary<T>(op, a.data<T>(), sa, b.data<T>(), sb, out.data<T>(), d);
  });
  return out;
}

Tensor run_ternary(const char* name, TernaryOp op, const Tensor& a, const Tensor& b, const Tensor& c) {
  check_same(name, {a, b, c});
  const Shape s = broadcast_shape(broadcast_shape(a.shape(), b.shape(), name), c.shape(), name);
  Tensor out = Tensor::empty(s, a.dtype(), a.device());
  const Dims d = to_dims(s);
  const Strides sa = broadcast_strides(a.shape(), s), sb = broadcast_strides(b.shape(), s),
                sc = broadcast_strides(c.shape(), s);
  dispatch_float(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if (a.device().is_cuda())
      GF_CUDA_CALL(name, cuda::ternary<T>(op, a.data<T>(), sa, b.data<T>(), sb, c.data<T>(), sc, out.data<T>(), d,
                                          stream_of(a.device())));
    else
      cpu::ternary<T>(op, a.data<T>(), sa, b.data<T>(), sb, c.data<T>(), sc, out.data<T>(), d);
  });
  return out;
}

using Grads = GradList;

// Unary op whose backward is g * dydx(x, y): a function of x, or with
// save_out of the output y alone (x is then neither kept nor checked).
template <class DyDx>
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, double a, double b, DyDx dydx, bool save_out = false) {
  Tensor y = run_unary(name, op, x, a, b);
  return record_op(name, y, {x},
                   [x = save_out ? SavedTensor() : SavedTensor(x), dydx, save_out](Node& self, const Tensor& g) {
                     return Grads{mul(g, dydx(x, save_out ? self.saved_output() : Tensor()))};
                   },
                   save_out);
}

// An op whose derivative is 1 inside a region and 0 outside (relu, clamp):
// the gradient is selected, not multiplied by a 0/1 mask, so a NaN or inf
// arriving from above stays out of the zero region as in PyTorch's
// threshold_backward and clamp_backward (0 * NaN would be NaN).
using Region = Tensor (*)(const Tensor& x, double a, double b);
Tensor gated_op(const char* name, UnaryOp op, const Tensor& x, double a, double b, Region inside) {
  Tensor y = run_unary(name, op, x, a, b);
  return record_op(name, y, {x}, [x = SavedTensor(x), a, b, inside](Node&, const Tensor& g) {
    return Grads{where(inside(x, a, b), g, zeros({}, g.dtype(), g.device()))};
  });
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary("add", BinaryOp::add, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record_op("add", out, {a, b}, [sa, sb](Node& n, const Tensor& g) {
    return Grads{n.needs_input_grad(0) ? sum_to(g, sa) : Tensor(), n.needs_input_grad(1) ? sum_to(g, sb) : Tensor()};
  });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary("sub", BinaryOp::sub, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record_op("sub", out, {a, b}, [sa, sb](Node& n, const Tensor& g) {
    return Grads{n.needs_input_grad(0) ? sum_to(g, sa) : Tensor(), n.needs_input_grad(1) ? sum_to(neg(g), sb) : Tensor()};
  });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary("mul", BinaryOp::mul, a, b);
  return record_op("mul", out, {a, b}, [a = SavedTensor(a), b = SavedTensor(b)](Node& n, const Tensor& g) {
    return Grads{n.needs_input_grad(0) ? sum_to(mul(g, b), a.shape()) : Tensor(),
                 n.needs_input_grad(1) ? sum_to(mul(g, a), b.shape()) : Tensor()};
  });
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = run_binary("div", BinaryOp::div, a, b);
  return record_op("div", out, {a, b}, [a = SavedTensor(a), b = SavedTensor(b)](Node& n, const Tensor& g) {
    Tensor ga, gb;
    if (n.needs_input_grad(0)) ga = sum_to(div(g, b), a.shape());
    if (n.needs_input_grad(1)) gb = sum_to(neg(div(mul(g, a), square(b))), b.shape());
    return Grads{ga, gb};
  });
}

Tensor neg(const Tensor& x) {
  Tensor y = run_unary("neg", UnaryOp::neg, x);
  return record_op("neg", y, {x}, [](Node&, const Tensor& g) { return Grads{neg(g)}; });
}

Tensor affine(const Tensor& x, double scale, double shift) {
  Tensor y = run_unary("affine", UnaryOp::affine, x, scale, shift);
  return record_op("affine", y, {x}, [scale](Node&, const Tensor& g) { return Grads{affine(g, scale, 0.0)}; });
}

Tensor exp(const Tensor& x) {
  return unary_op("exp", UnaryOp::exp, x, 0, 0, [](const Tensor&, const Tensor& y) { return y; }, true);
}
Tensor log(const Tensor& x) {
  Tensor y = run_unary("log", UnaryOp::log, x);
  return record_op("log", y, {x}, [x = SavedTensor(x)](Node&, const Tensor& g) { return Grads{div(g, x)}; });
}
Tensor acos(const Tensor& x) {  // d/dx acos x = -1 / sqrt(1 - x^2)
  return unary_op("acos", UnaryOp::acos, x, 0, 0,
                  [](const Tensor& x, const Tensor&) { return neg(rsqrt(affine(square(x), -1.0, 1.0))); });
}
Tensor cos(const Tensor& x) {
  return unary_op("cos", UnaryOp::cos, x, 0, 0, [](const Tensor& x, const Tensor&) { return neg(sin(x)); });
}
Tensor sin(const Tensor& x) {
  return unary_op("sin", UnaryOp::sin, x, 0, 0, [](const Tensor& x, const Tensor&) { return cos(x); });
}
Tensor sqrt(const Tensor& x) {
  Tensor y = run_unary("sqrt", UnaryOp::sqrt, x);
  return record_op("sqrt", y, {x}, [](Node& self, const Tensor& g) { return Grads{div(affine(g, 0.5, 0.0), self.saved_output())}; },
                   true);
}
Tensor rsqrt(const Tensor& x) {  // d/dx x^-1/2 = -1/2 x^-3/2 = -1/2 y^3
  return unary_op("rsqrt", UnaryOp::rsqrt, x, 0, 0,
                  [](const Tensor&, const Tensor& y) { return affine(mul(y, square(y)), -0.5, 0.0); }, true);
}
Tensor square(const Tensor& x) {
  return unary_op("square", UnaryOp::square, x, 0, 0, [](const Tensor& x, const Tensor&) { return affine(x, 2.0, 0.0); });
}
Tensor pow(const Tensor& x, double p) {
  // x^0 is constant: its gradient is 0 whatever arrives from above (a NaN
  // too) and at x = 0 (where 0 * x^-1 is NaN), as torch's pow_backward.
  if (p == 0) {
    Tensor y = run_unary("pow", UnaryOp::pow, x, p);
    return record_op("pow", y, {x}, [](Node&, const Tensor& g) { return Grads{zeros(g.shape(), g.dtype(), g.device())}; });
  }
  // torch's pow runs the exponents 0.5 and -0.5 as sqrt and rsqrt, whose
  // values at -inf (NaN) and -0 (-0, -inf) are not std::pow's (+inf, +0,
  // +inf); the backward stays pow_backward, p x^(p-1), itself through here.
  const UnaryOp op = p == 0.5 ? UnaryOp::sqrt : p == -0.5 ? UnaryOp::rsqrt : UnaryOp::pow;
  return unary_op("pow", op, x, p, 0, [p](const Tensor& x, const Tensor&) { return affine(pow(x, p - 1.0), p, 0.0); });
}
Tensor abs(const Tensor& x) {
  return unary_op("abs", UnaryOp::abs, x, 0, 0, [](const Tensor& x, const Tensor&) { return sign(x); });
}
Tensor clamp(const Tensor& x, double lo, double hi) {
  GF_CHECK(lo <= hi, "clamp", "lo " << lo << " > hi " << hi);
  return gated_op("clamp", UnaryOp::clamp, x, lo, hi, in_range);
}
Tensor softplus(const Tensor& x) {
  return unary_op("softplus", UnaryOp::softplus, x, 0, 0, [](const Tensor& x, const Tensor&) { return sigmoid(x); });
}
Tensor sigmoid(const Tensor& x) {  // y (1 - y)
  return unary_op("sigmoid", UnaryOp::sigmoid, x, 0, 0,
                  [](const Tensor&, const Tensor& y) { return sub(y, square(y)); }, true);
}
Tensor relu(const Tensor& x) {
  // The gradient passes where !(x <= 0), a NaN x included, as torch's threshold_backward.
  return gated_op("relu", UnaryOp::relu, x, 0, 0,
                  [](const Tensor& x, double, double) { return run_unary("relu_gate", UnaryOp::relu_gate, x); });
}
Tensor leaky_relu(const Tensor& x, double alpha) {
  return unary_op("leaky_relu", UnaryOp::leaky_relu, x, alpha, 0,
                  [alpha](const Tensor& x, const Tensor&) { return leaky_relu_slope(x, alpha); });
}

// Piecewise constant: derivative zero almost everywhere, so no node.
Tensor sign(const Tensor& x) { return run_unary("sign", UnaryOp::sign, x); }
Tensor leaky_relu_slope(const Tensor& x, double alpha) {
  return run_unary("leaky_relu_slope", UnaryOp::leaky_relu_slope, x, alpha);
}
Tensor in_range(const Tensor& x, double lo, double hi) { return run_unary("in_range", UnaryOp::in_range, x, lo, hi); }
Tensor eq(const Tensor& a, const Tensor& b) { return run_binary("eq", BinaryOp::eq, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return run_binary("gt", BinaryOp::gt, a, b); }

Tensor nan_to_num(const Tensor& x, double nan, double posinf, double neginf) {
  return run_unary("nan_to_num", UnaryOp::nan_to_num, x, nan, posinf, neginf);  // no node: used on gradients
}

void nan_to_num_(const Tensor& x, double nan, double posinf, double neginf) {
  run_unary("nan_to_num_", UnaryOp::nan_to_num, x, nan, posinf, neginf, x);
  x.bump_version();
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  Tensor out = run_ternary("where", TernaryOp::where, cond, a, b);
  const Shape sa = a.shape(), sb = b.shape();
  return record_op("where", out, {cond, a, b}, [cond = SavedTensor(cond), sa, sb](Node& n, const Tensor& g) {
    Tensor z = zeros({}, g.dtype(), g.device());
    return Grads{Tensor(), n.needs_input_grad(1) ? sum_to(where(cond, g, z), sa) : Tensor(),
                 n.needs_input_grad(2) ? sum_to(where(cond, z, g), sb) : Tensor()};
  });
}

Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& t) {
  Tensor out = run_ternary("lerp", TernaryOp::lerp, a, b, t);
  return record_op("lerp", out, {a, b, t},
                   [a = SavedTensor(a), b = SavedTensor(b), t = SavedTensor(t)](Node& n, const Tensor& g) {
    Tensor ga, gb, gt_;
    if (n.needs_input_grad(0)) ga = sum_to(mul(g, affine(t, -1.0, 1.0)), a.shape());
    if (n.needs_input_grad(1)) gb = sum_to(mul(g, t), b.shape());
    if (n.needs_input_grad(2)) gt_ = sum_to(mul(g, sub(b, a)), t.shape());
    return Grads{ga, gb, gt_};
  });
}
Tensor lerp(const Tensor& a, const Tensor& b, double t) {
  return lerp(a, b, Tensor::scalar(t, a.dtype(), a.device()));
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, double s) { return affine(a, 1.0, s); }
Tensor operator-(const Tensor& a, double s) { return affine(a, 1.0, -s); }
Tensor operator*(const Tensor& a, double s) { return affine(a, s, 0.0); }
Tensor operator/(const Tensor& a, double s) { return affine(a, 1.0 / s, 0.0); }
Tensor operator+(double s, const Tensor& a) { return affine(a, 1.0, s); }
Tensor operator-(double s, const Tensor& a) { return affine(a, -1.0, s); }
Tensor operator*(double s, const Tensor& a) { return affine(a, s, 0.0); }
Tensor operator/(double s, const Tensor& a) { return mul(full_like(a, s), pow(a, -1.0)); }

}  // namespace gf
