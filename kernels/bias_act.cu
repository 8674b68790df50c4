// Grid-stride loops over packs of V elements: V = 16 bytes' worth (4 floats,
// 2 doubles) when a bias row (bias_step elements; all n without a bias) is a
// whole number of packs and the pointers are 16-byte aligned, so one pack shares one bias value and
// loads are 128-bit; else V = 1 (bias along the last dim, say). Indices are
// 32-bit when they fit: the bias index needs a division per pack, and 64-bit
// division is several times slower.
#include <cstdint>
#include <type_traits>

#include "kernels/bias_act_ops.h"
#include "kernels/cuda_context.cuh"
#include "kernels/vector_access.cuh"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <class T, int V>
__device__ __forceinline__ Pack<T, V> load(const T* p, int64_t i) {
  if (!p) return Pack<T, V>{};
  return *reinterpret_cast<const Pack<T, V>*>(p + i);
}

template <Act A, int V, class I, class T>
__global__ void bias_act_kernel(BiasActParams p, const T* __restrict__ x, const T* __restrict__ b, T* __restrict__ y) {
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  const I packs = I(p.n / V), step = I(p.bias_step), len = I(p.bias_len ? p.bias_len : 1);
  for (I j = I(blockIdx.x) * blockDim.x + threadIdx.x; j < packs; j += I(gridDim.x) * blockDim.x) {
    const I i = j * V;
    const T bias = b ? __ldg(b + (i / step) % len) : T(0);
    Pack<T, V> in = load<T, V>(x, i), out;
#pragma unroll
    for (int k = 0; k < V; ++k) out.v[k] = bias_act_value<A>(in.v[k] + bias, alpha, gain, clamp);
    *reinterpret_cast<Pack<T, V>*>(y + i) = out;
  }
}

template <Act A, int O, int V, class I, class T>
__global__ void bias_act_grad_kernel(BiasActParams p, const T* __restrict__ g, const T* __restrict__ x,
                                     const T* __restrict__ b, const T* __restrict__ y, const T* __restrict__ dy,
                                     T* __restrict__ out) {
  const T alpha = T(p.alpha), gain = T(p.gain), clamp = T(p.clamp);
  const I packs = I(p.n / V), step = I(p.bias_step), len = I(p.bias_len ? p.bias_len : 1);
  for (I j = I(blockIdx.x) * blockDim.x + threadIdx.x; j < packs; j += I(gridDim.x) * blockDim.x) {
    const I i = j * V;
    const T bias = b ? __ldg(b + (i / step) % len) : T(0);
    const Pack<T, V> gv = load<T, V>(g, i), xv = load<T, V>(x, i), yv = load<T, V>(y, i), dv = load<T, V>(dy, i);
    Pack<T, V> o;
#pragma unroll
    for (int k = 0; k < V; ++k)
      o.v[k] = bias_act_grad_value<A, O>(gv.v[k], xv.v[k] + bias, yv.v[k], dv.v[k], alpha, gain, clamp);
    *reinterpret_cast<Pack<T, V>*>(out + i) = o;
  }
}


// Calls f(integral_constant V, index type tag) for the widest pack and narrowest index that apply.
template <class T, class F>
void dispatch_pack(const BiasActParams& p, std::initializer_list<const void*> ptrs, F&& f) {
  bool vec = (p.bias_len ? p.bias_step : p.n) % (16 / sizeof(T)) == 0;
  for (const void* q : ptrs) vec = vec && aligned16(q);  // null is aligned
  dispatch_pack_and_index<T>(vec, p.n, f);
}

}  // namespace

template <class T>
void bias_act(const BiasActParams& p, const T* x, const T* b, T* y, Stream s) {
  if (p.n == 0) return;
  dispatch_act(p.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    dispatch_pack<T>(p, {x, y}, [&](auto v, auto index) {
      constexpr int V = decltype(v)::value;
      using I = decltype(index);
      bias_act_kernel<A, V, I, T><<<grid_for(p.n / V, kBlock), kBlock, 0, (cudaStream_t)s>>>(p, x, b, y);
    });
  });
  GF_CUDA_LAUNCH_CHECK("bias_act");
}

template <class T>
void bias_act_grad(const BiasActParams& p, int order, const T* g, const T* x, const T* b, const T* y, const T* dy,
                   T* out, Stream s) {
  if (p.n == 0) return;
  dispatch_act(p.act, [&](auto act) {
    constexpr Act A = decltype(act)::value;
    dispatch_pack<T>(p, {g, x, y, dy, out}, [&](auto v, auto index) {
      constexpr int V = decltype(v)::value;
      using I = decltype(index);
      const unsigned grid = grid_for(p.n / V, kBlock);
      if (order == 1)
        bias_act_grad_kernel<A, 1, V, I, T><<<grid, kBlock, 0, (cudaStream_t)s>>>(p, g, x, b, y, dy, out);
      else
        bias_act_grad_kernel<A, 2, V, I, T><<<grid, kBlock, 0, (cudaStream_t)s>>>(p, g, x, b, y, dy, out);
    });
  });
  GF_CUDA_LAUNCH_CHECK("bias_act_grad");
}

template void bias_act<float>(const BiasActParams&, const float*, const float*, float*, Stream);
template void bias_act<double>(const BiasActParams&, const double*, const double*, double*, Stream);
template void bias_act_grad<float>(const BiasActParams&, int, const float*, const float*, const float*, const float*,
                                   const float*, float*, Stream);
template void bias_act_grad<double>(const BiasActParams&, int, const double*, const double*, const double*,
                                    const double*, const double*, double*, Stream);

}  // namespace gf::cuda
