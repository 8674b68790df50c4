#include <cmath>

#include "kernels/pixel_norm.h"

namespace gf::cpu {

// Sums of squares in double so the float32 reference is accurate to rounding.
template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps) {
#pragma omp parallel for collapse(2) if (outer * r * inner > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const T* xi = x + o * r * inner + i;
      T* yi = y + o * r * inner + i;
      double ss = 0;
      for (int64_t k = 0; k < r; ++k) ss += static_cast<double>(xi[k * inner]) * xi[k * inner];
      const double s = 1.0 / std::sqrt(ss / static_cast<double>(r) + eps);
      for (int64_t k = 0; k < r; ++k) yi[k * inner] = static_cast<T>(xi[k * inner] * s);
    }
}

template void pixel_norm<float>(const float*, float*, int64_t, int64_t, int64_t, double);
template void pixel_norm<double>(const double*, double*, int64_t, int64_t, int64_t, double);

}  // namespace gf::cpu
