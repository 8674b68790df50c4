// Three passes. (1) Blocks on a (statistic, chunk) grid sum the standard
// deviations of their chunk of the c*H*W elements; each thread walks the G
// group members of one element, so a warp's loads are contiguous. Chunking
// keeps the GPU busy when M*F is small (8 statistics at batch 32, group 4).
// (2) One thread per statistic adds its chunks in a fixed order
// (deterministic, no atomics). (3) A pass writes x and the broadcast
// statistics into the output, a sample per grid row.
// The gradient takes two passes: a block per statistic sums its appended
// channel of g over pixels and group members; then a thread per element of
// one group member's sample walks the G members, as pass (1) does, and
// writes their dx.
#include <algorithm>

#include "kernels/block_reduce.cuh"
#include "kernels/cuda_context.cuh"
#include "kernels/math.h"
#include "kernels/minibatch_stddev.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;
constexpr int64_t kTargetBlocks = 1024;  // enough to fill any current GPU several times

int64_t chunks_for(const MinibatchStdDesc& d) {
  const int64_t stats = d.m * d.features;
  const int64_t by_work = (d.per_feature + 4 * kBlock - 1) / (4 * kBlock);  // >= 4 elements per thread
  return std::max<int64_t>(1, std::min(by_work, (kTargetBlocks + stats - 1) / stats));
}

template <class T>
__global__ void mbstd_partial_kernel(const T* __restrict__ x, T* __restrict__ partial, MinibatchStdDesc d,
                                     int64_t chunk, T eps) {
  const int64_t stat = blockIdx.x, m = stat / d.features, f = stat % d.features;
  const int64_t sample = d.features * d.per_feature, member = d.m * sample;
  const T* base = x + m * sample + f * d.per_feature;
  const int64_t j0 = blockIdx.y * chunk, j1 = min(d.per_feature, j0 + chunk);
  const T inv_g = T(1) / T(d.groups);
  T acc = 0;
  for (int64_t j = j0 + threadIdx.x; j < j1; j += blockDim.x) {
    T mu = 0, var = 0;
    for (int64_t g = 0; g < d.groups; ++g) mu += base[g * member + j];
    mu *= inv_g;
    for (int64_t g = 0; g < d.groups; ++g) {
      const T v = base[g * member + j] - mu;
      var += v * v;
    }
    acc += g_sqrt(var * inv_g + eps);
  }
  const T total = block_sum<kBlock>(acc);
  if (threadIdx.x == 0) partial[stat * gridDim.y + blockIdx.y] = total;
}

template <class T>
__global__ void mbstd_finish_kernel(const T* __restrict__ partial, T* __restrict__ stats, int64_t n_stats,
                                    int64_t chunks, T scale) {
  const int64_t s = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
  if (s >= n_stats) return;
  T total = 0;
  for (int64_t k = 0; k < chunks; ++k) total += partial[s * chunks + k];
  stats[s] = total * scale;
}

template <class T>
__global__ void mbstd_write_kernel(const T* __restrict__ x, const T* __restrict__ stats, T* __restrict__ y,
                                   MinibatchStdDesc d) {
  const int64_t sample = d.features * d.per_feature, out_sample = sample + d.features * d.hw;
  for (int64_t n = blockIdx.y; n < d.groups * d.m; n += gridDim.y) {
    const T* xn = x + n * sample;
    const T* sn = stats + (n % d.m) * d.features;
    T* yn = y + n * out_sample;
    for (int64_t k = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; k < out_sample; k += (int64_t)gridDim.x * blockDim.x)
      yn[k] = k < sample ? xn[k] : sn[(k - sample) / d.hw];
  }
}

template <class T>
__global__ void mbstd_grad_stats_kernel(const T* __restrict__ g, T* __restrict__ gs, MinibatchStdDesc d) {
  const int64_t stat = blockIdx.x, m = stat / d.features, f = stat % d.features;
  const int64_t sample = d.features * d.per_feature, out_sample = sample + d.features * d.hw;
  T acc = 0;
  for (int64_t t = threadIdx.x; t < d.groups * d.hw; t += blockDim.x) {
    const int64_t gi = t / d.hw, k = t % d.hw;
    acc += g[(gi * d.m + m) * out_sample + sample + f * d.hw + k];
  }
  const T total = block_sum<kBlock>(acc);
  if (threadIdx.x == 0) gs[stat] = total;
}

