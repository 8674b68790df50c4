// Three kernels. modulate: a block per (n, o) reduces the sum of squares of
// its I*taps row, then writes the row. grad: a block per (n, o) forms d and
// d^3 p; dweight has a thread per (o, i, t) looping over the batch (reads of
// g coalesced across the block for each n); dstyles has a block per (n, i)
// reducing over (o, t).
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_context.cuh"
#include "kernels/math.h"
#include "kernels/modulated_conv2d.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void modulate_kernel(ModWeightParams p, const T* __restrict__ weight, const T* __restrict__ styles,
                                T* __restrict__ out) {
  const int64_t n = blockIdx.x / p.o, o = blockIdx.x % p.o, row = p.i * p.taps;
  const T* w = weight + o * row;
  const T* s = styles + n * p.i;
  T d = 1;
  if (p.demodulate) {
    T ss = 0;
    for (int64_t j = threadIdx.x; j < row; j += kBlock) {
      const T u = w[j] * s[j / p.taps];
      ss += u * u;
    }
    d = g_rsqrt(block_sum<kBlock>(ss) + T(p.eps));
  }
  for (int64_t j = threadIdx.x; j < row; j += kBlock) {
    const int64_t i = j / p.taps, t = j % p.taps;
    out[mod_weight_offset(p, n, o, i, t)] = w[j] * s[i] * d;
  }
}

template <class T>
__global__ void grad_coefs_kernel(ModWeightParams p, const T* __restrict__ g, const T* __restrict__ weight,
                                  const T* __restrict__ styles, T* __restrict__ d_out, T* __restrict__ e_out) {
  const int64_t n = blockIdx.x / p.o, o = blockIdx.x % p.o, row = p.i * p.taps;
  const T* w = weight + o * row;
  const T* s = styles + n * p.i;
  T ss = 0, gu = 0;
  for (int64_t j = threadIdx.x; j < row; j += kBlock) {
    const int64_t i = j / p.taps, t = j % p.taps;
    const T u = w[j] * s[i];
    ss += u * u;
    gu += g[mod_weight_offset(p, n, o, i, t)] * u;
  }
  ss = block_sum<kBlock>(ss);
  gu = block_sum<kBlock>(gu);
  if (threadIdx.x == 0) {
    const T d = g_rsqrt(ss + T(p.eps));
    d_out[blockIdx.x] = d;
    e_out[blockIdx.x] = d * d * d * gu;
  }
}

template <class T>
__device__ T du_at(const ModWeightParams& p, const T* g, const T* weight, const T* styles, const T* d, const T* e,
                   int64_t n, int64_t o, int64_t i, int64_t t) {
  const T gv = g[mod_weight_offset(p, n, o, i, t)];
  if (!p.demodulate) return gv;
  return d[n * p.o + o] * gv - e[n * p.o + o] * weight[(o * p.i + i) * p.taps + t] * styles[n * p.i + i];
}

template <class T>
__global__ void dweight_kernel(ModWeightParams p, const T* __restrict__ g, const T* __restrict__ weight,
                               const T* __restrict__ styles, const T* __restrict__ d, const T* __restrict__ e,
                               T* __restrict__ dweight) {
  const int64_t total = p.o * p.i * p.taps;
  for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < total; j += (int64_t)gridDim.x * blockDim.x) {
    const int64_t t = j % p.taps, i = (j / p.taps) % p.i, o = j / (p.taps * p.i);
    T acc = 0;
    for (int64_t n = 0; n < p.n; ++n) acc += du_at(p, g, weight, styles, d, e, n, o, i, t) * styles[n * p.i + i];
    dweight[j] = acc;
  }
}

template <class T>
__global__ void dstyles_kernel(ModWeightParams p, const T* __restrict__ g, const T* __restrict__ weight,
                               const T* __restrict__ styles, const T* __restrict__ d, const T* __restrict__ e,
                               T* __restrict__ dstyles) {
  const int64_t n = blockIdx.x / p.i, i = blockIdx.x % p.i;
  T acc = 0;
  for (int64_t j = threadIdx.x; j < p.o * p.taps; j += kBlock) {
    const int64_t o = j / p.taps, t = j % p.taps;
    acc += du_at(p, g, weight, styles, d, e, n, o, i, t) * weight[(o * p.i + i) * p.taps + t];
  }
  acc = block_sum<kBlock>(acc);
  if (threadIdx.x == 0) dstyles[blockIdx.x] = acc;
}

}  // namespace

template <class T>
void modulate_weight(const ModWeightParams& p, const T* weight, const T* styles, T* out, Stream s) {
  if (p.n * p.o * p.i * p.taps == 0) return;
  modulate_kernel<T><<<static_cast<unsigned>(p.n * p.o), kBlock, 0, static_cast<cudaStream_t>(s)>>>(p, weight, styles,
                                                                                                  out);
  GF_CUDA_LAUNCH_CHECK("modulate_weight");
}

template <class T>
void modulate_weight_grad(const ModWeightParams& p, const T* g, const T* weight, const T* styles, T* dweight,
                          T* dstyles, T* workspace, Stream s) {
  if (p.n * p.o * p.i * p.taps == 0) return;
  const auto st = static_cast<cudaStream_t>(s);
  T* d = workspace;
  T* e = workspace + p.n * p.o;
  if (p.demodulate) {
    grad_coefs_kernel<T><<<static_cast<unsigned>(p.n * p.o), kBlock, 0, st>>>(p, g, weight, styles, d, e);
    GF_CUDA_LAUNCH_CHECK("modulate_weight_grad (coefficients)");
  }
  if (dweight) {
    dweight_kernel<T><<<grid_for(p.o * p.i * p.taps, kBlock), kBlock, 0, st>>>(p, g, weight, styles, d, e, dweight);
    GF_CUDA_LAUNCH_CHECK("modulate_weight_grad (weight)");
  }
  if (dstyles) {
    dstyles_kernel<T><<<static_cast<unsigned>(p.n * p.i), kBlock, 0, st>>>(p, g, weight, styles, d, e, dstyles);
    GF_CUDA_LAUNCH_CHECK("modulate_weight_grad (styles)");
  }
}

template void modulate_weight<float>(const ModWeightParams&, const float*, const float*, float*, Stream);
template void modulate_weight<double>(const ModWeightParams&, const double*, const double*, double*, Stream);
template void modulate_weight_grad<float>(const ModWeightParams&, const float*, const float*, const float*, float*,
                                          float*, float*, Stream);
template void modulate_weight_grad<double>(const ModWeightParams&, const double*, const double*, const double*,
                                           double*, double*, double*, Stream);

}  // namespace gf::cuda
