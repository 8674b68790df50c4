// Minibatch standard deviation (StyleGAN). x [N, C, H, W] is read as
// [G, M, F, c, H, W] with M = N / G and c = C / F, so sample n = g * M + m
// sits in group m = n % M, as in the official MinibatchStdLayer. Then
//   s[m, f] = mean over (c, h, w) of sqrt(var_g x[g, m, f, c, h, w] + eps)
// (biased variance over the G members) and the output [N, C + F, H, W] is x
// with F channels appended, channel C + f of sample n filled with s[n % M, f].
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
namespace cpu {
inline int64_t minibatch_stddev_scratch_elems(const MinibatchStdDesc& d) { return d.m * d.features; }
template <class T>
void minibatch_stddev(const T* x, T* y, T* scratch, const MinibatchStdDesc& d, double eps);
}  // namespace cpu
namespace cuda {
// The statistics plus their per-block partial sums.
int64_t minibatch_stddev_scratch_elems(const MinibatchStdDesc& d);
template <class T>
void minibatch_stddev(const T* x, T* y, T* scratch, const MinibatchStdDesc& d, double eps, Stream s);
}  // namespace cuda
}  // namespace gf
