#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/pixel_norm.h"

namespace gf::cpu {

// Both kernels walk [r, n] tiles of up to kCols columns (row stride `inner`),
// so each step along r reads contiguous memory (a column at a time strides by
// inner and ran at a quarter of the speed). N > 0 fixes n at compile time, so
// that the accumulators of a single column (inner == 1, z) stay in registers.
// Sums in double so the float32 reference is accurate to rounding.
constexpr int64_t kCols = 64;

// Calls tile(offset, n, width) for every tile, in parallel; width is
// integral_constant<int64_t, 1> when inner == 1, else 0 (n varies).
template <class F>
void for_each_tile(int64_t outer, int64_t r, int64_t inner, F&& tile) {
  const int64_t blocks = (inner + kCols - 1) / kCols;
#pragma omp parallel for collapse(2) if (outer * r * inner > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t at = o * r * inner + b * kCols, n = std::min(kCols, inner - b * kCols);
      if (inner == 1)
        tile(at, n, std::integral_constant<int64_t, 1>{});
      else
        tile(at, n, std::integral_constant<int64_t, 0>{});
    }
}

// y for one tile.
template <int64_t N, class T>
void pixel_norm_tile(const T* x, T* y, int64_t r, int64_t inner, int64_t n, double eps) {
  if (N > 0) n = N;
  double ss[kCols] = {};
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) ss[i] += static_cast<double>(x[k * inner + i]) * x[k * inner + i];
  for (int64_t i = 0; i < n; ++i) ss[i] = 1.0 / std::sqrt(ss[i] / static_cast<double>(r) + eps);
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) y[k * inner + i] = static_cast<T>(x[k * inner + i] * ss[i]);
}

template <class T>
void pixel_norm(const T* x, T* y, int64_t outer, int64_t r, int64_t inner, double eps) {
  for_each_tile(outer, r, inner, [&](int64_t at, int64_t n, auto width) {
    pixel_norm_tile<decltype(width)::value>(x + at, y + at, r, inner, n, eps);
  });
}


// dx for one tile.
template <int64_t N, class T>
void pixel_norm_grad_tile(const T* x, const T* g, T* dx, int64_t r, int64_t inner, int64_t n, double eps) {
  if (N > 0) n = N;
  double ss[kCols] = {}, gx[kCols] = {};
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) {
      const double xv = x[k * inner + i];
      ss[i] += xv * xv;
      gx[i] += xv * g[k * inner + i];
    }
  for (int64_t i = 0; i < n; ++i) {  // ss becomes s, gx becomes s^3 * mean(g * x)
    ss[i] = 1.0 / std::sqrt(ss[i] / static_cast<double>(r) + eps);
    gx[i] *= ss[i] * ss[i] * ss[i] / static_cast<double>(r);
  }
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = k * inner + i;
      dx[j] = static_cast<T>(ss[i] * g[j] - gx[i] * x[j]);
    }
}

template <class T>
void pixel_norm_grad(const T* x, const T* g, T* dx, int64_t outer, int64_t r, int64_t inner, double eps) {
  for_each_tile(outer, r, inner, [&](int64_t at, int64_t n, auto width) {
    pixel_norm_grad_tile<decltype(width)::value>(x + at, g + at, dx + at, r, inner, n, eps);
  });
}

template void pixel_norm<float>(const float*, float*, int64_t, int64_t, int64_t, double);
template void pixel_norm<double>(const double*, double*, int64_t, int64_t, int64_t, double);
template void pixel_norm_grad<float>(const float*, const float*, float*, int64_t, int64_t, int64_t, double);
template void pixel_norm_grad<double>(const double*, const double*, double*, int64_t, int64_t, int64_t, double);

}  // namespace gf::cpu
