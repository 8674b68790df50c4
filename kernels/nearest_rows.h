// The per-row scans of precision/recall (metrics/precision_recall.h) over one
// block of squared distances between the rows a_i of one set and b_j of
// another, formed from a block of dot products as the official cdist's
// expansion:
//   d2(i, j) = sq_a[i] + sq_b[j] - 2 dot[i * cn + j]   (float64, as written)
// dot: [rn, cn] row-major; sq_a: [rn], sq_b: [cn] the rows' squared norms.
// Each row's result depends only on that row's values, in no particular
// column order, so any split of the rows across threads gives the same bits.
// The CUDA form computes d2 with the same two roundings: the factor 2 is
// exact, so an FMA contraction of `s - 2 dot` rounds as the separate ops.
#pragma once
#include <cstdint>

#include "kernels/cuda_runtime.h"

namespace gf {

namespace cpu {
// best: [rn, keep], each row's `keep` smallest d2 so far, ascending (start
// at +inf); merged with this block's: afterwards it holds the smallest
// `keep` of the old values and the block's row (a multiset: equal values
// count once each). NaN distances are never kept. Rows split across the
// OpenMP threads.
void keep_smallest_sq(const double* dot, const double* sq_a, const double* sq_b, int64_t rn, int64_t cn, int64_t keep,
                      double* best);
// inside: [rn] 0/1; a row not yet inside becomes inside when d2(i, j) <=
// limit[j] for some j of the block (limit: [cn]). Rows split across threads.
void any_within_sq(const double* dot, const double* sq_a, const double* sq_b, const double* limit, int64_t rn,
                   int64_t cn, unsigned char* inside);
}  // namespace cpu

namespace cuda {
// The most values a row keeps on the device (one warp's lanes each hold that many).
constexpr int64_t kMaxKeep = 16;
// The same on `device`'s stream, every pointer on that device; keep <= kMaxKeep.
void keep_smallest_sq(const double* dot, const double* sq_a, const double* sq_b, int64_t rn, int64_t cn, int64_t keep,
                      double* best, Stream s);
void any_within_sq(const double* dot, const double* sq_a, const double* sq_b, const double* limit, int64_t rn,
                   int64_t cn, unsigned char* inside, Stream s);
}  // namespace cuda

}  // namespace gf
