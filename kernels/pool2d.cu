// One thread per output element (forward, take) or per input element (the
// backwards, as gathers), grid-stride, through the point functions shared
// with the CPU reference.
#include "kernels/cuda_context.cuh"
#include "kernels/pool2d.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void adaptive_avg_pool2d_kernel(const T* __restrict__ x, T* __restrict__ y, PoolDims d) {
  const int64_t total = d.planes * d.out_h * d.out_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ox = i % d.out_w, oy = (i / d.out_w) % d.out_h, p = i / (d.out_w * d.out_h);
    y[i] = adaptive_avg_point(x + p * d.in_h * d.in_w, d, oy, ox);
  }
}

template <class T>
__global__ void adaptive_avg_pool2d_backward_kernel(const T* __restrict__ g, T* __restrict__ dx, PoolDims d) {
  const int64_t total = d.planes * d.in_h * d.in_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ix = i % d.in_w, iy = (i / d.in_w) % d.in_h, p = i / (d.in_w * d.in_h);
    dx[i] = adaptive_avg_backward_point(g + p * d.out_h * d.out_w, d, iy, ix);
  }
}

template <class T>
__global__ void max_pool2d_take_kernel(const T* __restrict__ x, const T* __restrict__ src, T* __restrict__ y,
                                       PoolDims d, MaxPoolParams mp) {
  const int64_t total = d.planes * d.out_h * d.out_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ox = i % d.out_w, oy = (i / d.out_w) % d.out_h, p = i / (d.out_w * d.out_h);
    const int64_t at = max_pool_argmax(x + p * d.in_h * d.in_w, d, mp, oy, ox);
    y[i] = src[p * d.in_h * d.in_w + at];
  }
}

template <class T>
__global__ void max_pool2d_backward_kernel(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ dx,
                                           PoolDims d, MaxPoolParams mp) {
  const int64_t total = d.planes * d.in_h * d.in_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ix = i % d.in_w, iy = (i / d.in_w) % d.in_h, p = i / (d.in_w * d.in_h);
    dx[i] = max_pool_backward_point(x + p * d.in_h * d.in_w, g + p * d.out_h * d.out_w, d, mp, iy, ix);
  }
}

}  // namespace

template <class T>
void adaptive_avg_pool2d(const T* x, T* y, const PoolDims& d, Stream s) {
  const int64_t n = d.planes * d.out_h * d.out_w;
  if (n == 0) return;
  adaptive_avg_pool2d_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, y, d);
  GF_CUDA_LAUNCH_CHECK("adaptive_avg_pool2d_kernel");
}

template <class T>
void adaptive_avg_pool2d_backward(const T* g, T* dx, const PoolDims& d, Stream s) {
  const int64_t n = d.planes * d.in_h * d.in_w;
  if (n == 0) return;
  adaptive_avg_pool2d_backward_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(g, dx, d);
  GF_CUDA_LAUNCH_CHECK("adaptive_avg_pool2d_backward_kernel");
}

template <class T>
void max_pool2d_take(const T* x, const T* src, T* y, const PoolDims& d, const MaxPoolParams& p, Stream s) {
  const int64_t n = d.planes * d.out_h * d.out_w;
  if (n == 0) return;
  max_pool2d_take_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, src, y, d, p);
  GF_CUDA_LAUNCH_CHECK("max_pool2d_take_kernel");
}

template <class T>
void max_pool2d_backward(const T* x, const T* g, T* dx, const PoolDims& d, const MaxPoolParams& p, Stream s) {
  const int64_t n = d.planes * d.in_h * d.in_w;
  if (n == 0) return;
  max_pool2d_backward_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, g, dx, d, p);
  GF_CUDA_LAUNCH_CHECK("max_pool2d_backward_kernel");
}

#define GF_INSTANTIATE(T)                                                                                 \
  template void adaptive_avg_pool2d<T>(const T*, T*, const PoolDims&, Stream);                            \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const PoolDims&, Stream);                   \
  template void max_pool2d_take<T>(const T*, const T*, T*, const PoolDims&, const MaxPoolParams&, Stream); \
  template void max_pool2d_backward<T>(const T*, const T*, T*, const PoolDims&, const MaxPoolParams&, Stream);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)
#undef GF_INSTANTIATE

}  // namespace gf::cuda
