// Bilinear sampling of x at the points of a per-sample affine grid, zero
// outside: torch's affine_grid(theta, [N, C, out_h, out_w], align_corners=False)
// followed by grid_sample(x, grid, mode='bilinear', padding_mode='zeros',
// align_corners=False), fused (the grid is never stored). This is the
// geometric augmentation of StyleGAN2-ADA (training/augment.py).
//
// Output pixel (i, j) of sample n, theta t = theta[n] (row-major 2x3):
//   xb = (2j + 1 - out_w) / out_w, yb = (2i + 1 - out_h) / out_h   (in (-1, 1))
//   gx = t00 xb + t01 yb + t02,     gy = t10 xb + t11 yb + t12
//   ix = (gx + 1) * (in_w / 2) - 1/2, iy = (gy + 1) * (in_h / 2) - 1/2
// and the value blends the 2x2 input pixels from (floor(ix), floor(iy)) with
// torch's weights (in its order: nw, ne, sw, se); a neighbour outside the
// plane contributes 0. Everything is computed in the data's type T. torch
// forms xb from linspace(-1, 1) * (out_w - 1) / out_w and gx in a batched
// matmul (fused multiply-adds on CPUs with FMA), so the two differ by
// rounding (the golden test holds them to 1e-5 in float32); xb here is
// rounded once.
//
// The adjoint (the gradient with respect to x), deterministic on both
// backends, sums g * weight into each input pixel over the output pixels
// whose 2x2 footprint holds it, in output order (row by row). The CPU
// scatters (kernels/grid_sample.cpp: each plane owned by one thread, each
// output pixel's source point formed once and its four terms added). CUDA
// gathers, so that it needs no atomics: each input pixel's readers lie in the
// inverse image of the square [x-1, x+1] x [y-1, y+1], whose bounding box in
// output pixels (affine_grid_box) is scanned row by row; each output pixel's
// source point is recomputed by the forward's own function
// (affine_grid_source), so the adjoint takes exactly the terms the forward
// gives, with the same weights. Scatter and gather add the same terms in the
// same order: the same bits wherever the compiler contracts alike. The
// gather's cost: at most (2|L00| + 2|L01| + 1) x (2|L10| + 2|L11| + 1) source
// points per input pixel (3 x 3 for the identity), L the map from input to
// output pixel coordinates (the inverse of theta's 2x2 part, scaled by the
// sizes), clamped to the output, and none for input pixels the output never
// sees.
#pragma once
#include <cmath>
#include <cstdint>

#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct AffineGridDims {
  int64_t n = 0, c = 0;  // samples (one theta each) and channels
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
};

GF_HD inline float grid_floor(float v) { return floorf(v); }
GF_HD inline double grid_floor(double v) { return ::floor(v); }

// The source point of one output pixel: its top-left neighbour and the
// fractions past it.
template <class T>
struct GridSource {
  int64_t x0 = 0, y0 = 0;
  T fx = 0, fy = 0;
};

// The source point of output pixel (i, j) under theta th[0..5]; false when no
// neighbour is inside the plane (which also keeps NaN and huge coordinates
// away from the integer conversion). The one definition that the forward and
// the adjoint, on the CPU and in CUDA, all use.
template <class T>
GF_HD inline bool affine_grid_source(const T* th, int64_t i, int64_t j, const AffineGridDims& d, GridSource<T>& s) {
  const T xb = T(2 * j + 1 - d.out_w) / T(d.out_w);
  const T yb = T(2 * i + 1 - d.out_h) / T(d.out_h);
  const T gx = th[0] * xb + th[1] * yb + th[2];
  const T gy = th[3] * xb + th[4] * yb + th[5];
  const T ix = (gx + T(1)) * (T(d.in_w) / T(2)) - T(0.5);
  const T iy = (gy + T(1)) * (T(d.in_h) / T(2)) - T(0.5);
  if (!(ix >= T(-1) && ix < T(d.in_w) && iy >= T(-1) && iy < T(d.in_h))) return false;
  const T x0 = grid_floor(ix), y0 = grid_floor(iy);
  s.x0 = static_cast<int64_t>(x0);
  s.y0 = static_cast<int64_t>(y0);
  s.fx = ix - x0;
  s.fy = iy - y0;
  return true;
}

