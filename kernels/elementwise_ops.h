// Per-element formulas of the elementwise kernels, for host and device.
#pragma once
#include "kernels/elementwise.h"
#include "kernels/math.h"

namespace gf {

template <UnaryOp op, class T>
GF_HD inline T unary_fn(T x, T a, T b, T c) {
  if constexpr (op == UnaryOp::neg) return -x;
  else if constexpr (op == UnaryOp::exp) return g_exp(x);
  else if constexpr (op == UnaryOp::log) return g_log(x);
  else if constexpr (op == UnaryOp::sqrt) return g_sqrt(x);
  else if constexpr (op == UnaryOp::rsqrt) return g_rsqrt(x);
  else if constexpr (op == UnaryOp::square) return x * x;
  else if constexpr (op == UnaryOp::pow) return g_pow(x, a);
  else if constexpr (op == UnaryOp::abs) return g_abs(x);
  else if constexpr (op == UnaryOp::sign) return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
  else if constexpr (op == UnaryOp::clamp) return x < a ? a : (x > b ? b : x);
  else if constexpr (op == UnaryOp::softplus)  // log(1 + e^x) without overflow
    return (x > T(0) ? x : T(0)) + g_log1p(g_exp(-g_abs(x)));
  else if constexpr (op == UnaryOp::sigmoid) return T(1) / (T(1) + g_exp(-x));
  // NaN stays NaN, as torch.relu: a NaN image through VGG16 or Inception gave
  // the features of a black one, and a finite PPL or precision for a network
  // whose images are all NaN. -0 still gives +0.
  else if constexpr (op == UnaryOp::relu) return !(x <= T(0)) ? x : T(0);
  else if constexpr (op == UnaryOp::leaky_relu) return x > T(0) ? x : x * a;
  else if constexpr (op == UnaryOp::affine) return x * a + b;
  else if constexpr (op == UnaryOp::leaky_relu_slope) return x > T(0) ? T(1) : a;
  else if constexpr (op == UnaryOp::relu_gate) return x <= T(0) ? T(0) : T(1);
  else if constexpr (op == UnaryOp::in_range) return (x >= a && x <= b) ? T(1) : T(0);
  else if constexpr (op == UnaryOp::nan_to_num)  // x - x is 0 for finite x, NaN for NaN and infinities
    return x - x == T(0) ? x : (x != x ? a : (x > T(0) ? b : c));
  else if constexpr (op == UnaryOp::acos) return g_acos(x);
  else if constexpr (op == UnaryOp::cos) return g_cos(x);
  else if constexpr (op == UnaryOp::sin) return g_sin(x);
  else return x;
}

template <BinaryOp op, class T>
GF_HD inline T binary_fn(T x, T y) {
  if constexpr (op == BinaryOp::add) return x + y;
  else if constexpr (op == BinaryOp::sub) return x - y;
  else if constexpr (op == BinaryOp::mul) return x * y;
  else if constexpr (op == BinaryOp::div) return x / y;
  else if constexpr (op == BinaryOp::eq) return x == y ? T(1) : T(0);
  else return x > y ? T(1) : T(0);
}

template <TernaryOp op, class T>
GF_HD inline T ternary_fn(T x, T y, T z) {
  if constexpr (op == TernaryOp::where) return x != T(0) ? y : z;
  // lerp as torch forms it: from the nearer end, so a weight of 1 gives y
  // exactly (Adam's first moment with beta1 = 0) and 0 gives x.
  else return g_abs(z) < T(0.5) ? x + z * (y - x) : y - (y - x) * (T(1) - z);
}

// Calls f(std::integral_constant<UnaryOp, op>) for the runtime op, so each
// launcher instantiates one specialised loop per op.
#define GF_UNARY_CASE(OP) case UnaryOp::OP: return f(std::integral_constant<UnaryOp, UnaryOp::OP>{});
template <class F>
inline void dispatch_unary(UnaryOp op, F&& f) {
  switch (op) {
    GF_UNARY_CASE(neg) GF_UNARY_CASE(exp) GF_UNARY_CASE(log) GF_UNARY_CASE(sqrt) GF_UNARY_CASE(rsqrt)
    GF_UNARY_CASE(square) GF_UNARY_CASE(pow) GF_UNARY_CASE(abs) GF_UNARY_CASE(sign) GF_UNARY_CASE(clamp)
    GF_UNARY_CASE(softplus) GF_UNARY_CASE(sigmoid) GF_UNARY_CASE(relu) GF_UNARY_CASE(leaky_relu)
    GF_UNARY_CASE(affine) GF_UNARY_CASE(leaky_relu_slope) GF_UNARY_CASE(relu_gate) GF_UNARY_CASE(in_range)
    GF_UNARY_CASE(nan_to_num)
    GF_UNARY_CASE(acos) GF_UNARY_CASE(cos) GF_UNARY_CASE(sin)
  }
}
#undef GF_UNARY_CASE

#define GF_BINARY_CASE(OP) case BinaryOp::OP: return f(std::integral_constant<BinaryOp, BinaryOp::OP>{});
template <class F>
inline void dispatch_binary(BinaryOp op, F&& f) {
  switch (op) {
    GF_BINARY_CASE(add) GF_BINARY_CASE(sub) GF_BINARY_CASE(mul) GF_BINARY_CASE(div) GF_BINARY_CASE(eq)
    GF_BINARY_CASE(gt)
  }
}
#undef GF_BINARY_CASE

template <class F>
inline void dispatch_ternary(TernaryOp op, F&& f) {
  if (op == TernaryOp::where) return f(std::integral_constant<TernaryOp, TernaryOp::where>{});
  return f(std::integral_constant<TernaryOp, TernaryOp::lerp>{});
}

}  // namespace gf
