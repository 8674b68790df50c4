// Filling a buffer with Philox 4x32-10 random numbers (kernels/philox.h).
// Element i of a fill is value i % 4 of counter (offset + i / 4) under key
// `seed`, so the values depend on nothing but (seed, offset, i): not on the
// device, the thread count or the launch shape. A fill of n elements uses
// ceil(n / 4) counters. Values are computed in float32; float64 buffers get
// those float32 values widened, so both dtypes (and both devices) agree.
#pragma once
#include <cstdint>

#include "kernels/cuda_runtime.h"

namespace gf {

enum class RandomDist { uniform, normal };  // uniform in [0, 1), standard normal

namespace cpu {
template <class T>
void philox_fill(RandomDist dist, T* out, int64_t n, uint64_t seed, uint64_t offset);
}  // namespace cpu

namespace cuda {
template <class T>
void philox_fill(RandomDist dist, T* out, int64_t n, uint64_t seed, uint64_t offset, Stream s);
}  // namespace cuda

}  // namespace gf
