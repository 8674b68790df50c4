// Grid-stride loop over packs of V elements, flat over [n, c, hw] so that
// small planes (4 x 4 at the start of the synthesis network) still fill the
// GPU. V = 16 bytes' worth when hw is a whole number of packs and pointers
// are 16-byte aligned: a pack then lies in one plane and shares its strength,
// bias and noise row. 32-bit indices when they fit (cheaper division).
#include <cstdint>
#include <type_traits>

#include "kernels/bias_act_ops.h"
#include "kernels/cuda_context.cuh"
#include "kernels/vector_access.cuh"
#include "kernels/noise.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <Act A, int V, class I, class T>
__global__ void noise_bias_act_kernel(NoiseParams p, const T* __restrict__ x, const T* __restrict__ noise,
                                      const T* __restrict__ strength, const T* __restrict__ b, T* __restrict__ y) {
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  const I hw = I(p.hw), c = I(p.c), packs = I(p.n * p.c * p.hw / V);
  for (I j = I(blockIdx.x) * blockDim.x + threadIdx.x; j < packs; j += I(gridDim.x) * blockDim.x) {
    const I i = j * V, plane = i / hw, k = i - plane * hw, ci = plane % c;
    const T s = __ldg(strength + (p.strength_per_channel ? ci : 0)), bias = b ? __ldg(b + ci) : T(0);
    const T* nz = noise + (p.noise_per_sample ? (plane / c) * hw : 0) + k;
    const Pack<T, V> xv = *reinterpret_cast<const Pack<T, V>*>(x + i), nv = *reinterpret_cast<const Pack<T, V>*>(nz);
    Pack<T, V> out;
#pragma unroll
    for (int q = 0; q < V; ++q) out.v[q] = bias_act_value<A>(xv.v[q] + s * nv.v[q] + bias, alpha, gain, clamp);
    *reinterpret_cast<Pack<T, V>*>(y + i) = out;
  }
}


}  // namespace

template <class T>
void noise_bias_act(const NoiseParams& p, const T* x, const T* noise, const T* strength, const T* b, T* y, Stream s) {
  const int64_t n = p.n * p.c * p.hw;
  if (n == 0) return;
  const bool vec = p.hw % (16 / sizeof(T)) == 0 && aligned16(x) && aligned16(noise) && aligned16(y);
  dispatch_act(p.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    dispatch_pack_and_index<T>(vec, n, [&](auto v, auto index) {
      constexpr int V = decltype(v)::value;
      using I = decltype(index);
      noise_bias_act_kernel<A, V, I, T>
          <<<grid_for(n / V, kBlock), kBlock, 0, (cudaStream_t)s>>>(p, x, noise, strength, b, y);
    });
  });
  GF_CUDA_LAUNCH_CHECK("noise_bias_act");
}

template void noise_bias_act<float>(const NoiseParams&, const float*, const float*, const float*, const float*, float*,
                                    Stream);
template void noise_bias_act<double>(const NoiseParams&, const double*, const double*, const double*, const double*,
                                     double*, Stream);

}  // namespace gf::cuda
