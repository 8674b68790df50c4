#include "kernels/nearest_rows.h"

#include "kernels/parallel.h"

namespace gf::cpu {

void keep_smallest_sq(const double* dot, const double* sq_a, const double* sq_b, int64_t rn, int64_t cn, int64_t keep,
                      double* best) {
  // A block's row is cn (1024) distances: far past the size where a region pays.
  parallel_for(rn, true, [&](int64_t i) {
    double* b = best + i * keep;
    const double* row = dot + i * cn;
    const double si = sq_a[i];
    for (int64_t j = 0; j < cn; ++j) {
      const double d2 = si + sq_b[j] - 2 * row[j];
      if (!(d2 < b[keep - 1])) continue;  // the common case; NaN never enters
      int64_t p = keep - 1;
      for (; p > 0 && b[p - 1] > d2; --p) b[p] = b[p - 1];
      b[p] = d2;
    }
  });
}

void any_within_sq(const double* dot, const double* sq_a, const double* sq_b, const double* limit, int64_t rn,
                   int64_t cn, unsigned char* inside) {
  parallel_for(rn, true, [&](int64_t i) {
    if (inside[i]) return;
    const double* row = dot + i * cn;
    const double si = sq_a[i];
    for (int64_t j = 0; j < cn; ++j)
      if (si + sq_b[j] - 2 * row[j] <= limit[j]) {
        inside[i] = 1;
        return;
      }
  });
}

}  // namespace gf::cpu
