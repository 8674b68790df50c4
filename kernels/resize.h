// Bilinear resizing of independent planes (N * C of them). Along each axis,
// output index j reads source coordinate
//   half_pixel:    max((j + 0.5) * in / out - 0.5, 0)   torch's F.interpolate(mode='bilinear')
//   align_corners: j * (in - 1) / (out - 1)   (0 when out == 1), the same with align_corners=True
//   asymmetric:    j * in / out                TF1's ResizeBilinear (align_corners=False), which
//                                              the FID/IS Inception detector runs
// and blends its floor i0 and i1 = min(i0 + 1, in - 1) with weights 1 - l and
// l, l = coordinate - i0; the two axes multiply. One more rule reads a single
// source, i0 = i1 and l = 0:
//   nearest:       min(floor(j * s), in - 1), s = float(in) / float(out), the
//                  product in float as torch's nearest_idx forms it: torch's
//                  F.interpolate(mode='nearest'), which pSp's MoCo loss runs.
// The adjoint (the gradient) sums each output gradient back into its sources, formed per input
// element as a gather over the output range that reads it: deterministic, no
// atomics.
#pragma once
#include <cmath>

#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

// How an output index maps to a source coordinate (the rules above).
enum class ResizeCoords { half_pixel, align_corners, asymmetric, nearest };

struct ResizeDims {
  int64_t planes = 0;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  ResizeCoords coords = ResizeCoords::half_pixel;
};

// One axis: the two sources of output index j and the weight of the second.
template <class T>
GF_HD inline void linear_source(int64_t j, int64_t n_in, int64_t n_out, ResizeCoords coords, int64_t& i0,
                                int64_t& i1, T& l) {
  if (coords == ResizeCoords::nearest) {
    const float scale = float(n_in) / float(n_out);
    i0 = static_cast<int64_t>(floorf(float(j) * scale));
    if (i0 > n_in - 1) i0 = n_in - 1;
    i1 = i0;
    l = T(0);
    return;
  }
  T src;
  if (coords == ResizeCoords::align_corners) {
    const T scale = n_out > 1 ? T(n_in - 1) / T(n_out - 1) : T(0);
    src = scale * T(j);
  } else if (coords == ResizeCoords::half_pixel) {
    const T scale = T(n_in) / T(n_out);
    src = scale * (T(j) + T(0.5)) - T(0.5);
    if (src < T(0)) src = T(0);
  } else {
    src = T(n_in) / T(n_out) * T(j);  // past in - 1 when upscaling: then i1 = i0 = in - 1
  }
  i0 = static_cast<int64_t>(src);
  if (i0 > n_in - 1) i0 = n_in - 1;
  i1 = i0 < n_in - 1 ? i0 + 1 : i0;
  l = src - T(i0);
}

template <class T>
GF_HD inline T resize_bilinear_point(const T* plane, const ResizeDims& d, int64_t oy, int64_t ox) {
  int64_t y0, y1, x0, x1;
  T ly, lx;
  linear_source(oy, d.in_h, d.out_h, d.coords, y0, y1, ly);
  linear_source(ox, d.in_w, d.out_w, d.coords, x0, x1, lx);
  if (d.coords == ResizeCoords::nearest) return plane[y0 * d.in_w + x0];  // no 0 * x: an infinity stays one
  const T* r0 = plane + y0 * d.in_w;
  const T* r1 = plane + y1 * d.in_w;
  return (T(1) - ly) * ((T(1) - lx) * r0[x0] + lx * r0[x1]) + ly * ((T(1) - lx) * r1[x0] + lx * r1[x1]);
}

// Along one axis, the outputs [lo, hi] that read input index i (empty when
// lo > hi), found by bisection: both sources are non-decreasing in j.
template <class T>
GF_HD inline void linear_readers(int64_t i, int64_t n_in, int64_t n_out, ResizeCoords coords, int64_t& lo,
                                 int64_t& hi) {
  int64_t a = 0, b = n_out;  // first j with i1(j) >= i
  while (a < b) {
    const int64_t m = (a + b) / 2;
    int64_t s0, s1;
    T l;
    linear_source<T>(m, n_in, n_out, coords, s0, s1, l);
    if (s1 >= i) b = m; else a = m + 1;
  }
  lo = a;
  a = 0, b = n_out;  // first j with i0(j) > i
  while (a < b) {
    const int64_t m = (a + b) / 2;
    int64_t s0, s1;
    T l;
    linear_source<T>(m, n_in, n_out, coords, s0, s1, l);
    if (s0 > i) b = m; else a = m + 1;
  }
  hi = a - 1;
}

// The weight with which output j reads input i along one axis.
template <class T>
GF_HD inline T linear_weight(int64_t j, int64_t i, int64_t n_in, int64_t n_out, ResizeCoords coords) {
  int64_t s0, s1;
  T l;
  linear_source<T>(j, n_in, n_out, coords, s0, s1, l);
  return (s0 == i ? T(1) - l : T(0)) + (s1 == i ? l : T(0));
}

template <class T>
GF_HD inline T resize_bilinear_backward_point(const T* gplane, const ResizeDims& d, int64_t iy, int64_t ix) {
  int64_t oy0, oy1, ox0, ox1;
  linear_readers<T>(iy, d.in_h, d.out_h, d.coords, oy0, oy1);
  linear_readers<T>(ix, d.in_w, d.out_w, d.coords, ox0, ox1);
  T acc = 0;
  for (int64_t oy = oy0; oy <= oy1; ++oy) {
    const T wy = linear_weight<T>(oy, iy, d.in_h, d.out_h, d.coords);
    T row = 0;
    for (int64_t ox = ox0; ox <= ox1; ++ox)
      row += linear_weight<T>(ox, ix, d.in_w, d.out_w, d.coords) * gplane[oy * d.out_w + ox];
    acc += wy * row;
  }
  return acc;
}

namespace cpu {
template <class T>
void resize_bilinear(const T* x, T* y, const ResizeDims& d);
template <class T>
void resize_bilinear_backward(const T* g, T* dx, const ResizeDims& d);  // d as in the forward
}  // namespace cpu
namespace cuda {
template <class T>
void resize_bilinear(const T* x, T* y, const ResizeDims& d, Stream s);
template <class T>
void resize_bilinear_backward(const T* g, T* dx, const ResizeDims& d, Stream s);
}  // namespace cuda
}  // namespace gf
