// Minibatch standard deviation (StyleGAN). x [N, C, H, W] is read as
// [G, M, F, c, H, W] with M = N / G and c = C / F, so sample n = g * M + m
// sits in group m = n % M, as in the official MinibatchStdLayer. Then
//   s[m, f] = mean over (c, h, w) of sqrt(var_g x[g, m, f, c, h, w] + eps)
// (biased variance over the G members) and the output [N, C + F, H, W] is x
// with F channels appended, channel C + f of sample n filled with s[n % M, f].
// The gradient, from x and the output gradient g [N, C + F, H, W]: with
// gs[m, f] = g's channel C + f summed over pixels and the G members of group m,
// d = x - mean_g x and sd = sqrt(mean_g d^2 + eps) (both in x's layout),
//   dx = g[:, :C] + d / sd * gs[m, f] / (G * c*H*W).
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct MinibatchStdDesc {
  int64_t groups = 1;       // G: members per group
  int64_t m = 1;            // M = N / G: number of groups
  int64_t features = 1;     // F: appended channels
  int64_t per_feature = 1;  // c * H * W: elements averaged into one statistic
  int64_t hw = 1;           // H * W
};

// y is the [N, C + F, H, W] output; `scratch` holds *_scratch_elems(d) elements.
// The gradient's `scratch` holds gs: minibatch_stddev_grad_scratch_elems(d) on either device.
inline int64_t minibatch_stddev_grad_scratch_elems(const MinibatchStdDesc& d) { return d.m * d.features; }
namespace cpu {
inline int64_t minibatch_stddev_scratch_elems(const MinibatchStdDesc& d) { return d.m * d.features; }
template <class T>
void minibatch_stddev(const T* x, T* y, T* scratch, const MinibatchStdDesc& d, double eps);
template <class T>
void minibatch_stddev_grad(const T* x, const T* g, T* dx, T* scratch, const MinibatchStdDesc& d, double eps);
}  // namespace cpu
namespace cuda {
// The statistics plus their per-block partial sums.
int64_t minibatch_stddev_scratch_elems(const MinibatchStdDesc& d);
template <class T>
void minibatch_stddev(const T* x, T* y, T* scratch, const MinibatchStdDesc& d, double eps, Stream s);
template <class T>
void minibatch_stddev_grad(const T* x, const T* g, T* dx, T* scratch, const MinibatchStdDesc& d, double eps,
                           Stream s);
}  // namespace cuda
}  // namespace gf
