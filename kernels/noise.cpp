#include "kernels/noise.h"

#include <type_traits>

#include "kernels/bias_act_ops.h"
#include "kernels/parallel.h"

namespace gf::cpu {

template <class T>
void noise_bias_act(const NoiseParams& p, const T* x, const T* noise, const T* strength, const T* b, T* y) {
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  dispatch_act(p.act, [&](auto tag) {
    constexpr Act A = decltype(tag)::value;
    parallel_for(p.n * p.c, p.n * p.c * p.hw > kMinParallelWork, [&](int64_t nc) {
      const int64_t ni = nc / p.c, ci = nc % p.c;
      const T s = strength[p.strength_per_channel ? ci : 0], bias = b ? b[ci] : T(0);
      const T* nz = noise + (p.noise_per_sample ? ni * p.hw : 0);
      const T* xr = x + nc * p.hw;
      T* yr = y + nc * p.hw;
#pragma omp simd
      for (int64_t k = 0; k < p.hw; ++k) yr[k] = bias_act_value<A>(xr[k] + s * nz[k] + bias, alpha, gain, clamp);
    });
  });
}

template void noise_bias_act<float>(const NoiseParams&, const float*, const float*, const float*, const float*, float*);
template void noise_bias_act<double>(const NoiseParams&, const double*, const double*, const double*, const double*,
                                     double*);

}  // namespace gf::cpu
