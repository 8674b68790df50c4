// CPU reference: the forward per output element, the backward as a scatter
// of each output gradient into its four sources, one plane per task (a plane
// is written by one thread, in a fixed order).
#include "kernels/resize.h"

namespace gf::cpu {

template <class T>
void resize_bilinear(const T* x, T* y, const ResizeDims& d) {
#pragma omp parallel for collapse(2) if (d.planes * d.out_h * d.out_w > 16384)
  for (int64_t p = 0; p < d.planes; ++p)
    for (int64_t oy = 0; oy < d.out_h; ++oy)
      for (int64_t ox = 0; ox < d.out_w; ++ox)
        y[(p * d.out_h + oy) * d.out_w + ox] = resize_bilinear_point(x + p * d.in_h * d.in_w, d, oy, ox);
}

template <class T>
void resize_bilinear_backward(const T* g, T* dx, const ResizeDims& d) {
#pragma omp parallel for if (d.planes * d.out_h * d.out_w > 16384)
  for (int64_t p = 0; p < d.planes; ++p) {
    T* plane = dx + p * d.in_h * d.in_w;
    for (int64_t i = 0; i < d.in_h * d.in_w; ++i) plane[i] = T(0);
    for (int64_t oy = 0; oy < d.out_h; ++oy) {
      int64_t y0, y1;
      T ly;
      linear_source(oy, d.in_h, d.out_h, d.coords, y0, y1, ly);
      for (int64_t ox = 0; ox < d.out_w; ++ox) {
        int64_t x0, x1;
        T lx;
        linear_source(ox, d.in_w, d.out_w, d.coords, x0, x1, lx);
        const T v = g[(p * d.out_h + oy) * d.out_w + ox];
        if (d.coords == ResizeCoords::nearest) {  // one source, weight 1
          plane[y0 * d.in_w + x0] += v;
          continue;
        }
        plane[y0 * d.in_w + x0] += (T(1) - ly) * (T(1) - lx) * v;
        plane[y0 * d.in_w + x1] += (T(1) - ly) * lx * v;
        plane[y1 * d.in_w + x0] += ly * (T(1) - lx) * v;
        plane[y1 * d.in_w + x1] += ly * lx * v;
      }
    }
  }
}

template void resize_bilinear<float>(const float*, float*, const ResizeDims&);
template void resize_bilinear<double>(const double*, double*, const ResizeDims&);
template void resize_bilinear_backward<float>(const float*, float*, const ResizeDims&);
template void resize_bilinear_backward<double>(const double*, double*, const ResizeDims&);

}  // namespace gf::cpu
