#include "kernels/noise.h"

#include <type_traits>

#include "kernels/bias_act_ops.h"
#include "kernels/parallel.h"

namespace gf::cpu {

namespace {

// One plane: y = bias_act(x + s * noise + bias) over hw elements. Restrict
// pointers, scalars by value and -fno-trapping-math (see bias_act.cpp), so
// the loop vectorizes.
template <Act A, bool C, class T>
void plane(const T* __restrict x, const T* __restrict nz, T s, T bias, T* __restrict y, int64_t hw, T alpha, T gain,
           T clamp) {
  const T c = C ? clamp : T(-1);  // a constant when there is no clamp
#pragma omp simd
  for (int64_t k = 0; k < hw; ++k) y[k] = bias_act_value<A>(x[k] + s * nz[k] + bias, alpha, gain, c);
}

}  // namespace

template <class T>
void noise_bias_act(const NoiseParams& p, const T* x, const T* noise, const T* strength, const T* b, T* y) {
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  const int64_t hw = p.hw;
  // Specialised on the clamp as bias_act is; the same expression per element.
  auto run = [&](auto act_tag, auto clamp_tag) {
    constexpr Act A = decltype(act_tag)::value;
    constexpr bool C = decltype(clamp_tag)::value;
    parallel_for(p.n * p.c, p.n * p.c * hw > kMinParallelWork, [&](int64_t nc) {
      const int64_t ni = nc / p.c, ci = nc % p.c;
      const T s = strength[p.strength_per_channel ? ci : 0], bias = b ? b[ci] : T(0);
      plane<A, C>(x + nc * hw, noise + (p.noise_per_sample ? ni * hw : 0), s, bias, y + nc * hw, hw, alpha, gain,
                  clamp);
    });
  };
  dispatch_act(p.act, [&](auto a) {
    if (clamp >= T(0))
      run(a, std::true_type{});
    else
      run(a, std::false_type{});
  });
}

template void noise_bias_act<float>(const NoiseParams&, const float*, const float*, const float*, const float*, float*);
template void noise_bias_act<double>(const NoiseParams&, const double*, const double*, const double*, const double*,
                                     double*);

}  // namespace gf::cpu
