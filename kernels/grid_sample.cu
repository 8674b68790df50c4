// One thread per output element for the forward, one per input element for
// the adjoint (a gather over its box of output pixels: no atomics, each
// element's sum in the CPU's order), grid-stride. The source points come from
// the same inline function as on the CPU; nvcc may fuse its multiply-adds, so
// the values agree with the CPU to rounding, not bit for bit.
#include <cstdint>

#include "kernels/cuda_context.cuh"
#include "kernels/grid_sample.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void affine_grid_sample_kernel(const T* __restrict__ x, const T* __restrict__ theta, T* __restrict__ y,
                                          AffineGridDims d) {
  const int64_t total = d.n * d.c * d.out_h * d.out_w;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t j = k % d.out_w, i = (k / d.out_w) % d.out_h, p = k / (d.out_w * d.out_h);
    y[k] = affine_grid_sample_point(x + p * d.in_h * d.in_w, theta + (p / d.c) * 6, d, i, j);
  }
}

template <class T>
__global__ void affine_grid_sample_adjoint_kernel(const T* __restrict__ g, const T* __restrict__ theta,
                                                  T* __restrict__ dx, AffineGridDims d) {
  const int64_t total = d.n * d.c * d.in_h * d.in_w;
  for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < total; k += (int64_t)gridDim.x * blockDim.x) {
    const int64_t x = k % d.in_w, y = (k / d.in_w) % d.in_h, p = k / (d.in_w * d.in_h);
    const T* th = theta + (p / d.c) * 6;
    // A few dozen double operations per thread: cheap where FP64 runs at
    // half rate (H100, H200); on a GPU with slow FP64, per-sample maps
    // formed once would be the thing to try.
    dx[k] = affine_grid_sample_adjoint_point(g + p * d.out_h * d.out_w, th, affine_grid_box_map(th, d), d, y, x);
  }
}

}  // namespace

template <class T>
void affine_grid_sample(const T* x, const T* theta, T* y, const AffineGridDims& d, Stream s) {
  const int64_t n = d.n * d.c * d.out_h * d.out_w;
  if (n == 0) return;
  affine_grid_sample_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, theta, y, d);
  GF_CUDA_LAUNCH_CHECK("affine_grid_sample_kernel");
}

template <class T>
void affine_grid_sample_adjoint(const T* g, const T* theta, T* dx, const AffineGridDims& d, Stream s) {
  const int64_t n = d.n * d.c * d.in_h * d.in_w;
  if (n == 0) return;
  affine_grid_sample_adjoint_kernel<T>
      <<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(g, theta, dx, d);
  GF_CUDA_LAUNCH_CHECK("affine_grid_sample_adjoint_kernel");
}

template void affine_grid_sample<float>(const float*, const float*, float*, const AffineGridDims&, Stream);
template void affine_grid_sample<double>(const double*, const double*, double*, const AffineGridDims&, Stream);
template void affine_grid_sample_adjoint<float>(const float*, const float*, float*, const AffineGridDims&, Stream);
template void affine_grid_sample_adjoint<double>(const double*, const double*, double*, const AffineGridDims&,
                                                 Stream);

}  // namespace gf::cuda
