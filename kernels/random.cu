#include <cstdint>

#include "kernels/cuda_context.cuh"
#include "kernels/philox.h"
#include "kernels/random.h"

namespace gf::cuda {
namespace {

// One 16-byte store per block of four floats; two for doubles.
__device__ inline void store4(float* p, const float v[4]) {
  *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
}
__device__ inline void store4(double* p, const float v[4]) {
  reinterpret_cast<double2*>(p)[0] = make_double2(v[0], v[1]);
  reinterpret_cast<double2*>(p)[1] = make_double2(v[2], v[3]);
}

// One thread per counter; `vec` says `out` is 16-byte aligned, so every full
// block can be written with vector stores.
template <bool kNormal, class T>
__global__ void philox_fill_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset, bool vec) {
  const int64_t blocks = (n + 3) / 4;
  for (int64_t b = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; b < blocks; b += (int64_t)gridDim.x * blockDim.x) {
    float v[4];
    philox::values4<kNormal>(seed, offset + static_cast<uint64_t>(b), v);
    const int64_t base = 4 * b;
    if (vec && base + 4 <= n) {
      store4(out + base, v);
    } else {
      for (int64_t k = 0; k < 4 && base + k < n; ++k) out[base + k] = static_cast<T>(v[k]);
    }
  }
}

constexpr int kBlock = 256;

}  // namespace

template <class T>
void philox_fill(RandomDist dist, T* out, int64_t n, uint64_t seed, uint64_t offset, Stream s) {
  if (n == 0) return;
  const bool vec = (reinterpret_cast<uintptr_t>(out) & 15) == 0;
  const unsigned grid = grid_for((n + 3) / 4, kBlock);
  if (dist == RandomDist::normal)
    philox_fill_kernel<true, T><<<grid, kBlock, 0, (cudaStream_t)s>>>(out, n, seed, offset, vec);
  else
    philox_fill_kernel<false, T><<<grid, kBlock, 0, (cudaStream_t)s>>>(out, n, seed, offset, vec);
  GF_CUDA_LAUNCH_CHECK("philox_fill");
}

template void philox_fill<float>(RandomDist, float*, int64_t, uint64_t, uint64_t, Stream);
template void philox_fill<double>(RandomDist, double*, int64_t, uint64_t, uint64_t, Stream);

}  // namespace gf::cuda
