// AdaIN on NCHW, StyleGAN1's instance norm followed by the style: per (sample,
// channel) plane, xhat = (x - mean) * rsqrt(mean((x - mean)^2) + eps), then
// y = ys * xhat + yb with ys, yb one value per plane.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct AdainParams {
  int64_t planes = 0;  // N * C
  int64_t hw = 0;      // H * W
  double eps = 1e-8;
};

namespace cpu {
// Also writes each plane's mean and rstd for the backward.
template <class T>
void adain_forward(const AdainParams& p, const T* x, const T* ys, const T* yb, T* y, T* mean, T* rstd);
// dx = rstd * (gs - mean(gs) - xhat * mean(gs * xhat)) with gs = g * ys;
// dys = sum(g * xhat), dyb = sum(g) per plane.
template <class T>
void adain_backward(const AdainParams& p, const T* g, const T* x, const T* ys, const T* mean, const T* rstd, T* dx,
                    T* dys, T* dyb);
}  // namespace cpu

namespace cuda {
template <class T>
void adain_forward(const AdainParams& p, const T* x, const T* ys, const T* yb, T* y, T* mean, T* rstd, Stream s);
template <class T>
void adain_backward(const AdainParams& p, const T* g, const T* x, const T* ys, const T* mean, const T* rstd, T* dx,
                    T* dys, T* dyb, Stream s);
}  // namespace cuda

}  // namespace gf
