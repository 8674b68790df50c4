// One thread per output element (forward) or per input element (the backward
// as a gather over the outputs that read it), grid-stride.
#include "kernels/cuda_context.cuh"
#include "kernels/resize.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <class T>
__global__ void resize_bilinear_kernel(const T* __restrict__ x, T* __restrict__ y, ResizeDims d) {
  const int64_t total = d.planes * d.out_h * d.out_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ox = i % d.out_w, oy = (i / d.out_w) % d.out_h, p = i / (d.out_w * d.out_h);
    y[i] = resize_bilinear_point(x + p * d.in_h * d.in_w, d, oy, ox);
  }
}

template <class T>
__global__ void resize_bilinear_backward_kernel(const T* __restrict__ g, T* __restrict__ dx, ResizeDims d) {
  const int64_t total = d.planes * d.in_h * d.in_w;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < total; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t ix = i % d.in_w, iy = (i / d.in_w) % d.in_h, p = i / (d.in_w * d.in_h);
    dx[i] = resize_bilinear_backward_point(g + p * d.out_h * d.out_w, d, iy, ix);
  }
}

}  // namespace

template <class T>
void resize_bilinear(const T* x, T* y, const ResizeDims& d, Stream s) {
  const int64_t n = d.planes * d.out_h * d.out_w;
  if (n == 0) return;
  resize_bilinear_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(x, y, d);
  GF_CUDA_LAUNCH_CHECK("resize_bilinear_kernel");
}

template <class T>
void resize_bilinear_backward(const T* g, T* dx, const ResizeDims& d, Stream s) {
  const int64_t n = d.planes * d.in_h * d.in_w;
  if (n == 0) return;
  resize_bilinear_backward_kernel<T><<<grid_for(n, kBlock), kBlock, 0, static_cast<cudaStream_t>(s)>>>(g, dx, d);
  GF_CUDA_LAUNCH_CHECK("resize_bilinear_backward_kernel");
}

template void resize_bilinear<float>(const float*, float*, const ResizeDims&, Stream);
template void resize_bilinear<double>(const double*, double*, const ResizeDims&, Stream);
template void resize_bilinear_backward<float>(const float*, float*, const ResizeDims&, Stream);
template void resize_bilinear_backward<double>(const double*, double*, const ResizeDims&, Stream);

}  // namespace gf::cuda
