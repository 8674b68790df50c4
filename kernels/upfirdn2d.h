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
}
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
template <class T>
GF_HD inline T upfirdn2d_point(const T* x, const T* f, const UpFirDn2dDesc& d, int64_t p, int oy, int ox) {
  const T* plane = x + p * d.in_h * d.in_w;
  const int in_h = static_cast<int>(d.in_h), in_w = static_cast<int>(d.in_w);
  T acc = 0;
  for (int ty = 0; ty < d.f_h; ++ty) {
    const int uy = oy * d.down_y + ty - d.pad_y0;
    if (uy < 0 || uy % d.up_y != 0 || uy / d.up_y >= in_h) continue;
    const T* row = plane + static_cast<int64_t>(uy / d.up_y) * in_w;
    const T* frow = f + (d.flip ? ty : d.f_h - 1 - ty) * d.f_w;
    for (int tx = 0; tx < d.f_w; ++tx) {
      const int ux = ox * d.down_x + tx - d.pad_x0;
      if (ux < 0 || ux % d.up_x != 0 || ux / d.up_x >= in_w) continue;
      acc += row[ux / d.up_x] * frow[d.flip ? tx : d.f_w - 1 - tx];
    }
  }
  return acc;
}

}  // namespace gf
