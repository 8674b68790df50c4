// upfirdn2d on independent planes (N*C of them): insert up-1 zeros between
// samples, pad (negative pads crop), filter with a 2-D FIR filter, keep every
// down-th sample, multiply by gain. The filter is applied as a true
// convolution unless `flip` is set (then it is a correlation), as in the
// official StyleGAN2-ADA upfirdn2d. Separable filters reach the kernel as
// their 2-D outer product.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct UpFirDn2dDesc {
  int64_t planes = 0;  // N * C
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int up_x = 1, up_y = 1, down_x = 1, down_y = 1;
  int pad_x0 = 0, pad_y0 = 0;  // the end pads only set out_h/out_w
  int f_h = 1, f_w = 1;
  bool flip = false;  // official flip_filter: correlate instead of convolve
};

namespace cpu {
template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain);
// The same without the AVX2 build of its blocks, which upfirdn2d uses where
// the CPU has AVX2 (tests check both against upfirdn2d_point).
template <class T>
void upfirdn2d_portable(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain);
}  // namespace cpu
namespace cuda {
// Filters up to kMaxUpFirDnTaps taps (held in shared memory).
constexpr int kMaxUpFirDnTaps = 1024;
template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain, Stream s);
}  // namespace cuda

// y[p, oy, ox] = gain * sum_{ty, tx} f'[ty, tx] * xu[oy * down_y + ty - pad_y0, ox * down_x + tx - pad_x0]
// where xu is x with up-1 zeros inserted (xu[u] = x[u / up] when up divides u)
// and f' is f flipped in both axes unless d.flip. Shared by both backends;
// coordinates within a plane are 32-bit (the engine checks they fit).
// The first tap t >= 0 at which u0 + t is >= 0 and a multiple of up (the taps
// that land on an inserted zero, or before the input, contribute nothing).
GF_HD inline int upfirdn2d_first_tap(int u0, int up) {
  int t = u0 < 0 ? -u0 : 0;
  const int r = (u0 + t) % up;
  return r ? t + up - r : t;
}

template <class T>
GF_HD inline T upfirdn2d_point(const T* x, const T* f, const UpFirDn2dDesc& d, int64_t p, int oy, int ox) {
  const T* plane = x + p * d.in_h * d.in_w;
  const int in_h = static_cast<int>(d.in_h), in_w = static_cast<int>(d.in_w);
  const int uy0 = oy * d.down_y - d.pad_y0, ux0 = ox * d.down_x - d.pad_x0;
  const int tx0 = upfirdn2d_first_tap(ux0, d.up_x);
  T acc = 0;
  // Only the taps on input samples, in increasing order (the sum is the same,
  // term for term, as over every tap).
  for (int ty = upfirdn2d_first_tap(uy0, d.up_y); ty < d.f_h; ty += d.up_y) {
    const int iy = (uy0 + ty) / d.up_y;
    if (iy >= in_h) break;
    const T* row = plane + static_cast<int64_t>(iy) * in_w;
    const T* frow = f + (d.flip ? ty : d.f_h - 1 - ty) * d.f_w;
    int ix = (ux0 + tx0) / d.up_x;
    for (int tx = tx0; tx < d.f_w && ix < in_w; tx += d.up_x, ++ix)
      acc += row[ix] * frow[d.flip ? tx : d.f_w - 1 - tx];
  }
  return acc;
}

}  // namespace gf