// Output pixel (i, j) of one plane (th: its sample's theta). The CPU forward
// (kernels/grid_sample.cpp) sums the same terms in the same order: its bits.
template <class T>
GF_HD inline T affine_grid_sample_point(const T* plane, const T* th, const AffineGridDims& d, int64_t i, int64_t j) {
  GridSource<T> s;
  if (!affine_grid_source(th, i, j, d, s)) return T(0);
  const T n = s.fy, so = T(1) - s.fy, w = s.fx, e = T(1) - s.fx;  // torch's names
  const bool x0_in = s.x0 >= 0, x1_in = s.x0 + 1 < d.in_w, y0_in = s.y0 >= 0, y1_in = s.y0 + 1 < d.in_h;
  const int64_t r0 = s.y0 * d.in_w, r1 = r0 + d.in_w;
  T acc = 0;
  if (y0_in && x0_in) acc += plane[r0 + s.x0] * (so * e);
  if (y0_in && x1_in) acc += plane[r0 + s.x0 + 1] * (so * w);
  if (y1_in && x0_in) acc += plane[r1 + s.x0] * (n * e);
  if (y1_in && x1_in) acc += plane[r1 + s.x0 + 1] * (n * w);
  return acc;
}

// Half the extent, in output pixels, of the inverse image of a square of
// side 2 (plus `margin` on every side) in input pixels; false when theta's
// 2x2 part is singular or not finite. Double precision whatever T is.
template <class T>
GF_HD inline bool affine_grid_box_extent(const T* th, const AffineGridDims& d, double margin, double& half_j,
                                         double& half_i) {
  const double a = th[0], b = th[1], c = th[3], e = th[4];
  const double det = a * e - b * c;
  if (!(det != 0.0) || !(det - det == 0.0)) return false;  // zero, NaN or inf
  // L = d(j, i) / d(ix, iy) = diag(out_w, out_h) * inverse([[a, b], [c, e]]) * diag(1 / in_w, 1 / in_h).
  const double ow = double(d.out_w), oh = double(d.out_h), iw = double(d.in_w), ih = double(d.in_h);
  const double l00 = ow * e / (det * iw), l01 = -ow * b / (det * ih);
  const double l10 = -oh * c / (det * iw), l11 = oh * a / (det * ih);
  const double r = 1.0 + margin;
  half_j = r * (::fabs(l00) + ::fabs(l01));
  half_i = r * (::fabs(l10) + ::fabs(l11));
  return half_j - half_j == 0.0 && half_i - half_i == 0.0;
}

// How far (in input pixels) the forward's rounding in T can move a source
// point: a generous bound (64 ulps of the largest intermediate).
template <class T>
GF_HD inline double affine_grid_margin(const T* th, const AffineGridDims& d) {
  const double eps = sizeof(T) == 4 ? 1.1920928955078125e-7 : 2.220446049250313e-16;
  const double s0 = ::fabs(double(th[0])) + ::fabs(double(th[1])) + ::fabs(double(th[2]));
  const double s1 = ::fabs(double(th[3])) + ::fabs(double(th[4])) + ::fabs(double(th[5]));
  const double s = (s0 > s1 ? s0 : s1) + 1.0;
  const double size = double(d.in_w > d.in_h ? d.in_w : d.in_h);
  return 1e-6 + 64.0 * eps * (1.0 + s * size);
}

// Where the adjoint looks, per sample: the centre of input pixel (y, x)'s box
// in output pixel coordinates, j = jx x + jy y + j0 and i = ix x + iy y + i0,
// and the box's half sizes (margin included). A singular or non-finite theta
// gives `whole`: scan the whole output (correct, slow; the engine refuses such
// a theta before it gets here).
struct GridBoxMap {
  bool whole = true;
  double jx = 0, jy = 0, j0 = 0, ix = 0, iy = 0, i0 = 0;
  double half_j = 0, half_i = 0;
};

template <class T>
GF_HD inline GridBoxMap affine_grid_box_map(const T* th, const AffineGridDims& d) {
  GridBoxMap m;
  double hj, hi;
  if (!affine_grid_box_extent(th, d, affine_grid_margin(th, d), hj, hi)) return m;
  // Input pixel x is at gx = (2x + 1) / in_w - 1; (u, v) = inverse(2x2 part) * (g - t)
  // in normalized output coordinates, and j = (u + 1) out_w / 2 - 1/2 (likewise i).
  const double a = th[0], b = th[1], c = th[3], e = th[4];
  const double inv = 1.0 / (a * e - b * c);
  const double gx1 = 2.0 / double(d.in_w), gx0 = 1.0 / double(d.in_w) - 1.0 - double(th[2]);
  const double gy1 = 2.0 / double(d.in_h), gy0 = 1.0 / double(d.in_h) - 1.0 - double(th[5]);
  const double sj = double(d.out_w) / 2.0, si = double(d.out_h) / 2.0;
  m.jx = sj * e * gx1 * inv, m.jy = -sj * b * gy1 * inv, m.j0 = sj * (e * gx0 - b * gy0) * inv + sj - 0.5;
  m.ix = -si * c * gx1 * inv, m.iy = si * a * gy1 * inv, m.i0 = si * (a * gy0 - c * gx0) * inv + si - 0.5;
  m.half_j = hj, m.half_i = hi;
  const double all = m.jx + m.jy + m.j0 + m.ix + m.iy + m.i0;
  m.whole = !(all - all == 0.0);  // a NaN or inf translation
  return m;
}

