// CPU reference: one channel per task for the reductions (sums in double, the
// variance in a second pass around the mean so that a large mean does not
// cancel it away), one (n, c) plane per task for the elementwise halves.
#include <cmath>

#include "kernels/batch_norm.h"

namespace gf::cpu {

template <class T>
void batch_norm_stats(const T* x, T* mean, T* var, const BatchNormDims& d) {
  const double count = static_cast<double>(d.outer * d.inner);
#pragma omp parallel for if (d.outer * d.c * d.inner > 32768)
  for (int64_t c = 0; c < d.c; ++c) {
    double s = 0;
    for (int64_t o = 0; o < d.outer; ++o) {
      const T* row = x + (o * d.c + c) * d.inner;
      for (int64_t i = 0; i < d.inner; ++i) s += row[i];
    }
    const double m = s / count;
    double ss = 0;
    for (int64_t o = 0; o < d.outer; ++o) {
      const T* row = x + (o * d.c + c) * d.inner;
      for (int64_t i = 0; i < d.inner; ++i) ss += (row[i] - m) * (row[i] - m);
    }
    mean[c] = static_cast<T>(m);
    var[c] = static_cast<T>(ss / count);
  }
}

template <class T>
void batch_norm_apply(const T* x, const T* mean, const T* scale, const T* shift, T* y, const BatchNormDims& d) {
#pragma omp parallel for if (d.outer * d.c * d.inner > 32768)
  for (int64_t p = 0; p < d.outer * d.c; ++p) {
    const int64_t c = p % d.c;
    const T m = mean[c], s = scale[c], b = shift[c];
    const T* xr = x + p * d.inner;
    T* yr = y + p * d.inner;
#pragma omp simd
    for (int64_t i = 0; i < d.inner; ++i) yr[i] = (xr[i] - m) * s + b;
  }
}

template <class T>
void batch_norm_backward_reduce(const T* g, const T* x, const T* mean, T* sum_g, T* sum_gx, const BatchNormDims& d) {
#pragma omp parallel for if (d.outer * d.c * d.inner > 32768)
  for (int64_t c = 0; c < d.c; ++c) {
    const double m = mean[c];
    double sg = 0, sgx = 0;
    for (int64_t o = 0; o < d.outer; ++o) {
      const int64_t at = (o * d.c + c) * d.inner;
      for (int64_t i = 0; i < d.inner; ++i) {
        sg += g[at + i];
        sgx += static_cast<double>(g[at + i]) * (x[at + i] - m);
      }
    }
    sum_g[c] = static_cast<T>(sg);
    sum_gx[c] = static_cast<T>(sgx);
  }
}

template <class T>
void batch_norm_backward_elemt(const T* g, const T* x, const T* mean, const T* mean_g, const T* k, const T* scale,
                               T* dx, const BatchNormDims& d) {
#pragma omp parallel for if (d.outer * d.c * d.inner > 32768)
  for (int64_t p = 0; p < d.outer * d.c; ++p) {
    const int64_t c = p % d.c;
    const T m = mean[c], mg = mean_g[c], kc = k[c], s = scale[c];
    const int64_t at = p * d.inner;
#pragma omp simd
    for (int64_t i = 0; i < d.inner; ++i) dx[at + i] = (g[at + i] - mg - (x[at + i] - m) * kc) * s;
  }
}

#define GF_INSTANTIATE(T)                                                                                      \
  template void batch_norm_stats<T>(const T*, T*, T*, const BatchNormDims&);                                  \
  template void batch_norm_apply<T>(const T*, const T*, const T*, const T*, T*, const BatchNormDims&);        \
  template void batch_norm_backward_reduce<T>(const T*, const T*, const T*, T*, T*, const BatchNormDims&);    \
  template void batch_norm_backward_elemt<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*, \
                                             const BatchNormDims&);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)
#undef GF_INSTANTIATE

}  // namespace gf::cpu
