// Two kernels: rows (inner == 1: a block per row segment, vector loads, warp
// shuffles) and columns (inner > 1: 32 columns x 8 row-lanes per block, so
// reads are coalesced along inner). When there are too few rows or columns to
// fill the GPU, r is split across blocks and a second pass reduces the
// partial results: deterministic, no atomics.
#include <algorithm>

#include "kernels/cuda_context.cuh"
#include "kernels/vector_access.cuh"
#include "kernels/reduce.h"

namespace gf::cuda {
namespace {

constexpr int kRowThreads = 256;

template <ReduceOp op, class T>
__device__ __forceinline__ T init_value() {
  if constexpr (op == ReduceOp::sum) return T(0);
  else return -INFINITY;
}
template <ReduceOp op, class T>
__device__ __forceinline__ T combine(T a, T b) {
  if constexpr (op == ReduceOp::sum) return a + b;
  else return max_keeping_nan(a, b);
}

template <ReduceOp op, class T>
__device__ T block_reduce(T v) {
  __shared__ T warp_vals[32];
  for (int off = 16; off > 0; off >>= 1) v = combine<op>(v, __shfl_down_sync(0xffffffffu, v, off));
  const int lane = threadIdx.x & 31, wid = threadIdx.x >> 5;
  if (lane == 0) warp_vals[wid] = v;
  __syncthreads();
  v = threadIdx.x < (blockDim.x >> 5) ? warp_vals[threadIdx.x] : init_value<op, T>();
  if (wid == 0)
    for (int off = 16; off > 0; off >>= 1) v = combine<op>(v, __shfl_down_sync(0xffffffffu, v, off));
  __syncthreads();  // warp_vals is reused by the next row
  return v;
}

// out[o * splits + s] = reduce of x[o, chunk s]; with `final`, y[o] = scale * reduce.
template <ReduceOp op, class T>
__global__ void reduce_rows_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t outer, int64_t r,
                                   int64_t chunk, bool final, T scale) {
  const int split = blockIdx.y, splits = gridDim.y;
  const int64_t k0 = split * chunk, k1 = min(r, k0 + chunk);
  for (int64_t o = blockIdx.x; o < outer; o += gridDim.x) {
    const T* row = x + o * r;
    T acc = init_value<op, T>();
    int64_t k = k0;
    if ((reinterpret_cast<uintptr_t>(row + k0) & 15) == 0) {
      using V = Vec<T>;
      const int64_t nvec = (k1 - k0) / V::N;
      const V* rv = reinterpret_cast<const V*>(row + k0);
      for (int64_t j = threadIdx.x; j < nvec; j += blockDim.x) {
        V v = rv[j];
#pragma unroll
        for (int q = 0; q < V::N; ++q) acc = combine<op>(acc, v.v[q]);
      }
      k = k0 + nvec * V::N;
    }
    for (int64_t j = k + threadIdx.x; j < k1; j += blockDim.x) acc = combine<op>(acc, row[j]);
    acc = block_reduce<op>(acc);
    if (threadIdx.x == 0) {
      if (final) out[o] = op == ReduceOp::sum ? acc * scale : acc;
      else out[o * splits + split] = acc;
    }
  }
}

// Block (32, 8): threadIdx.x walks inner, threadIdx.y walks r.
template <ReduceOp op, class T>
__global__ void reduce_cols_kernel(const T* __restrict__ x, T* __restrict__ out, int64_t outer, int64_t r,
                                   int64_t inner, int64_t chunk, bool final, T scale) {
  __shared__ T part[8][33];
  const int split = blockIdx.y, splits = gridDim.y;
  const int64_t k0 = split * chunk, k1 = min(r, k0 + chunk);
  const int64_t tiles = (inner + 31) / 32;
  for (int64_t t = blockIdx.x; t < outer * tiles; t += gridDim.x) {
    const int64_t o = t / tiles, i = (t % tiles) * 32 + threadIdx.x;
    T acc = init_value<op, T>();
    if (i < inner)
      for (int64_t k = k0 + threadIdx.y; k < k1; k += 8) acc = combine<op>(acc, x[(o * r + k) * inner + i]);
    part[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && i < inner) {
#pragma unroll
      for (int q = 1; q < 8; ++q) acc = combine<op>(acc, part[q][threadIdx.x]);
      if (final) out[o * inner + i] = op == ReduceOp::sum ? acc * scale : acc;
      else out[(o * inner + i) * splits + split] = acc;
    }
    __syncthreads();
  }
}

int sm_count() {
  int dev = 0, n = 0;
  GF_CUDA_CHECK(cudaGetDevice(&dev));
  GF_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
  return n;
}

struct Plan {
  int64_t blocks;  // blocks along the rows/tiles axis
  int splits;      // blocks along r
  int64_t chunk;   // r per split
};

Plan make_plan(int64_t outer, int64_t r, int64_t inner) {
  static const int sms = sm_count();
  const int64_t want = 4LL * sms;  // enough blocks to cover every SM a few times
  const int64_t units = inner == 1 ? outer : outer * ((inner + 31) / 32);
  const int64_t min_chunk = inner == 1 ? 4096 : 128;
  int64_t splits = 1;
  if (units < want) splits = std::min<int64_t>((want + units - 1) / units, (r + min_chunk - 1) / min_chunk);
  splits = std::max<int64_t>(1, std::min<int64_t>(splits, 65535));
  int64_t chunk = (r + splits - 1) / splits;
  chunk = (chunk + 3) / 4 * 4;  // keeps each chunk 16-byte aligned for float rows
  splits = std::max<int64_t>(1, (r + chunk - 1) / chunk);
  return {std::min<int64_t>(std::max<int64_t>(units, 1), 65535LL * 8), static_cast<int>(splits), chunk};
}

}  // namespace

