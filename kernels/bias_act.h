// bias_act: y = clamp(gain * act(x + b), -clamp, clamp), with b broadcast along
// one dim, and its gradient kernels, after StyleGAN2-ADA's bias_act plugin.
//   order 1: out = g * gain * act'(x + b) * [|y| < clamp]           (dx from dy)
//   order 2: out = g * dy * gain * act''(x + b) * [|y| < clamp]     (d(dx)/dx applied to g)
// act' and act'' are read from y where the activation allows it (relu, lrelu,
// tanh, sigmoid, elu, selu, softplus), else from x + b (swish, and lrelu with a
// negative slope), so the forward input can be dropped when only first-order
// gradients are needed.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

enum class Act { linear, relu, lrelu, tanh, sigmoid, elu, selu, softplus, swish };

struct BiasActParams {
  Act act = Act::linear;
  double alpha = 0;  // lrelu slope
  double gain = 1;
  double clamp = -1;      // < 0: no clamp
  int64_t n = 0;          // elements of x
  int64_t bias_len = 0;   // 0: no bias
  int64_t bias_step = 1;  // elements between consecutive bias entries (product of dims after `dim`)
};

// Which saved tensors the gradient kernels read, per activation.
GF_HD inline bool act_grad_uses_y(Act a) { return a != Act::linear && a != Act::swish; }
// lrelu with a negative slope: y > 0 on both sides of 0, so x tells them apart.
GF_HD inline bool act_grad_uses_x(Act a, double alpha) { return a == Act::swish || (a == Act::lrelu && alpha < 0); }
// Whether act'' is nonzero somewhere (the second-order kernel has work to do).
GF_HD inline bool act_has_second_grad(Act a) { return a != Act::linear && a != Act::relu && a != Act::lrelu; }

namespace cpu {
template <class T>
void bias_act(const BiasActParams& p, const T* x, const T* b, T* y);
// x, b and y may be null when act_grad_uses_x / act_grad_uses_y (and clamp) say
// they are not read; dy is read by order 2 only.
template <class T>
void bias_act_grad(const BiasActParams& p, int order, const T* g, const T* x, const T* b, const T* y, const T* dy,
                   T* out);
}  // namespace cpu

namespace cuda {
template <class T>
void bias_act(const BiasActParams& p, const T* x, const T* b, T* y, Stream s);
template <class T>
void bias_act_grad(const BiasActParams& p, int order, const T* g, const T* x, const T* b, const T* y, const T* dy,
                   T* out, Stream s);
}  // namespace cuda

}  // namespace gf
