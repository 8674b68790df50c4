// Noise injection fused with bias and activation, on NCHW:
//   y = clamp(gain * act(x + strength * noise + b))
// with noise [N, 1, H, W] (or [1, 1, H, W], shared by the batch) broadcast over
// channels and strength a scalar (StyleGAN2) or one value per channel
// (StyleGAN). This is what a StyleGAN2 synthesis layer does after each conv,
// in one pass over x. The activation formulas are bias_act's.
#pragma once
#include "kernels/bias_act.h"

namespace gf {

struct NoiseParams {
  int64_t n = 0, c = 0, hw = 0;       // x is [n, c, hw]
  bool noise_per_sample = true;       // noise [n, 1, hw]; else [1, 1, hw]
  bool strength_per_channel = false;  // strength [c]; else one value
  Act act = Act::linear;              // act, alpha, gain and clamp as in BiasActParams
  double alpha = 0, gain = 1, clamp = -1;
};

namespace cpu {
// b may be null (no bias).
template <class T>
void noise_bias_act(const NoiseParams& p, const T* x, const T* noise, const T* strength, const T* b, T* y);
}  // namespace cpu
namespace cuda {
template <class T>
void noise_bias_act(const NoiseParams& p, const T* x, const T* noise, const T* strength, const T* b, T* y, Stream s);
}

}  // namespace gf
