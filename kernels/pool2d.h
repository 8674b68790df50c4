// Pooling over independent planes (N * C of them) of NCHW tensors.
//
// Adaptive average pooling with torch's bin rule: output row i averages input
// rows [floor(i * H / OH), ceil((i + 1) * H / OH)), likewise for columns, so
// bins may overlap (188 -> 112) or differ in size (16 -> 7). Its adjoint spreads
// each output gradient evenly over its bin.
//
// Max pooling with a k x k window, stride and padding that never wins (torch's
// max_pool2d, dilation 1, floor mode). `take` returns, for every window, the
// value of `src` at the position of the window's maximum in x (the first
// maximum in row-major order; a NaN is taken as the maximum, the last NaN
// where there are several, as torch's kernels take it):
// the forward is take(x, x), and the gradient's own gradient is take(x, h).
// The backward sums each output gradient into the position of its window's
// maximum, formed per input element by a gather: deterministic, no atomics.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct PoolDims {
  int64_t planes = 0;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
};

struct MaxPoolParams {
  int k_h = 1, k_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
};

// torch's adaptive bins: [start, end) of output index i of n_out over n_in.
GF_HD inline int64_t adaptive_start(int64_t i, int64_t n_in, int64_t n_out) { return (i * n_in) / n_out; }
GF_HD inline int64_t adaptive_end(int64_t i, int64_t n_in, int64_t n_out) {
  return ((i + 1) * n_in + n_out - 1) / n_out;
}

namespace cpu {
template <class T>
void adaptive_avg_pool2d(const T* x, T* y, const PoolDims& d);
template <class T>
void adaptive_avg_pool2d_backward(const T* g, T* dx, const PoolDims& d);  // d as in the forward
template <class T>
void max_pool2d_take(const T* x, const T* src, T* y, const PoolDims& d, const MaxPoolParams& p);
template <class T>
void max_pool2d_backward(const T* x, const T* g, T* dx, const PoolDims& d, const MaxPoolParams& p);
}  // namespace cpu
namespace cuda {
template <class T>
void adaptive_avg_pool2d(const T* x, T* y, const PoolDims& d, Stream s);
template <class T>
void adaptive_avg_pool2d_backward(const T* g, T* dx, const PoolDims& d, Stream s);
template <class T>
void max_pool2d_take(const T* x, const T* src, T* y, const PoolDims& d, const MaxPoolParams& p, Stream s);
template <class T>
void max_pool2d_backward(const T* x, const T* g, T* dx, const PoolDims& d, const MaxPoolParams& p, Stream s);
}  // namespace cuda

// Shared by both backends.
template <class T>
GF_HD inline T adaptive_avg_point(const T* plane, const PoolDims& d, int64_t oy, int64_t ox) {
  const int64_t y0 = adaptive_start(oy, d.in_h, d.out_h), y1 = adaptive_end(oy, d.in_h, d.out_h);
  const int64_t x0 = adaptive_start(ox, d.in_w, d.out_w), x1 = adaptive_end(ox, d.in_w, d.out_w);
  T acc = 0;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) acc += plane[y * d.in_w + x];
  return acc / T((y1 - y0) * (x1 - x0));
}

// The range [lo, hi] of output bins along one axis that contain input index i.
GF_HD inline void adaptive_bins_of(int64_t i, int64_t n_in, int64_t n_out, int64_t& lo, int64_t& hi) {
  const int64_t o = (i * n_out) / n_in;  // always contains i
  lo = o;
  while (lo > 0 && adaptive_end(lo - 1, n_in, n_out) > i) --lo;
  hi = o;
  while (hi + 1 < n_out && adaptive_start(hi + 1, n_in, n_out) <= i) ++hi;
}

template <class T>
GF_HD inline T adaptive_avg_backward_point(const T* gplane, const PoolDims& d, int64_t iy, int64_t ix) {
  int64_t oy0, oy1, ox0, ox1;
  adaptive_bins_of(iy, d.in_h, d.out_h, oy0, oy1);
  adaptive_bins_of(ix, d.in_w, d.out_w, ox0, ox1);
  T acc = 0;
  for (int64_t oy = oy0; oy <= oy1; ++oy) {
    const int64_t h = adaptive_end(oy, d.in_h, d.out_h) - adaptive_start(oy, d.in_h, d.out_h);
    for (int64_t ox = ox0; ox <= ox1; ++ox) {
      const int64_t w = adaptive_end(ox, d.in_w, d.out_w) - adaptive_start(ox, d.in_w, d.out_w);
      acc += gplane[oy * d.out_w + ox] / T(h * w);
    }
  }
  return acc;
}

// Flat in-plane index of the maximum of window (oy, ox), or -1 when the
// window lies wholly in the padding (cannot happen with pad <= k / 2).
template <class T>
GF_HD inline int64_t max_pool_argmax(const T* plane, const PoolDims& d, const MaxPoolParams& p, int64_t oy,
                                     int64_t ox) {
  const int64_t y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
  int64_t best = -1;
  T m = 0;
  for (int64_t y = y0 < 0 ? 0 : y0; y < y0 + p.k_h && y < d.in_h; ++y)
    for (int64_t x = x0 < 0 ? 0 : x0; x < x0 + p.k_w && x < d.in_w; ++x) {
      const T v = plane[y * d.in_w + x];
      if (best < 0 || v > m || v != v) {  // torch: val > maxval || isnan(val)
        m = v;
        best = y * d.in_w + x;
      }
    }
  return best;
}

// Sum of the gradients of the windows whose maximum is input (iy, ix).
template <class T>
GF_HD inline T max_pool_backward_point(const T* plane, const T* gplane, const PoolDims& d, const MaxPoolParams& p,
                                       int64_t iy, int64_t ix) {
  // Windows oy with oy * s - pad <= iy < oy * s - pad + k.
  const int64_t ty = iy + p.pad_h, tx = ix + p.pad_w;
  int64_t oy0 = ty - p.k_h + 1 <= 0 ? 0 : (ty - p.k_h + 1 + p.stride_h - 1) / p.stride_h;
  int64_t ox0 = tx - p.k_w + 1 <= 0 ? 0 : (tx - p.k_w + 1 + p.stride_w - 1) / p.stride_w;
  const int64_t oy1 = ty / p.stride_h < d.out_h - 1 ? ty / p.stride_h : d.out_h - 1;
  const int64_t ox1 = tx / p.stride_w < d.out_w - 1 ? tx / p.stride_w : d.out_w - 1;
  const int64_t me = iy * d.in_w + ix;
  T acc = 0;
  for (int64_t oy = oy0; oy <= oy1; ++oy)
    for (int64_t ox = ox0; ox <= ox1; ++ox)
      if (max_pool_argmax(plane, d, p, oy, ox) == me) acc += gplane[oy * d.out_w + ox];
  return acc;
}

}  // namespace gf
