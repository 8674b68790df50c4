// Sums across a warp and across a block, in a fixed order (deterministic, no
// atomics); every thread gets the result. The one copy of the shuffle-and-
// shared-memory reduction the GAN kernels share.
#pragma once

namespace gf::cuda {

// Sum over the 32 lanes of a warp (all lanes must call it).
template <class T>
__device__ __forceinline__ T warp_sum(T v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Sum over a block of Block threads (blockDim.x == Block, a multiple of 32).
// Every thread of the block must call it: it synchronizes, twice, so that the
// shared buffer can be reused by the next call.
template <int Block, class T>
__device__ __forceinline__ T block_sum(T v) {
  static_assert(Block % 32 == 0, "block_sum: Block must be a multiple of 32");
  __shared__ T warp_sums[Block / 32];
  v = warp_sum(v);
  if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = v;
  __syncthreads();
  T total = 0;
#pragma unroll
  for (int w = 0; w < Block / 32; ++w) total += warp_sums[w];
  __syncthreads();
  return total;
}

}  // namespace gf::cuda
