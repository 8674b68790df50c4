// The per-sample weights of StyleGAN2's modulated convolution, and their
// gradient. With u[n,o,i,t] = weight[o,i,t] * styles[n,i] (t runs over the
// kh*kw taps) and d[n,o] = rsqrt(sum_{i,t} u^2 + eps) (1 without demodulation):
//   out[n,o,i,t] = u[n,o,i,t] * d[n,o]
// The gradient, for an upstream g laid out as `out`, goes through
//   du[n,o,i,t] = d * g - d^3 * p[n,o] * u,   p[n,o] = sum_{i,t} g * u
//   dweight[o,i,t] = sum_n du * styles[n,i],   dstyles[n,i] = sum_{o,t} du * weight[o,i,t]
// `out` is written in the layout the following grouped convolution reads, so
// no copy sits between the two: [N*O, I, kh, kw] for conv2d, or [N*I, O, kh, kw]
// for conv_transpose2d (`transpose`), optionally rotated by 180 degrees
// (`flip`: the taps reversed), which is what the official code's flip_weight
// asks of the transposed convolution.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct ModWeightParams {
  int64_t n = 0, o = 0, i = 0;
  int64_t taps = 0;  // kh * kw
  bool demodulate = true;
  bool transpose = false;
  bool flip = false;
  double eps = 1e-8;
};

// Offset of element (n, o, i, t) of the logical [N, O, I, taps] weights in the layout p asks for.
GF_HD inline int64_t mod_weight_offset(const ModWeightParams& p, int64_t n, int64_t o, int64_t i, int64_t t) {
  const int64_t tt = p.flip ? p.taps - 1 - t : t;
  return p.transpose ? ((n * p.i + i) * p.o + o) * p.taps + tt : ((n * p.o + o) * p.i + i) * p.taps + tt;
}

namespace cpu {
template <class T>
void modulate_weight(const ModWeightParams& p, const T* weight, const T* styles, T* out);
// g in out's layout. dweight or dstyles may be null (not wanted).
template <class T>
void modulate_weight_grad(const ModWeightParams& p, const T* g, const T* weight, const T* styles, T* dweight,
                          T* dstyles);
}  // namespace cpu

namespace cuda {
template <class T>
void modulate_weight(const ModWeightParams& p, const T* weight, const T* styles, T* out, Stream s);
// workspace: 2 * n * o elements (d and d^3 p per sample and output channel).
template <class T>
void modulate_weight_grad(const ModWeightParams& p, const T* g, const T* weight, const T* styles, T* dweight,
                          T* dstyles, T* workspace, Stream s);
}  // namespace cuda

}  // namespace gf
