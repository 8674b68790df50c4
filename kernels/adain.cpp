// Plane by plane; sums in double so the float32 reference is accurate to rounding.
// Every loop is an omp simd loop (the sums as simd reductions, several
// accumulators): scalar double chains made the fused op slower than the
// composed mean/rsqrt/mul ops it replaces (bench_gan_ops_b).
#include "kernels/adain.h"

#include <cmath>

namespace gf::cpu {

template <class T>
void adain_forward(const AdainParams& p, const T* x, const T* ys, const T* yb, T* y, T* mean, T* rstd) {
#pragma omp parallel for if (p.planes * p.hw > 32768)
  for (int64_t q = 0; q < p.planes; ++q) {
    const T* xr = x + q * p.hw;
    double m = 0, v = 0;
#pragma omp simd reduction(+ : m)
    for (int64_t k = 0; k < p.hw; ++k) m += xr[k];
    m /= static_cast<double>(p.hw);
#pragma omp simd reduction(+ : v)
    for (int64_t k = 0; k < p.hw; ++k) v += (xr[k] - m) * (xr[k] - m);
    const double r = 1.0 / std::sqrt(v / static_cast<double>(p.hw) + p.eps);
    mean[q] = static_cast<T>(m);
    rstd[q] = static_cast<T>(r);
    const double s = ys[q], b = yb[q];
    T* yr = y + q * p.hw;
#pragma omp simd
    for (int64_t k = 0; k < p.hw; ++k) yr[k] = static_cast<T>(s * ((xr[k] - m) * r) + b);
  }
}

template <class T>
void adain_backward(const AdainParams& p, const T* g, const T* x, const T* ys, const T* mean, const T* rstd, T* dx,
                    T* dys, T* dyb) {
#pragma omp parallel for if (p.planes * p.hw > 32768)
  for (int64_t q = 0; q < p.planes; ++q) {
    const T* xr = x + q * p.hw;
    const T* gr = g + q * p.hw;
    const double m = mean[q], r = rstd[q];
    double sg = 0, sgx = 0;
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t k = 0; k < p.hw; ++k) {
      sg += gr[k];
      sgx += gr[k] * (xr[k] - m) * r;
    }
    dys[q] = static_cast<T>(sgx);
    dyb[q] = static_cast<T>(sg);
    const double inv = 1.0 / static_cast<double>(p.hw), s = ys[q];
    T* dxr = dx + q * p.hw;
#pragma omp simd
    for (int64_t k = 0; k < p.hw; ++k) {
      const double xhat = (xr[k] - m) * r;
      dxr[k] = static_cast<T>(r * s * (gr[k] - sg * inv - xhat * sgx * inv));
    }
  }
}

template void adain_forward<float>(const AdainParams&, const float*, const float*, const float*, float*, float*,
                                   float*);
template void adain_forward<double>(const AdainParams&, const double*, const double*, const double*, double*, double*,
                                    double*);
template void adain_backward<float>(const AdainParams&, const float*, const float*, const float*, const float*,
                                    const float*, float*, float*, float*);
template void adain_backward<double>(const AdainParams&, const double*, const double*, const double*, const double*,
                                     const double*, double*, double*, double*);

}  // namespace gf::cpu
