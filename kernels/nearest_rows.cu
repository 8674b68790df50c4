// One warp per row: each lane scans every 32nd column of the block; for the
// smallest values each lane keeps its own sorted list, then lane 0 merges
// the 32 lists with the row's running list through shared memory. The kept
// multiset is determined by the values alone, so the merge order does not
// change the result. Only the per-row lists and flags stay on the device.
#include <cmath>

#include "kernels/cuda_context.cuh"
#include "kernels/nearest_rows.h"

namespace gf::cuda {
namespace {

constexpr int kWarp = 32;

__device__ __forceinline__ void insert_sorted(double* list, int keep, double d2) {
  if (!(d2 < list[keep - 1])) return;  // NaN never enters
  int p = keep - 1;
  for (; p > 0 && list[p - 1] > d2; --p) list[p] = list[p - 1];
  list[p] = d2;
}

__global__ void keep_smallest_kernel(const double* __restrict__ dot, const double* __restrict__ sq_a,
                                     const double* __restrict__ sq_b, int64_t cn, int keep, double* __restrict__ best) {
  __shared__ double lists[kWarp * kMaxKeep];
  const int64_t i = blockIdx.x;
  const int lane = threadIdx.x;
  double mine[kMaxKeep];
  for (int t = 0; t < keep; ++t) mine[t] = INFINITY;
  const double* row = dot + i * cn;
  const double si = sq_a[i];
  for (int64_t j = lane; j < cn; j += kWarp) insert_sorted(mine, keep, si + sq_b[j] - 2 * row[j]);
  for (int t = 0; t < keep; ++t) lists[lane * keep + t] = mine[t];
  __syncthreads();
  if (lane == 0) {
    double* b = best + i * keep;
    for (int t = 0; t < keep; ++t) mine[t] = b[t];
    for (int v = 0; v < kWarp * keep; ++v) insert_sorted(mine, keep, lists[v]);
    for (int t = 0; t < keep; ++t) b[t] = mine[t];
  }
}

__global__ void any_within_kernel(const double* __restrict__ dot, const double* __restrict__ sq_a,
                                  const double* __restrict__ sq_b, const double* __restrict__ limit, int64_t cn,
                                  unsigned char* __restrict__ inside) {
  const int64_t i = blockIdx.x;
  if (inside[i]) return;  // the whole warp leaves together
  const double* row = dot + i * cn;
  const double si = sq_a[i];
  bool hit = false;
  for (int64_t j = threadIdx.x; j < cn && !hit; j += kWarp) hit = si + sq_b[j] - 2 * row[j] <= limit[j];
  if (__any_sync(0xffffffffu, hit) && threadIdx.x == 0) inside[i] = 1;
}

}  // namespace

void keep_smallest_sq(const double* dot, const double* sq_a, const double* sq_b, int64_t rn, int64_t cn, int64_t keep,
                      double* best, Stream s) {
  if (rn == 0) return;
  keep_smallest_kernel<<<static_cast<unsigned>(rn), kWarp, 0, static_cast<cudaStream_t>(s)>>>(
      dot, sq_a, sq_b, cn, static_cast<int>(keep), best);
  GF_CUDA_LAUNCH_CHECK("keep_smallest_sq");
}

void any_within_sq(const double* dot, const double* sq_a, const double* sq_b, const double* limit, int64_t rn,
                   int64_t cn, unsigned char* inside, Stream s) {
  if (rn == 0) return;
  any_within_kernel<<<static_cast<unsigned>(rn), kWarp, 0, static_cast<cudaStream_t>(s)>>>(dot, sq_a, sq_b, limit, cn,
                                                                                          inside);
  GF_CUDA_LAUNCH_CHECK("any_within_sq");
}

}  // namespace gf::cuda
