#include "kernels/modulated_conv2d.h"

#include <cmath>
#include <vector>

#include "kernels/parallel.h"

namespace gf::cpu {
namespace {

// d and d^3 * p for one (n, o), in double so the float32 reference is accurate to rounding.
template <class T>
void coefs(const ModWeightParams& p, const T* g, const T* weight, const T* styles, int64_t n, int64_t o, double& d,
           double& e) {
  if (!p.demodulate) {
    d = 1, e = 0;
    return;
  }
  double ss = 0, gu = 0;
  for (int64_t i = 0; i < p.i; ++i)
    for (int64_t t = 0; t < p.taps; ++t) {
      const double u = static_cast<double>(weight[(o * p.i + i) * p.taps + t]) * styles[n * p.i + i];
      ss += u * u;
      if (g) gu += static_cast<double>(g[mod_weight_offset(p, n, o, i, t)]) * u;
    }
  d = 1.0 / std::sqrt(ss + p.eps);
  e = d * d * d * gu;
}

}  // namespace

template <class T>
void modulate_weight(const ModWeightParams& p, const T* weight, const T* styles, T* out) {
  const bool par = p.n * p.o * p.i * p.taps > 32768;
  parallel_for(p.n * p.o, par, [&](int64_t no) {  // (n, o), as collapse(2) would split them
    const int64_t n = no / p.o, o = no % p.o;
    double d, e;
    coefs<T>(p, nullptr, weight, styles, n, o, d, e);
    for (int64_t i = 0; i < p.i; ++i)
      for (int64_t t = 0; t < p.taps; ++t)
        out[mod_weight_offset(p, n, o, i, t)] =
            static_cast<T>(static_cast<double>(weight[(o * p.i + i) * p.taps + t]) * styles[n * p.i + i] * d);
  });
}

template <class T>
void modulate_weight_grad(const ModWeightParams& p, const T* g, const T* weight, const T* styles, T* dweight,
                          T* dstyles) {
  // The per-(n, o) coefficients, in a per-thread buffer kept between calls (no heap block per call).
  thread_local std::vector<double> coef_buf;
  coef_buf.resize(static_cast<size_t>(2 * p.n * p.o));
  double* d = coef_buf.data();
  double* e = d + p.n * p.o;
  const bool par = p.n * p.o * p.i * p.taps > 32768;
  parallel_for(p.n * p.o, par, [&](int64_t no) { coefs<T>(p, g, weight, styles, no / p.o, no % p.o, d[no], e[no]); });
  // du at (n, o, i, t), recomputed rather than stored: it is as large as the weights.
  auto du = [&](int64_t n, int64_t o, int64_t i, int64_t t) {
    const double u = static_cast<double>(weight[(o * p.i + i) * p.taps + t]) * styles[n * p.i + i];
    return d[n * p.o + o] * g[mod_weight_offset(p, n, o, i, t)] - e[n * p.o + o] * u;
  };
  if (dweight) {
    parallel_for(p.o * p.i, par, [&](int64_t oi) {
      const int64_t o = oi / p.i, i = oi % p.i;
      for (int64_t t = 0; t < p.taps; ++t) {
        double acc = 0;
        for (int64_t n = 0; n < p.n; ++n) acc += du(n, o, i, t) * styles[n * p.i + i];
        dweight[(o * p.i + i) * p.taps + t] = static_cast<T>(acc);
      }
    });
  }
  if (dstyles) {
    parallel_for(p.n * p.i, par, [&](int64_t ni) {
      const int64_t n = ni / p.i, i = ni % p.i;
      double acc = 0;
      for (int64_t o = 0; o < p.o; ++o)
        for (int64_t t = 0; t < p.taps; ++t) acc += du(n, o, i, t) * weight[(o * p.i + i) * p.taps + t];
      dstyles[n * p.i + i] = static_cast<T>(acc);
    });
  }
}

template void modulate_weight<float>(const ModWeightParams&, const float*, const float*, float*);
template void modulate_weight<double>(const ModWeightParams&, const double*, const double*, double*);
template void modulate_weight_grad<float>(const ModWeightParams&, const float*, const float*, const float*, float*,
                                          float*);
template void modulate_weight_grad<double>(const ModWeightParams&, const double*, const double*, const double*,
                                           double*, double*);

}  // namespace gf::cpu
