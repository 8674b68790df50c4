#include <cmath>
#include <cstring>

#include "kernels/minibatch_stddev.h"
#include "kernels/parallel.h"

namespace gf::cpu {

template <class T>
void minibatch_stddev(const T* x, T* y, T* stats, const MinibatchStdDesc& d, double eps) {  // stats: [M, F]
  const int64_t G = d.groups, M = d.m, F = d.features, P = d.per_feature;
  const int64_t sample = F * P;  // elements of one input sample
  parallel_for(M * F, G * M * F * P > 32768, [&](int64_t mf) {  // (m, f), as collapse(2) splits them
    const int64_t m = mf / F, f = mf % F;
    {
      double acc = 0;
      for (int64_t j = 0; j < P; ++j) {
        const T* xj = x + m * sample + f * P + j;  // member g at xj[g * M * sample]
        double mu = 0, var = 0;
        for (int64_t g = 0; g < G; ++g) mu += xj[g * M * sample];
        mu /= static_cast<double>(G);
        for (int64_t g = 0; g < G; ++g) var += (xj[g * M * sample] - mu) * (xj[g * M * sample] - mu);
        acc += std::sqrt(var / static_cast<double>(G) + eps);
      }
      stats[m * F + f] = static_cast<T>(acc / static_cast<double>(P));
    }
  });
  const int64_t N = G * M;
  parallel_for(N, N * (sample + F * d.hw) > 32768, [&](int64_t n) {
    T* yn = y + n * (sample + F * d.hw);
    std::memcpy(yn, x + n * sample, sizeof(T) * static_cast<size_t>(sample));
    for (int64_t f = 0; f < F; ++f)
      for (int64_t k = 0; k < d.hw; ++k) yn[sample + f * d.hw + k] = stats[(n % M) * F + f];
  });
}

template <class T>
void minibatch_stddev_grad(const T* x, const T* g, T* dx, T* gs, const MinibatchStdDesc& d, double eps) {
  const int64_t G = d.groups, M = d.m, F = d.features, P = d.per_feature;
  const int64_t sample = F * P, out_sample = sample + F * d.hw;
  parallel_for(M * F, G * M * F * d.hw > 32768, [&](int64_t mf) {
    const int64_t m = mf / F, f = mf % F;
    double acc = 0;
    for (int64_t gi = 0; gi < G; ++gi) {
      const T* gm = g + (gi * M + m) * out_sample + sample + f * d.hw;
      for (int64_t k = 0; k < d.hw; ++k) acc += gm[k];
    }
    gs[m * F + f] = static_cast<T>(acc);
  });
  const double scale = 1.0 / static_cast<double>(G * P);
  parallel_for(M * sample, G * M * sample > 32768, [&](int64_t me) {
    const int64_t m = me / sample, e = me % sample;  // e = f * P + j: one element of a sample
    {
      const int64_t member = M * sample;
      const T* xe = x + m * sample + e;  // member gi at xe[gi * member]
      double mu = 0, var = 0;
      for (int64_t gi = 0; gi < G; ++gi) mu += xe[gi * member];
      mu /= static_cast<double>(G);
      for (int64_t gi = 0; gi < G; ++gi) var += (xe[gi * member] - mu) * (xe[gi * member] - mu);
      const double k = static_cast<double>(gs[m * F + e / P]) * scale / std::sqrt(var / static_cast<double>(G) + eps);
      for (int64_t gi = 0; gi < G; ++gi) {
        const int64_t n = gi * M + m;
        dx[n * sample + e] = static_cast<T>(g[n * out_sample + e] + (xe[gi * member] - mu) * k);
      }
    }
  });
}

template void minibatch_stddev<float>(const float*, float*, float*, const MinibatchStdDesc&, double);
template void minibatch_stddev<double>(const double*, double*, double*, const MinibatchStdDesc&, double);
template void minibatch_stddev_grad<float>(const float*, const float*, float*, float*, const MinibatchStdDesc&,
                                           double);
template void minibatch_stddev_grad<double>(const double*, const double*, double*, double*, const MinibatchStdDesc&,
                                            double);

}  // namespace gf::cpu
