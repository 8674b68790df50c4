#include <type_traits>

#include "kernels/bias_act_ops.h"
#include "kernels/parallel.h"

namespace gf::cpu {
namespace {

// The bias of row r, a row being bias_step consecutive elements.
template <class T>
T bias_at(const BiasActParams& p, const T* b, int64_t r) {
  return b ? b[r % p.bias_len] : T(0);
}

}  // namespace

template <class T>
void bias_act(const BiasActParams& p, const T* x, const T* b, T* y) {
  if (p.n == 0) return;  // bias_step may be 0 too
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  dispatch_act(p.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    // Rows of bias_step elements share one bias value.
    const int64_t rows = p.n / p.bias_step;
    parallel_for(rows, p.n > kMinParallelWork, [&](int64_t r) {
      const T bias = bias_at(p, b, r);
#pragma omp simd
      for (int64_t i = r * p.bias_step; i < (r + 1) * p.bias_step; ++i)
        y[i] = bias_act_value<A>(x[i] + bias, alpha, gain, clamp);
    });
  });
}

template <class T>
void bias_act_grad(const BiasActParams& p, int order, const T* g, const T* x, const T* b, const T* y, const T* dy,
                   T* out) {
  if (p.n == 0) return;  // bias_step may be 0 too
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  auto run = [&](auto act_tag, auto order_tag) {
    constexpr Act A = decltype(act_tag)::value;
    constexpr int O = decltype(order_tag)::value;
    const int64_t rows = p.n / p.bias_step;
    parallel_for(rows, p.n > kMinParallelWork, [&](int64_t r) {
      const T bias = bias_at(p, b, r);
#pragma omp simd
      for (int64_t i = r * p.bias_step; i < (r + 1) * p.bias_step; ++i) {
        const T v = x ? x[i] + bias : T(0);
        out[i] = bias_act_grad_value<A, O>(g[i], v, y ? y[i] : T(0), dy ? dy[i] : T(0), alpha, gain, clamp);
      }
    });
  };
  dispatch_act(p.act, [&](auto a) {
    if (order == 1)
      run(a, std::integral_constant<int, 1>{});
    else
      run(a, std::integral_constant<int, 2>{});
  });
}

template void bias_act<float>(const BiasActParams&, const float*, const float*, float*);
template void bias_act<double>(const BiasActParams&, const double*, const double*, double*);
template void bias_act_grad<float>(const BiasActParams&, int, const float*, const float*, const float*, const float*,
                                   const float*, float*);
template void bias_act_grad<double>(const BiasActParams&, int, const double*, const double*, const double*,
                                    const double*, const double*, double*);

}  // namespace gf::cpu
