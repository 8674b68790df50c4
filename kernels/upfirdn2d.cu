// One thread per output pixel over the flattened [planes, out_h, out_w]
// output, so small planes (4x4 at the start of the generator) still fill
// whole blocks and consecutive threads walk a row (neighbouring taps
// coalesce). Index arithmetic is 32-bit whenever the output allows it. The
// (small) filter is staged in shared memory; the gain multiplies the sum, as
// on the CPU (the sums themselves still round differently: nvcc fuses the
// multiply-adds).
#include <cstdint>

#include "kernels/cuda_context.cuh"
#include "kernels/upfirdn2d.h"

namespace gf::cuda {
namespace {

template <class T, class I>
__global__ void upfirdn2d_kernel(const T* __restrict__ x, const T* __restrict__ f, T* __restrict__ y,
                                 UpFirDn2dDesc d, T gain, I n) {
  extern __shared__ __align__(16) unsigned char smem[];
  T* fs = reinterpret_cast<T*>(smem);
  for (int i = threadIdx.x; i < d.f_h * d.f_w; i += blockDim.x) fs[i] = f[i];
  __syncthreads();
  const I ow = static_cast<I>(d.out_w), oh = static_cast<I>(d.out_h);
  for (I i = blockIdx.x * static_cast<I>(blockDim.x) + threadIdx.x; i < n; i += static_cast<I>(gridDim.x) * blockDim.x) {
    const I row = i / ow;
    y[i] = gain * upfirdn2d_point(x, fs, d, static_cast<int64_t>(row / oh), static_cast<int>(row % oh),
                                  static_cast<int>(i - row * ow));
  }
}

}  // namespace

template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain, Stream s) {
  const int64_t n = d.planes * d.out_h * d.out_w;
  if (n == 0) return;
  constexpr int block = 256;
  const size_t smem = sizeof(T) * d.f_h * d.f_w;
  const auto st = static_cast<cudaStream_t>(s);
  // uint32 indices while i + the grid stride cannot wrap.
  if (n < INT32_MAX)
    upfirdn2d_kernel<T, uint32_t><<<grid_for(n, block), block, smem, st>>>(x, f, y, d, T(gain), uint32_t(n));
  else
    upfirdn2d_kernel<T, int64_t><<<grid_for(n, block), block, smem, st>>>(x, f, y, d, T(gain), n);
  GF_CUDA_LAUNCH_CHECK("upfirdn2d");
}

template void upfirdn2d<float>(const float*, const float*, float*, const UpFirDn2dDesc&, double, Stream);
template void upfirdn2d<double>(const double*, const double*, double*, const UpFirDn2dDesc&, double, Stream);

}  // namespace gf::cuda