template <class T>
__global__ void mbstd_grad_write_kernel(const T* __restrict__ x, const T* __restrict__ g, const T* __restrict__ gs,
                                        T* __restrict__ dx, MinibatchStdDesc d, T eps) {
  const int64_t sample = d.features * d.per_feature, out_sample = sample + d.features * d.hw;
  const int64_t member = d.m * sample;
  const T inv_g = T(1) / T(d.groups), scale = T(1) / (T(d.groups) * T(d.per_feature));
  for (int64_t t = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; t < member; t += (int64_t)gridDim.x * blockDim.x) {
    const int64_t m = t / sample, e = t % sample;  // e = f * per_feature + j
    const T* xe = x + t;                             // member gi at xe[gi * member]
    T mu = 0, var = 0;
    for (int64_t gi = 0; gi < d.groups; ++gi) mu += xe[gi * member];
    mu *= inv_g;
    for (int64_t gi = 0; gi < d.groups; ++gi) {
      const T v = xe[gi * member] - mu;
      var += v * v;
    }
    const T k = gs[m * d.features + e / d.per_feature] * scale * g_rsqrt(var * inv_g + eps);
    for (int64_t gi = 0; gi < d.groups; ++gi) {
      const int64_t n = gi * d.m + m;
      dx[n * sample + e] = g[n * out_sample + e] + (xe[gi * member] - mu) * k;
    }
  }
}

}  // namespace

int64_t minibatch_stddev_scratch_elems(const MinibatchStdDesc& d) {
  return d.m * d.features * (1 + chunks_for(d));
}

template <class T>
void minibatch_stddev(const T* x, T* y, T* scratch, const MinibatchStdDesc& d, double eps, Stream s) {
  const int64_t n_stats = d.m * d.features, samples = d.groups * d.m;
  const int64_t out_sample = d.features * (d.per_feature + d.hw);
  if (samples * out_sample == 0) return;
  const auto st = static_cast<cudaStream_t>(s);
  const int64_t chunks = chunks_for(d), chunk = (d.per_feature + chunks - 1) / chunks;
  T* stats = scratch;
  T* partial = scratch + n_stats;
  mbstd_partial_kernel<T><<<dim3(static_cast<unsigned>(n_stats), static_cast<unsigned>(chunks)), kBlock, 0, st>>>(
      x, partial, d, chunk, T(eps));
  GF_CUDA_LAUNCH_CHECK("minibatch_stddev partial sums");
  mbstd_finish_kernel<T><<<grid_for(n_stats, kBlock), kBlock, 0, st>>>(partial, stats, n_stats, chunks,
                                                                       T(1) / T(d.per_feature));
  GF_CUDA_LAUNCH_CHECK("minibatch_stddev statistics");
  const dim3 grid(grid_for(out_sample, kBlock, 1024), static_cast<unsigned>(std::min<int64_t>(samples, 65535)));
  mbstd_write_kernel<T><<<grid, kBlock, 0, st>>>(x, stats, y, d);
  GF_CUDA_LAUNCH_CHECK("minibatch_stddev write");
}

template <class T>
void minibatch_stddev_grad(const T* x, const T* g, T* dx, T* scratch, const MinibatchStdDesc& d, double eps,
                           Stream s) {
  const int64_t n_stats = d.m * d.features, member = d.m * d.features * d.per_feature;
  if (d.groups * member == 0) return;
  const auto st = static_cast<cudaStream_t>(s);
  mbstd_grad_stats_kernel<T><<<static_cast<unsigned>(n_stats), kBlock, 0, st>>>(g, scratch, d);
  GF_CUDA_LAUNCH_CHECK("minibatch_stddev_grad statistics");
  mbstd_grad_write_kernel<T><<<grid_for(member, kBlock), kBlock, 0, st>>>(x, g, scratch, dx, d, T(eps));
  GF_CUDA_LAUNCH_CHECK("minibatch_stddev_grad write");
}

template void minibatch_stddev<float>(const float*, float*, float*, const MinibatchStdDesc&, double, Stream);
template void minibatch_stddev<double>(const double*, double*, double*, const MinibatchStdDesc&, double, Stream);
template void minibatch_stddev_grad<float>(const float*, const float*, float*, float*, const MinibatchStdDesc&, double,
                                           Stream);
template void minibatch_stddev_grad<double>(const double*, const double*, double*, double*, const MinibatchStdDesc&,
                                            double, Stream);

}  // namespace gf::cuda
