#include <algorithm>
#include <type_traits>

#include "kernels/bias_act_ops.h"
#include "kernels/parallel.h"

namespace gf::cpu {
namespace {

template <bool B>
using Bool = std::integral_constant<bool, B>;

// f(Bool<c>{}): a loop specialised on a condition that holds for the whole call.
template <class F>
inline void dispatch_bool(bool c, F&& f) {
  if (c)
    f(Bool<true>{});
  else
    f(Bool<false>{});
}

constexpr int64_t kSpan = 4096;  // elements per task of a loop that reads no bias

// The loops themselves, as functions of restrict pointers and scalars passed
// by value, so nothing the loop reads may alias its output. This file is
// compiled with -fno-trapping-math (CMakeLists.txt): without it GCC keeps the
// activations' float selects (lrelu's sign test, the clamp) as branches and
// these loops scalar (the small config's bias_act_grad took 7x longer).

// y = bias_act(x + bias) over len elements; C: clamp or not.
template <Act A, bool C, class T>
void forward_span(const T* __restrict x, T bias, T* __restrict y, int64_t len, T alpha, T gain, T clamp) {
  const T c = C ? clamp : T(-1);  // a constant when there is no clamp
#pragma omp simd
  for (int64_t k = 0; k < len; ++k) y[k] = bias_act_value<A>(x[k] + bias, alpha, gain, c);
}

// The same with one bias value per element.
template <Act A, bool C, class T>
void forward_span_biases(const T* __restrict x, const T* __restrict b, T* __restrict y, int64_t len, T alpha, T gain,
                         T clamp) {
  const T c = C ? clamp : T(-1);
#pragma omp simd
  for (int64_t k = 0; k < len; ++k) y[k] = bias_act_value<A>(x[k] + b[k], alpha, gain, c);
}

// The gradient of `O` over len elements, reading x (+ bias), y and dy only
// where X, Y and DY say (else 0).
template <Act A, int O, bool X, bool Y, bool DY, class T>
void grad_span(const T* __restrict g, const T* __restrict x, T bias, const T* __restrict y, const T* __restrict dy,
               T* __restrict out, int64_t len, T alpha, T gain, T clamp) {
#pragma omp simd
  for (int64_t k = 0; k < len; ++k)
    out[k] = bias_act_grad_value<A, O>(g[k], X ? x[k] + bias : T(0), Y ? y[k] : T(0), DY ? dy[k] : T(0), alpha,
                                       gain, clamp);
}

}  // namespace

// The loops are specialised (activation, clamp or not, which operands are
// read) so that each is a plain unit-stride map the compiler vectorizes; each
// element is the same expression as in the unspecialised form (bias_act_value
// of x + b, bias_act_grad_value), so the bits do not depend on the split.
template <class T>
void bias_act(const BiasActParams& p, const T* x, const T* b, T* y) {
  if (p.n == 0) return;  // bias_step may be 0 too
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  const int64_t len = p.bias_step, rows = p.n / len;
  const bool parallel = p.n > kMinParallelWork;
  dispatch_act(p.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    dispatch_bool(clamp >= T(0), [&](auto clamp_tag) {
      constexpr bool C = decltype(clamp_tag)::value;
      if (len == 1 && b) {
        // [.., C] with the bias along the last dim (FC layers): rows of one
        // element; vectorize along C instead, each element with its bias.
        const int64_t nc = p.bias_len;
        parallel_for(p.n / nc, parallel, [&](int64_t o) {
          forward_span_biases<A, C>(x + o * nc, b, y + o * nc, nc, alpha, gain, clamp);
        });
        return;
      }
      // Rows of bias_step elements share one bias value, b[r % bias_len].
      parallel_for(rows, parallel, [&](int64_t r) {
        forward_span<A, C>(x + r * len, b ? b[r % p.bias_len] : T(0), y + r * len, len, alpha, gain, clamp);
      });
    });
  });
}

// Order 1 reads x (and b) only for swish and a negative-slope lrelu (act' from x + b), y for the other
// activations and the clamp; order 2 reads dy too. An operand a loop does not
// read is not touched; one it reads but was not given (null) counts as 0, as
// the kernel always did. Without x the bias is not read and the whole tensor
// is one map, split into spans.
template <class T>
void bias_act_grad(const BiasActParams& p, int order, const T* g, const T* x, const T* b, const T* y, const T* dy,
                   T* out) {
  if (p.n == 0) return;  // bias_step may be 0 too
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  const bool parallel = p.n > kMinParallelWork;
  auto run = [&](auto act_tag, auto order_tag, auto x_tag, auto y_tag, auto dy_tag) {
    constexpr Act A = decltype(act_tag)::value;
    constexpr int O = decltype(order_tag)::value;
    constexpr bool X = decltype(x_tag)::value, Y = decltype(y_tag)::value, DY = decltype(dy_tag)::value;
    // Elements [i0, i0 + len), sharing `bias`.
    auto span = [&](int64_t i0, int64_t len, T bias) {
      grad_span<A, O, X, Y, DY>(g + i0, X ? x + i0 : nullptr, bias, Y ? y + i0 : nullptr, DY ? dy + i0 : nullptr,
                                out + i0, len, alpha, gain, clamp);
    };
    if constexpr (X) {
      const int64_t len = p.bias_step;
      parallel_for(p.n / len, parallel, [&](int64_t r) { span(r * len, len, b ? b[r % p.bias_len] : T(0)); });
    } else {
      parallel_for((p.n + kSpan - 1) / kSpan, parallel,
                   [&](int64_t s) { span(s * kSpan, std::min(kSpan, p.n - s * kSpan), T(0)); });
    }
  };
  dispatch_act(p.act, [&](auto a) {
    constexpr Act A = decltype(a)::value;
    auto with_x = [&](auto xt) {
      dispatch_bool(y != nullptr, [&](auto yt) {
        if (order == 1)
          run(a, std::integral_constant<int, 1>{}, xt, yt, Bool<false>{});
        else
          dispatch_bool(dy != nullptr, [&](auto dt) { run(a, std::integral_constant<int, 2>{}, xt, yt, dt); });
      });
    };
    // Only swish, and lrelu with a negative slope (x given then), read x + b
    // (act' and act'' of the others come from y).
    if constexpr (A == Act::swish || A == Act::lrelu)
      dispatch_bool(x != nullptr, with_x);
    else
      with_x(Bool<false>{});
  });
}

template void bias_act<float>(const BiasActParams&, const float*, const float*, float*);
template void bias_act<double>(const BiasActParams&, const double*, const double*, double*);
template void bias_act_grad<float>(const BiasActParams&, int, const float*, const float*, const float*, const float*,
                                   const float*, float*);
template void bias_act_grad<double>(const BiasActParams&, int, const double*, const double*, const double*,
                                    const double*, const double*, double*);

}  // namespace gf::cpu
