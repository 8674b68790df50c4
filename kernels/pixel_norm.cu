// Two kernels per pass. inner == 1 (normalizing z, [N, 512]): a warp per row,
// lanes stride along the row. inner > 1 (channels of NCHW): a block per 32
// columns of inner, its 8 warps splitting r (see below). The gradient kernels
// have the same shape with a second sum (of g * x) beside the sum of squares.
#include "kernels/block_reduce.cuh"
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
    ss = warp_sum(ss);
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

template <class T>
__global__ void pixel_norm_grad_rows_kernel(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ dx,
                                            int64_t outer, int64_t r, T eps) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = (int64_t)gridDim.x * (blockDim.x >> 5);
  for (int64_t o = blockIdx.x * (int64_t)(blockDim.x >> 5) + (threadIdx.x >> 5); o < outer; o += warps) {
    const T* xr = x + o * r;
    const T* gr = g + o * r;
    T ss = 0, gx = 0;
    for (int64_t k = lane; k < r; k += 32) {
      ss += xr[k] * xr[k];
      gx += xr[k] * gr[k];
    }
    ss = warp_sum(ss);
    gx = warp_sum(gx);
    const T s = g_rsqrt(ss / T(r) + eps);
    const T c = s * s * s * gx / T(r);
    for (int64_t k = lane; k < r; k += 32) dx[o * r + k] = s * gr[k] - c * xr[k];
  }
}

// Block (32, 8) as in pixel_norm_cols_kernel, with a second partial sum.
template <class T>
__global__ void pixel_norm_grad_cols_kernel(const T* __restrict__ x, const T* __restrict__ g, T* __restrict__ dx,
                                            int64_t outer, int64_t r, int64_t inner, T eps) {
  __shared__ T part_ss[8][33], part_gx[8][33];
  const int64_t tiles = (inner + 31) / 32;
  for (int64_t t = blockIdx.x; t < outer * tiles; t += gridDim.x) {
    const int64_t o = t / tiles, i = (t % tiles) * 32 + threadIdx.x;
    const int64_t base = o * r * inner + i;
    T ss = 0, gx = 0;
    if (i < inner)
      for (int64_t k = threadIdx.y; k < r; k += 8) {
        const T xv = x[base + k * inner];
        ss += xv * xv;
        gx += xv * g[base + k * inner];
      }
    part_ss[threadIdx.y][threadIdx.x] = ss;
    part_gx[threadIdx.y][threadIdx.x] = gx;
    __syncthreads();
    if (threadIdx.y == 0) {
      T tss = 0, tgx = 0;
#pragma unroll
      for (int q = 0; q < 8; ++q) {
        tss += part_ss[q][threadIdx.x];
        tgx += part_gx[q][threadIdx.x];
      }
      const T s = g_rsqrt(tss / T(r) + eps);
      part_ss[0][threadIdx.x] = s;
      part_gx[0][threadIdx.x] = s * s * s * tgx / T(r);
    }
    __syncthreads();
    const T s = part_ss[0][threadIdx.x], c = part_gx[0][threadIdx.x];
    if (i < inner)
      for (int64_t k = threadIdx.y; k < r; k += 8) {
        const int64_t j = base + k * inner;
        dx[j] = s * g[j] - c * x[j];
      }
    __syncthreads();  // the partial sums are reused by the next tile
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

template <class T>
void pixel_norm_grad(const T* x, const T* g, T* dx, int64_t outer, int64_t r, int64_t inner, double eps, Stream s) {
  if (outer * r * inner == 0) return;
  const auto st = static_cast<cudaStream_t>(s);
  constexpr int block = 256;
  if (inner == 1) {
    pixel_norm_grad_rows_kernel<T><<<grid_for(outer * 32, block), block, 0, st>>>(x, g, dx, outer, r, T(eps));
  } else {
    const int64_t tiles = outer * ((inner + 31) / 32);
    pixel_norm_grad_cols_kernel<T><<<grid_for(tiles, 1), dim3(32, 8), 0, st>>>(x, g, dx, outer, r, inner, T(eps));
  }
  GF_CUDA_LAUNCH_CHECK("pixel_norm_grad");
}

template void pixel_norm<float>(const float*, float*, int64_t, int64_t, int64_t, double, Stream);
template void pixel_norm<double>(const double*, double*, int64_t, int64_t, int64_t, double, Stream);
template void pixel_norm_grad<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, double, Stream);
template void pixel_norm_grad<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, double,
                                      Stream);

}  // namespace gf::cuda