// The output pixels [i0, i1] x [j0, j1] that may read input pixel (y, x):
// the whole pixels in the bounding box of the inverse image of
// [x-1, x+1] x [y-1, y+1] (widened by the rounding margin), clamped to the
// output. False when empty.
GF_HD inline bool affine_grid_box(const GridBoxMap& m, const AffineGridDims& d, int64_t y, int64_t x, int64_t& i0,
                                  int64_t& i1, int64_t& j0, int64_t& j1) {
  if (m.whole) {
    i0 = 0, i1 = d.out_h - 1, j0 = 0, j1 = d.out_w - 1;
    return true;
  }
  const double xd = double(x), yd = double(y);
  const double jc = m.jx * xd + m.jy * yd + m.j0, ic = m.ix * xd + m.iy * yd + m.i0;
  // Outward by a hair more than this double arithmetic's own rounding.
  const double hj = m.half_j + 1e-9 * (1.0 + ::fabs(jc) + m.half_j);
  const double hi = m.half_i + 1e-9 * (1.0 + ::fabs(ic) + m.half_i);
  const double jl = jc - hj, jh = jc + hj, il = ic - hi, ih = ic + hi;
  if (!(jh >= 0.0 && jl <= double(d.out_w - 1) && ih >= 0.0 && il <= double(d.out_h - 1))) return false;
  j0 = jl <= 0.0 ? 0 : static_cast<int64_t>(::ceil(jl));
  j1 = jh >= double(d.out_w - 1) ? d.out_w - 1 : static_cast<int64_t>(::floor(jh));
  i0 = il <= 0.0 ? 0 : static_cast<int64_t>(::ceil(il));
  i1 = ih >= double(d.out_h - 1) ? d.out_h - 1 : static_cast<int64_t>(::floor(ih));
  return j0 <= j1 && i0 <= i1;
}

// Input pixel (y, x) of the adjoint as a gather (CUDA's form): the sum of
// g * weight over the output pixels (row by row, in the box) that read it;
// gplane one plane of g, th and m its sample's theta and box map.
template <class T>
GF_HD inline T affine_grid_sample_adjoint_point(const T* gplane, const T* th, const GridBoxMap& m,
                                                const AffineGridDims& d, int64_t y, int64_t x) {
  int64_t i0, i1, j0, j1;
  T acc = 0;
  if (!affine_grid_box(m, d, y, x, i0, i1, j0, j1)) return acc;
  for (int64_t i = i0; i <= i1; ++i)
    for (int64_t j = j0; j <= j1; ++j) {
      GridSource<T> s;
      if (!affine_grid_source(th, i, j, d, s)) continue;
      T wy, wx;  // the forward's factors: (1 - fy) for the top row, fy for the bottom
      if (s.y0 == y) wy = T(1) - s.fy;
      else if (s.y0 + 1 == y) wy = s.fy;
      else continue;
      if (s.x0 == x) wx = T(1) - s.fx;
      else if (s.x0 + 1 == x) wx = s.fx;
      else continue;
      acc += gplane[i * d.out_w + j] * (wy * wx);
    }
  return acc;
}

namespace cpu {
// x [n, c, in_h, in_w], theta [n, 2, 3] -> y [n, c, out_h, out_w].
template <class T>
void affine_grid_sample(const T* x, const T* theta, T* y, const AffineGridDims& d);
// g [n, c, out_h, out_w], theta [n, 2, 3] -> dx [n, c, in_h, in_w].
template <class T>
void affine_grid_sample_adjoint(const T* g, const T* theta, T* dx, const AffineGridDims& d);
}  // namespace cpu
namespace cuda {
template <class T>
void affine_grid_sample(const T* x, const T* theta, T* y, const AffineGridDims& d, Stream s);
template <class T>
void affine_grid_sample_adjoint(const T* g, const T* theta, T* dx, const AffineGridDims& d, Stream s);
}  // namespace cuda

}  // namespace gf
