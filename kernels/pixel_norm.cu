// Two kernels. inner == 1 (normalizing z, [N, 512]): a warp per row, lanes
// stride along the row. inner > 1 (channels of NCHW): a block per 32 columns
// of inner, its 8 warps splitting r (see below).
#include "kernels/cuda_context.cuh"
#include "kernels/math.h"
#include "kernels/pixel_norm.h"

namespace gf::cuda {
namespace {

template <class T>
__global__ void pixel_norm_rows_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t r, T eps) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t o = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); o < outer; o += warps) {
    const T* row = x + o * r;
    T ss = 0;
    for (int64_t k = lane; k < r; k += 32) ss += row[k] * row[k];
    for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
    const T s = g_rsqrt(ss / T(r) + eps);
    for (int64_t k = lane; k < r; k += 32) y[o * r + k] = row[k] * s;
  }
}

// Block (32, 8): threadIdx.x walks 32 columns of inner, threadIdx.y strides
// over r, so each step reads 128-byte rows and a tile is re-read from cache.
template <class T>
__global__ void pixel_norm_cols_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t r,
                                       int64_t inner, T eps) {
  __shared__ T part[8][33];
  const int64_t tiles = (inner + 31) / 32;
  for (int64_t t = blockIdx.x; t < outer * tiles; t += gridDim.x) {
    const int64_t o = t / tiles, i = (t % tiles) * 32 + threadIdx.x;
    const T* xi = x + o * r * inner + i;
    T ss = 0;
    if (i < inner)
      for (int64_t k = threadIdx.y; k < r; k += 8) ss += xi[k * inner] * xi[k * inner];
    part[threadIdx.y][threadIdx.x] = ss;
    __syncthreads();
    if (threadIdx.y == 0) {
      T total = 0;
#pragma unroll
      for (int q = 0; q < 8; ++q) total += part[q][threadIdx.x];
      part[0][threadIdx.x] = g_rsqrt(total / T(r) + eps);
    }
    __syncthreads();
    const T s = part[0][threadIdx.x];
    if (i < inner)
      for (int64_t k = threadIdx.y; k < r; k += 8) y[o * r * inner + k * inner + i] = xi[k * inner] * s;
    __syncthreads();  // part is reused by the next tile
  }
}

}  // namespace

template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps, Stream s) {
  if (outer * r * inner == 0) return;
  const auto st = static_cast<cudaStream_t>(s);
  constexpr int block = 256;
  if (inner == 1) {
    pixel_norm_rows_kernel<T><<<grid_for(outer * 32, block), block, 0, st>>>(x, y, outer, r, T(eps));
  } else {
    const int64_t tiles = outer * ((inner + 31) / 32);
    pixel_norm_cols_kernel<T><<<grid_for(tiles, 1), dim3(32, 8), 0, st>>>(x, y, outer, r, inner, T(eps));
  }
  GF_CUDA_LAUNCH_CHECK("pixel_norm");
}

template void pixel_norm<float>(const float*, float*, int64_t, int64_t, int64_t, double, Stream);
template void pixel_norm<double>(const double*, double*, int64_t, int64_t, int64_t, double, Stream);

}  // namespace gf::cuda
