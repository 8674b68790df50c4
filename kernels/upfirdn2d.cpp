#include "kernels/upfirdn2d.h"

#include <algorithm>
#include <vector>

namespace gf::cpu {

// The terms and the order of upfirdn2d_point (the definition the CUDA kernel
// uses), with everything that depends on one coordinate only worked out once:
// the filter in tap order, each output column's first tap and input column,
// and each output row's input rows. Results are bit-identical to the point
// form (tested). Without upsampling along x (the filtering before a strided
// conv, and the gradients of both), the interior of each row runs as SIMD
// over outputs; upsampling rows stay scalar.
template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain) {
  const int in_h = static_cast<int>(d.in_h), in_w = static_cast<int>(d.in_w);
  const int out_h = static_cast<int>(d.out_h), out_w = static_cast<int>(d.out_w);
  std::vector<T> taps(static_cast<size_t>(d.f_h) * d.f_w);  // taps[ty][tx], flipped unless d.flip
  for (int ty = 0; ty < d.f_h; ++ty)
    for (int tx = 0; tx < d.f_w; ++tx)
      taps[static_cast<size_t>(ty) * d.f_w + tx] =
          f[(d.flip ? ty : d.f_h - 1 - ty) * d.f_w + (d.flip ? tx : d.f_w - 1 - tx)];
  std::vector<int> tx0(static_cast<size_t>(out_w)), ix0(static_cast<size_t>(out_w));
  for (int ox = 0; ox < out_w; ++ox) {
    const int ux0 = ox * d.down_x - d.pad_x0;
    tx0[static_cast<size_t>(ox)] = upfirdn2d_first_tap(ux0, d.up_x);
    ix0[static_cast<size_t>(ox)] = (ux0 + tx0[static_cast<size_t>(ox)]) / d.up_x;
  }
  // Without upsampling along x, output columns [lo, hi) read taps 0..f_w-1
  // from input columns that all exist.
  int lo = out_w, hi = out_w;
  if (d.up_x == 1) {
    lo = 0;
    while (lo < out_w && lo * d.down_x - d.pad_x0 < 0) ++lo;
    hi = lo;
    while (hi < out_w && hi * d.down_x - d.pad_x0 + d.f_w - 1 < in_w) ++hi;
    if (hi - lo < 8) lo = hi = out_w;  // too short a run to pay for itself
  }
  const T g = static_cast<T>(gain);
#pragma omp parallel for collapse(2) if (d.planes * out_h * out_w > 16384)
  for (int64_t p = 0; p < d.planes; ++p)
    for (int oy = 0; oy < out_h; ++oy) {
      const T* plane = x + p * d.in_h * d.in_w;
      T* yrow = y + (p * out_h + oy) * out_w;
      const int uy0 = oy * d.down_y - d.pad_y0;
      const int ty0 = upfirdn2d_first_tap(uy0, d.up_y);
      int ty_end = ty0;  // taps ty0, ty0 + up_y, ... below ty_end read input rows
      while (ty_end < d.f_h && (uy0 + ty_end) / d.up_y < in_h) ty_end += d.up_y;
      auto edge = [&](int ox) {
        const int t0 = tx0[static_cast<size_t>(ox)], i0 = ix0[static_cast<size_t>(ox)];
        T acc = 0;
        for (int ty = ty0; ty < ty_end; ty += d.up_y) {
          const T* row = plane + static_cast<int64_t>((uy0 + ty) / d.up_y) * in_w;
          const T* trow = taps.data() + static_cast<size_t>(ty) * d.f_w;
          for (int tx = t0, ix = i0; tx < d.f_w && ix < in_w; tx += d.up_x, ++ix) acc += row[ix] * trow[tx];
        }
        yrow[ox] = g * acc;
      };
      for (int ox = 0; ox < lo; ++ox) edge(ox);
      // Interior columns: every tap on an input sample. The same terms in the
      // same order per output, but the loop over outputs is innermost, so it
      // runs as SIMD over a contiguous row.
      if (lo < hi) {
        T* acc = yrow + lo;
        const int n = hi - lo, step = d.down_x;
        for (int i = 0; i < n; ++i) acc[i] = 0;
        for (int ty = ty0; ty < ty_end; ty += d.up_y) {
          const T* row = plane + static_cast<int64_t>((uy0 + ty) / d.up_y) * in_w + (lo * step - d.pad_x0);
          const T* trow = taps.data() + static_cast<size_t>(ty) * d.f_w;
          for (int tx = 0; tx < d.f_w; ++tx) {
            const T t = trow[tx];
            const T* xs = row + tx;
#pragma omp simd
            for (int i = 0; i < n; ++i) acc[i] += xs[i * step] * t;
          }
        }
        for (int i = 0; i < n; ++i) acc[i] = g * acc[i];
      }
      for (int ox = std::max(lo, hi); ox < out_w; ++ox) edge(ox);
    }
}

template void upfirdn2d<float>(const float*, const float*, float*, const UpFirDn2dDesc&, double);
template void upfirdn2d<double>(const double*, const double*, double*, const UpFirDn2dDesc&, double);

}  // namespace gf::cpu
