#include "kernels/prelu.h"

namespace gf::cpu {

template <class T>
void prelu(const T* x, const T* a, T* y, const PreluDims& d) {
#pragma omp parallel for if (d.outer * d.c * d.inner > 32768)
  for (int64_t p = 0; p < d.outer * d.c; ++p) {
    const T s = a[d.per_channel ? p % d.c : 0];
    const T* xr = x + p * d.inner;
    T* yr = y + p * d.inner;
#pragma omp simd
    for (int64_t i = 0; i < d.inner; ++i) yr[i] = xr[i] > T(0) ? xr[i] : s * xr[i];
  }
}

template void prelu<float>(const float*, const float*, float*, const PreluDims&);
template void prelu<double>(const double*, const double*, double*, const PreluDims&);

}  // namespace gf::cpu
