// A group of G threads per (sample, channel) plane: a warp (G = 32, eight
// planes per block) for planes of up to 1024 elements, where a block per plane
// would leave most threads idle (4 x 4 and 8 x 8 in StyleGAN), else a whole
// block (G = 256). The forward reads x twice (statistics, then y) and the
// backward reads g and x twice; the second read of a plane mostly hits L2.
// Statistics take one pass, shifted by the plane's first element so that
// sum((x - K)^2) / n - (sum(x - K) / n)^2 does not cancel when |mean| >> std.
#include "kernels/adain.h"
#include "kernels/block_reduce.cuh"
#include "kernels/cuda_context.cuh"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

// Sum over the G threads of a group; every thread of the group gets it.
template <int G, class T>
__device__ __forceinline__ T group_sum(T v) {
  static_assert(G == 32 || G == kBlock, "a group is a warp or the block");
  if constexpr (G == 32)
    return warp_sum(v);
  else
    return block_sum<kBlock>(v);
}

// Block b's groups take planes b * kGroups + group, then step by the grid's groups.
template <int G>
struct PlaneLoop {
  static constexpr int kGroups = kBlock / G;
  __device__ static int64_t stride() { return (int64_t)gridDim.x * kGroups; }
  __device__ static int lane() { return threadIdx.x % G; }
};

template <int G, class T>
__global__ void adain_forward_kernel(AdainParams p, const T* __restrict__ x, const T* __restrict__ ys,
                                     const T* __restrict__ yb, T* __restrict__ y, T* __restrict__ mean,
                                     T* __restrict__ rstd) {
  using L = PlaneLoop<G>;
  // Every thread of a block runs the same number of iterations (group_sum<256> synchronizes the block).
  for (int64_t q0 = (int64_t)blockIdx.x * L::kGroups; q0 < p.planes; q0 += L::stride()) {
    const int64_t q = q0 + threadIdx.x / G;
    const bool active = q < p.planes;
    const T* xr = x + (active ? q : 0) * p.hw;
    const T shift = active ? xr[0] : T(0);
    T s1 = 0, s2 = 0;
    if (active)
      for (int64_t k = L::lane(); k < p.hw; k += G) {
        const T d = xr[k] - shift;
        s1 += d;
        s2 += d * d;
      }
    s1 = group_sum<G>(s1) / T(p.hw);
    s2 = group_sum<G>(s2) / T(p.hw);
    if (!active) continue;
    const T var = s2 - s1 * s1;
    const T m = shift + s1, r = rsqrt((var > T(0) ? var : T(0)) + T(p.eps));
    // (x - m) first, as the CPU does: a * x + (yb - a * m) cancels when the
    // plane is (nearly) constant, where r = 1/sqrt(eps) is large.
    const T a = ys[q] * r, b = yb[q];
    for (int64_t k = L::lane(); k < p.hw; k += G) y[q * p.hw + k] = (xr[k] - m) * a + b;
    if (L::lane() == 0) {
      mean[q] = m;
      rstd[q] = r;
    }
  }
}

template <int G, class T>
__global__ void adain_backward_kernel(AdainParams p, const T* __restrict__ g, const T* __restrict__ x,
                                      const T* __restrict__ ys, const T* __restrict__ mean, const T* __restrict__ rstd,
                                      T* __restrict__ dx, T* __restrict__ dys, T* __restrict__ dyb) {
  using L = PlaneLoop<G>;
  for (int64_t q0 = (int64_t)blockIdx.x * L::kGroups; q0 < p.planes; q0 += L::stride()) {
    const int64_t q = q0 + threadIdx.x / G;
    const bool active = q < p.planes;
    const T* xr = x + (active ? q : 0) * p.hw;
    const T* gr = g + (active ? q : 0) * p.hw;
    const T m = active ? mean[q] : T(0), r = active ? rstd[q] : T(0);
    T sg = 0, sgx = 0;
    if (active)
      for (int64_t k = L::lane(); k < p.hw; k += G) {
        sg += gr[k];
        sgx += gr[k] * (xr[k] - m);
      }
    sg = group_sum<G>(sg);
    sgx = group_sum<G>(sgx) * r;  // sum(g * xhat)
    if (!active) continue;
    const T inv = T(1) / T(p.hw), rs = r * ys[q];
    for (int64_t k = L::lane(); k < p.hw; k += G)
      dx[q * p.hw + k] = rs * (gr[k] - sg * inv - (xr[k] - m) * r * sgx * inv);
    if (L::lane() == 0) {
      dys[q] = sgx;
      dyb[q] = sg;
    }
  }
}

unsigned plane_grid(int64_t planes, int groups) {
  const int64_t blocks = (planes + groups - 1) / groups;
  return static_cast<unsigned>(blocks < 65535 * 8 ? blocks : 65535 * 8);
}

}  // namespace

template <class T>
void adain_forward(const AdainParams& p, const T* x, const T* ys, const T* yb, T* y, T* mean, T* rstd, Stream s) {
  if (p.planes == 0) return;
  if (p.hw <= 1024)
    adain_forward_kernel<32, T>
        <<<plane_grid(p.planes, kBlock / 32), kBlock, 0, (cudaStream_t)s>>>(p, x, ys, yb, y, mean, rstd);
  else
    adain_forward_kernel<kBlock, T>
        <<<plane_grid(p.planes, 1), kBlock, 0, (cudaStream_t)s>>>(p, x, ys, yb, y, mean, rstd);
  GF_CUDA_LAUNCH_CHECK("adain_forward");
}

template <class T>
void adain_backward(const AdainParams& p, const T* g, const T* x, const T* ys, const T* mean, const T* rstd, T* dx,
                    T* dys, T* dyb, Stream s) {
  if (p.planes == 0) return;
  if (p.hw <= 1024)
    adain_backward_kernel<32, T>
        <<<plane_grid(p.planes, kBlock / 32), kBlock, 0, (cudaStream_t)s>>>(p, g, x, ys, mean, rstd, dx, dys, dyb);
  else
    adain_backward_kernel<kBlock, T>
        <<<plane_grid(p.planes, 1), kBlock, 0, (cudaStream_t)s>>>(p, g, x, ys, mean, rstd, dx, dys, dyb);
  GF_CUDA_LAUNCH_CHECK("adain_backward");
}

template void adain_forward<float>(const AdainParams&, const float*, const float*, const float*, float*, float*, float*,
                                   Stream);
template void adain_forward<double>(const AdainParams&, const double*, const double*, const double*, double*, double*,
                                    double*, Stream);
template void adain_backward<float>(const AdainParams&, const float*, const float*, const float*, const float*,
                                    const float*, float*, float*, float*, Stream);
template void adain_backward<double>(const AdainParams&, const double*, const double*, const double*, const double*,
                                     const double*, double*, double*, double*, Stream);

}  // namespace gf::cuda
