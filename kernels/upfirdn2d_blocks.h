// The blocks of outputs of the CPU upfirdn2d, for VB-byte vectors (16: any
// target; 32: AVX2). Internal to kernels/upfirdn2d.cpp and
// kernels/upfirdn2d_avx2.cpp, which each include it once: its functions have
// internal linkage so that the AVX2 file's instructions never stand in for
// the portable file's (as an inline function's one kept copy could).
#pragma once
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "kernels/upfirdn2d_plane.h"

namespace gf::cpu::upfirdn2d_impl {
namespace {

// An R x B block of outputs of one (y phase, x phase) pair: output (rr, b)
// reads padded rows x + (rr * ys + r) * width for r < nr, columns b * sx + k
// for k < nk (STEP is sx when known at compile time, 0 otherwise), against
// taps trow[r * tstride + k * up_x], and is written to
// out[rr * out_rs + b * out_cs]. Per output the terms and their order are
// those of upfirdn2d_point (rows in increasing order, then taps in
// increasing order, from +0), times the gain. The R * B sums stay in vector
// registers across all taps (GCC vector extensions of VB bytes when they
// divide B, else of 16; a multiply then an add, never fused, as the point
// form): R rows of independent sums hide the adds' latency on narrow planes.
template <class T, int VB, int R, int B, int STEP>
inline void out_block(const T* x, int64_t width, int ys, int sx, const T* trow, int tstride, int nr, int nk,
                      int up_x, T* out, int64_t out_rs, int out_cs, T g) {
  constexpr int VBB = B % (VB / int(sizeof(T))) == 0 ? VB : 16;  // this block's vector bytes
  constexpr int L = VBB / sizeof(T);                               // its lanes
  if constexpr (B % L == 0 && (STEP == 1 || STEP == 2)) {
    typedef T V __attribute__((vector_size(VBB)));
    constexpr int NV = B / L;
    V acc[R][NV];
    for (int rr = 0; rr < R; ++rr)
      for (int v = 0; v < NV; ++v) acc[rr][v] = V{};
    for (int r = 0; r < nr; ++r) {
      const T* tr = trow + int64_t(r) * tstride;
      for (int k = 0; k < nk; ++k) {
        const V t = V{} + tr[k * up_x];
        for (int rr = 0; rr < R; ++rr) {
          const T* xs = x + (int64_t(rr) * ys + r) * width + k;
          for (int v = 0; v < NV; ++v) {
            V xv;
            if constexpr (STEP == 1) {
              std::memcpy(&xv, xs + v * L, sizeof xv);
            } else {  // the even lanes of two vectors
              V lo, hi;
              std::memcpy(&lo, xs + 2 * v * L, sizeof lo);
              std::memcpy(&hi, xs + 2 * v * L + L, sizeof hi);
              if constexpr (L == 8)
                xv = __builtin_shufflevector(lo, hi, 0, 2, 4, 6, 8, 10, 12, 14);
              else if constexpr (L == 4)
                xv = __builtin_shufflevector(lo, hi, 0, 2, 4, 6);
              else
                xv = __builtin_shufflevector(lo, hi, 0, 2);
            }
            acc[rr][v] += xv * t;
          }
        }
      }
    }
    for (int rr = 0; rr < R; ++rr) {
      T* o = out + rr * out_rs;
      for (int v = 0; v < NV; ++v) {
        const V s = g * acc[rr][v];
        if (out_cs == 1)
          std::memcpy(o + v * L, &s, sizeof s);
        else
          for (int b = 0; b < L; ++b) o[(v * L + b) * out_cs] = s[b];
      }
    }
  } else {
    const int step = STEP ? STEP : sx;
    T acc[R][B];
    for (int rr = 0; rr < R; ++rr)
      for (int b = 0; b < B; ++b) acc[rr][b] = 0;
    for (int r = 0; r < nr; ++r) {
      const T* tr = trow + int64_t(r) * tstride;
      for (int k = 0; k < nk; ++k) {
        const T t = tr[k * up_x];
        for (int rr = 0; rr < R; ++rr) {
          const T* xs = x + (int64_t(rr) * ys + r) * width + k;
          for (int b = 0; b < B; ++b) acc[rr][b] += xs[b * step] * t;
        }
      }
    }
    for (int rr = 0; rr < R; ++rr)
      for (int b = 0; b < B; ++b) out[rr * out_rs + b * out_cs] = g * acc[rr][b];
  }
}

// Every output of one (y phase, x phase) pair, in blocks of 4 rows (the last
// block overlapping the one before when 4 does not divide the count: it
// writes the same values again; single rows when there are fewer) by 2
// vectors of columns (the rest covered by one block of 2, 1 or a 16-byte
// vector's columns, overlapping likewise; single columns on planes narrower
// than a 16-byte vector).
template <class T, int VB, int STEP>
void phase_pair(const PlaneJob<T>& job, const T* padded, const Phase& py, const Phase& px, T* y) {
  constexpr int RM = 4;
  constexpr int W0 = 16 / sizeof(T), W1 = VB / sizeof(T), W2 = 2 * W1;  // block widths
  const int64_t width = job.width;
  const T* trow = job.taps + int64_t(py.t0) * job.f_w + px.t0;
  const int tstride = job.up_y * job.f_w;
  auto block = [&](auto rows, auto cols, int jy, int jx) {
    constexpr int R = decltype(rows)::value, B = decltype(cols)::value;
    const T* xb = padded + (py.i0 + int64_t(jy) * py.i_step) * width + px.i0 + int64_t(jx) * px.i_step;
    T* ob = y + (py.first + int64_t(jy) * py.step) * job.out_w + px.first + int64_t(jx) * px.step;
    out_block<T, VB, R, B, STEP>(xb, width, py.i_step, px.i_step, trow, tstride, py.taps, px.taps, job.up_x, ob,
                                 int64_t(py.step) * job.out_w, px.step, job.gain);
  };
  using C2 = std::integral_constant<int, W2>;
  using C1 = std::integral_constant<int, W1>;
  using C0 = std::integral_constant<int, W0>;
  using CS = std::integral_constant<int, 1>;
  auto row_block = [&](auto rows, int jy) {
    const int n = px.count;
    int jx = 0;
    if (n >= W2) {
      for (; jx + W2 <= n; jx += W2) block(rows, C2{}, jy, jx);
    } else if (n >= W1) {
      for (; jx + W1 <= n; jx += W1) block(rows, C1{}, jy, jx);
    } else if (n >= W0) {
      for (; jx + W0 <= n; jx += W0) block(rows, C0{}, jy, jx);
    } else {
      for (; jx < n; ++jx) block(rows, CS{}, jy, jx);
    }
    const int rest = n - jx;  // fewer than the blocks above: one narrower block ending at n
    if (rest == 0) return;
    if (rest <= W0)
      block(rows, C0{}, jy, n - W0);
    else if (rest <= W1)
      block(rows, C1{}, jy, n - W1);
    else
      block(rows, C2{}, jy, n - W2);
  };
  using RB = std::integral_constant<int, RM>;
  using R1 = std::integral_constant<int, 1>;
  const int m = py.count;
  if (m >= RM) {
    for (int jy = 0; jy + RM <= m; jy += RM) row_block(RB{}, jy);
    if (m % RM) row_block(RB{}, m - RM);
  } else {
    for (int jy = 0; jy < m; ++jy) row_block(R1{}, jy);
  }
}

// Every output of one plane, phase pair by phase pair.
template <class T, int VB>
void plane_outputs(const PlaneJob<T>& job, const T* padded, T* y_plane) {
  for (int a = 0; a < job.ny; ++a)
    for (int b = 0; b < job.nx; ++b) {
      const Phase &py = job.phy[a], &px = job.phx[b];
      if (px.i_step == 1)
        phase_pair<T, VB, 1>(job, padded, py, px, y_plane);
      else if (px.i_step == 2)
        phase_pair<T, VB, 2>(job, padded, py, px, y_plane);
      else
        phase_pair<T, VB, 0>(job, padded, py, px, y_plane);
    }
}

}  // namespace
}  // namespace gf::cpu::upfirdn2d_impl
