// Per-element formulas of bias_act for host and device, shared by the CPU
// reference, the CUDA kernels and the fused noise kernel. `v` is the
// pre-activation x + b; `yy` is the unclamped activation output y / gain.
#pragma once
#include "kernels/bias_act.h"
#include "kernels/math.h"

namespace gf {

constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;

template <Act A, class T>
GF_HD inline T act_fn(T v, T alpha) {
  const T one = T(1);
  if constexpr (A == Act::linear)
    return v;
  else if constexpr (A == Act::relu)  // NaN stays NaN, as torch.relu (the official reference path)
    return !(v <= T(0)) ? v : T(0);
  else if constexpr (A == Act::lrelu)
    return v > T(0) ? v : v * alpha;
  else if constexpr (A == Act::tanh)
    return g_tanh(v);
  else if constexpr (A == Act::sigmoid)
    return one / (one + g_exp(-v));
  else if constexpr (A == Act::elu)
    return v >= T(0) ? v : g_exp(v) - one;
  else if constexpr (A == Act::selu)
    return v >= T(0) ? T(kSeluScale) * v : T(kSeluScale * kSeluAlpha) * (g_exp(v) - one);
  else if constexpr (A == Act::softplus)  // log(1 + e^v) without overflow
    return (v > T(0) ? v : T(0)) + g_log1p(g_exp(-g_abs(v)));
  else
    return v / (one + g_exp(-v));  // swish
}

// act'(v), from yy where the activation allows it. At a kink and at NaN the
// branch is torch's (the official reference path): relu, elu and selu take the
// x <= 0 side at 0 and the other at NaN; lrelu the alpha side at both. A
// negative lrelu slope makes yy > 0 on both sides, so v decides there
// (act_grad_uses_x).
template <Act A, class T>
GF_HD inline T act_grad(T v, T yy, T alpha) {
  const T one = T(1);
  if constexpr (A == Act::linear)
    return one;
  else if constexpr (A == Act::relu)
    return !(yy <= T(0)) ? one : T(0);
  else if constexpr (A == Act::lrelu)
    return (alpha < T(0) ? v > T(0) : yy > T(0)) ? one : alpha;
  else if constexpr (A == Act::tanh)
    return one - yy * yy;
  else if constexpr (A == Act::sigmoid)
    return yy * (one - yy);
  else if constexpr (A == Act::elu)
    return !(yy <= T(0)) ? one : yy + one;
  else if constexpr (A == Act::selu)
    return !(yy <= T(0)) ? T(kSeluScale) : yy + T(kSeluScale * kSeluAlpha);
  else if constexpr (A == Act::softplus)
    return one - g_exp(-yy);  // sigmoid(v)
  else {                      // swish: s + v s (1 - s)
    const T s = one / (one + g_exp(-v));
    return s * (one + v * (one - s));
  }
}

// act''(v), from yy where the activation allows it; elu's and selu's are 0 at
// 0 and at NaN, as torch's.
template <Act A, class T>
GF_HD inline T act_grad2(T v, T yy, T alpha) {
  const T one = T(1), two = T(2);
  if constexpr (A == Act::linear || A == Act::relu || A == Act::lrelu)
    return T(0);
  else if constexpr (A == Act::tanh)
    return -two * yy * (one - yy * yy);
  else if constexpr (A == Act::sigmoid)
    return yy * (one - yy) * (one - two * yy);
  else if constexpr (A == Act::elu)
    return !(yy < T(0)) ? T(0) : yy + one;
  else if constexpr (A == Act::selu)
    return !(yy < T(0)) ? T(0) : yy + T(kSeluScale * kSeluAlpha);
  else if constexpr (A == Act::softplus) {  // sigmoid(v) (1 - sigmoid(v))
    const T c = g_exp(-yy);
    return c * (one - c);
  } else {  // swish: s (1 - s) (2 + v (1 - 2 s))
    const T s = one / (one + g_exp(-v));
    return s * (one - s) * (two + v * (one - two * s));
  }
}

// Forward of one element: gain, then clamp.
template <Act A, class T>
GF_HD inline T bias_act_value(T v, T alpha, T gain, T clamp) {
  T y = act_fn<A>(v, alpha) * gain;
  if (clamp >= T(0)) y = y > clamp ? clamp : (y < -clamp ? -clamp : y);
  return y;
}

// One element of the gradient kernels (see bias_act.h). As in the official
// plugin, the gradient is cut where the forward clamped: |y| >= clamp.
template <Act A, int Order, class T>
GF_HD inline T bias_act_grad_value(T g, T v, T y, T dy, T alpha, T gain, T clamp) {
  if (clamp >= T(0) && !(g_abs(y) < clamp)) return T(0);
  const T yy = gain != T(0) ? y / gain : T(0);
  if constexpr (Order == 1)
    return g * gain * act_grad<A>(v, yy, alpha);
  else
    return g * dy * gain * act_grad2<A>(v, yy, alpha);
}

#define GF_ACT_CASE(A) \
  case Act::A:         \
    return f(std::integral_constant<Act, Act::A>{});
// Calls f(std::integral_constant<Act, a>) so each loop is specialised per activation.
template <class F>
inline void dispatch_act(Act a, F&& f) {
  switch (a) {
    GF_ACT_CASE(linear)
    GF_ACT_CASE(relu) GF_ACT_CASE(lrelu) GF_ACT_CASE(tanh) GF_ACT_CASE(sigmoid) GF_ACT_CASE(elu) GF_ACT_CASE(selu)
        GF_ACT_CASE(softplus) GF_ACT_CASE(swish)
  }
}
#undef GF_ACT_CASE

}  // namespace gf
