// Reductions: one block per channel, its threads striding over the channel's
// outer * inner values (rows of `inner` contiguous elements), summed in a fixed
// order by block_sum: deterministic, no atomics. The variance takes a second
// pass around the mean, as the CPU reference does. Elementwise halves: a
// grid-stride loop over every element, the channel from the flat index.
#include "kernels/batch_norm.h"
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_context.cuh"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

// Offset of the j-th value (0 <= j < outer * inner) of channel c.
__device__ __forceinline__ int64_t bn_offset(int64_t j, int64_t c, const BatchNormDims& d) {
  const int64_t o = j / d.inner;
  return (o * d.c + c) * d.inner + (j - o * d.inner);
}

template <class T>
__global__ void bn_stats_kernel(const T* __restrict__ x, T* __restrict__ mean, T* __restrict__ var, BatchNormDims d) {
  const int64_t n = d.outer * d.inner;
  for (int64_t c = blockIdx.x; c < d.c; c += gridDim.x) {
    T s = 0;
    for (int64_t j = threadIdx.x; j < n; j += kBlock) s += x[bn_offset(j, c, d)];
    const T m = block_sum<kBlock>(s) / T(n);
    T ss = 0;
    for (int64_t j = threadIdx.x; j < n; j += kBlock) {
      const T v = x[bn_offset(j, c, d)] - m;
      ss += v * v;
    }
    ss = block_sum<kBlock>(ss);
    if (threadIdx.x == 0) {
      mean[c] = m;
      var[c] = ss / T(n);
    }
  }
}

template <class T>
__global__ void bn_backward_reduce_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                          T* __restrict__ sum_g, T* __restrict__ sum_gx, BatchNormDims d) {
  const int64_t n = d.outer * d.inner;
  for (int64_t c = blockIdx.x; c < d.c; c += gridDim.x) {
    const T m = mean[c];
    T sg = 0, sgx = 0;
    for (int64_t j = threadIdx.x; j < n; j += kBlock) {
      const int64_t at = bn_offset(j, c, d);
      sg += g[at];
      sgx += g[at] * (x[at] - m);
    }
    sg = block_sum<kBlock>(sg);
    sgx = block_sum<kBlock>(sgx);
    if (threadIdx.x == 0) {
      sum_g[c] = sg;
      sum_gx[c] = sgx;
    }
  }
}

template <class T>
__global__ void bn_apply_kernel(const T* __restrict__ x, const T* __restrict__ mean, const T* __restrict__ scale,
                                const T* __restrict__ shift, T* __restrict__ y, BatchNormDims d) {
  const int64_t total = d.outer * d.c * d.inner;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / d.inner) % d.c;
    y[i] = (x[i] - mean[c]) * scale[c] + shift[c];
  }
}

template <class T>
__global__ void bn_backward_elemt_kernel(const T* __restrict__ g, const T* __restrict__ x, const T* __restrict__ mean,
                                         const T* __restrict__ mean_g, const T* __restrict__ k,
                                         const T* __restrict__ scale, T* __restrict__ dx, BatchNormDims d) {
  const int64_t total = d.outer * d.c * d.inner;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t c = (i / d.inner) % d.c;
    dx[i] = (g[i] - mean_g[c] - (x[i] - mean[c]) * k[c]) * scale[c];
  }
}

unsigned channel_grid(int64_t c) { return static_cast<unsigned>(c < 65535 ? c : 65535); }

}  // namespace

template <class T>
void batch_norm_stats(const T* x, T* mean, T* var, const BatchNormDims& d, Stream s) {
  if (d.c == 0) return;
  bn_stats_kernel<T><<<channel_grid(d.c), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, mean, var, d);
  GF_CUDA_LAUNCH_CHECK("bn_stats_kernel");
}

template <class T>
void batch_norm_apply(const T* x, const T* mean, const T* scale, const T* shift, T* y, const BatchNormDims& d,
                      Stream s) {
  const int64_t n = d.outer * d.c * d.inner;
  if (n == 0) return;
  bn_apply_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, mean, scale, shift, y, d);
  GF_CUDA_LAUNCH_CHECK("bn_apply_kernel");
}

template <class T>
void batch_norm_backward_reduce(const T* g, const T* x, const T* mean, T* sum_g, T* sum_gx, const BatchNormDims& d,
                                Stream s) {
  if (d.c == 0) return;
  bn_backward_reduce_kernel<T><<<channel_grid(d.c), kBlock, 0, static_cast<cudaStream_t>(s)>>>(g, x, mean, sum_g,
                                                                                             sum_gx, d);
  GF_CUDA_LAUNCH_CHECK("bn_backward_reduce_kernel");
}

template <class T>
void batch_norm_backward_elemt(const T* g, const T* x, const T* mean, const T* mean_g, const T* k, const T* scale,
                               T* dx, const BatchNormDims& d, Stream s) {
  const int64_t n = d.outer * d.c * d.inner;
  if (n == 0) return;
  bn_backward_elemt_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(g, x, mean, mean_g, k,
                                                                                               scale, dx, d);
  GF_CUDA_LAUNCH_CHECK("bn_backward_elemt_kernel");
}

#define GF_INSTANTIATE(T)                                                                                          \
  template void batch_norm_stats<T>(const T*, T*, T*, const BatchNormDims&, Stream);                              \
  template void batch_norm_apply<T>(const T*, const T*, const T*, const T*, T*, const BatchNormDims&, Stream);    \
  template void batch_norm_backward_reduce<T>(const T*, const T*, const T*, T*, T*, const BatchNormDims&, Stream); \
  template void batch_norm_backward_elemt<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*,     \
                                             const BatchNormDims&, Stream);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)
#undef GF_INSTANTIATE

}  // namespace gf::cuda