size_t reduce_workspace_bytes(int64_t outer, int64_t r, int64_t inner, size_t elem_size) {
  if (outer * inner == 0 || r == 0) return 0;
  Plan p = make_plan(outer, r, inner);
  return p.splits > 1 ? static_cast<size_t>(outer * inner * p.splits) * elem_size : 0;
}

template <class T>
void reduce(ReduceOp op, const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double scale, void* workspace,
            Stream s) {
  if (outer * inner == 0) return;
  cudaStream_t st = (cudaStream_t)s;
  auto launch = [&](auto tag) {
    constexpr ReduceOp O = decltype(tag)::value;
    if (r == 0) {  // empty sum is zero; the engine rejects an empty max
      GF_CUDA_CHECK(cudaMemsetAsync(y, 0, sizeof(T) * outer * inner, st));
      return;
    }
    const Plan p = make_plan(outer, r, inner);
    const bool one_pass = p.splits == 1;
    T* dst = one_pass ? y : static_cast<T*>(workspace);
    if (inner == 1)
      reduce_rows_kernel<O, T><<<dim3((unsigned)p.blocks, p.splits), kRowThreads, 0, st>>>(x, dst, outer, r, p.chunk,
                                                                                           one_pass, (T)scale);
    else
      reduce_cols_kernel<O, T><<<dim3((unsigned)p.blocks, p.splits), dim3(32, 8), 0, st>>>(x, dst, outer, r, inner,
                                                                                           p.chunk, one_pass, (T)scale);
    GF_CUDA_LAUNCH_CHECK("reduce");
    if (!one_pass) {
      const int64_t rows = outer * inner;
      reduce_rows_kernel<O, T><<<dim3((unsigned)std::min<int64_t>(rows, 65535LL * 8), 1), 128, 0, st>>>(
          dst, y, rows, p.splits, p.splits, true, (T)scale);
      GF_CUDA_LAUNCH_CHECK("reduce (second pass)");
    }
  };
  if (op == ReduceOp::sum) launch(std::integral_constant<ReduceOp, ReduceOp::sum>{});
  else launch(std::integral_constant<ReduceOp, ReduceOp::max>{});
}

template void reduce<float>(ReduceOp, const float*, float*, int64_t, int64_t, int64_t, double, void*, Stream);
template void reduce<double>(ReduceOp, const double*, double*, int64_t, int64_t, int64_t, double, void*, Stream);

}  // namespace gf::cuda
