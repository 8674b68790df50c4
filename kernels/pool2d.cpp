// CPU reference: one plane per task, every output formed by the shared point
// functions of kernels/pool2d.h, which the CUDA kernels call too.
#include "kernels/pool2d.h"

namespace gf::cpu {
namespace {

// work: the elements read, which decides whether threads pay off (a 1x1
// output reads whole planes).
template <class F>
void for_each_point(int64_t planes, int64_t h, int64_t w, int64_t work, F&& f) {
#pragma omp parallel for collapse(2) if (work > 16384)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) f(p, y, x);
}

}  // namespace

template <class T>
void adaptive_avg_pool2d(const T* x, T* y, const PoolDims& d) {
  for_each_point(d.planes, d.out_h, d.out_w, d.planes * d.in_h * d.in_w, [&](int64_t p, int64_t oy, int64_t ox) {
    y[(p * d.out_h + oy) * d.out_w + ox] = adaptive_avg_point(x + p * d.in_h * d.in_w, d, oy, ox);
  });
}

template <class T>
void adaptive_avg_pool2d_backward(const T* g, T* dx, const PoolDims& d) {
  for_each_point(d.planes, d.in_h, d.in_w, d.planes * d.in_h * d.in_w, [&](int64_t p, int64_t iy, int64_t ix) {
    dx[(p * d.in_h + iy) * d.in_w + ix] = adaptive_avg_backward_point(g + p * d.out_h * d.out_w, d, iy, ix);
  });
}

template <class T>
void max_pool2d_take(const T* x, const T* src, T* y, const PoolDims& d, const MaxPoolParams& mp) {
  const int64_t work = d.planes * d.out_h * d.out_w * mp.k_h * mp.k_w;
  for_each_point(d.planes, d.out_h, d.out_w, work, [&](int64_t p, int64_t oy, int64_t ox) {
    const int64_t at = max_pool_argmax(x + p * d.in_h * d.in_w, d, mp, oy, ox);
    y[(p * d.out_h + oy) * d.out_w + ox] = src[p * d.in_h * d.in_w + at];
  });
}

template <class T>
void max_pool2d_backward(const T* x, const T* g, T* dx, const PoolDims& d, const MaxPoolParams& mp) {
  for_each_point(d.planes, d.in_h, d.in_w, d.planes * d.in_h * d.in_w, [&](int64_t p, int64_t iy, int64_t ix) {
    dx[(p * d.in_h + iy) * d.in_w + ix] =
        max_pool_backward_point(x + p * d.in_h * d.in_w, g + p * d.out_h * d.out_w, d, mp, iy, ix);
  });
}

#define GF_INSTANTIATE(T)                                                                         \
  template void adaptive_avg_pool2d<T>(const T*, T*, const PoolDims&);                            \
  template void adaptive_avg_pool2d_backward<T>(const T*, T*, const PoolDims&);                   \
  template void max_pool2d_take<T>(const T*, const T*, T*, const PoolDims&, const MaxPoolParams&); \
  template void max_pool2d_backward<T>(const T*, const T*, T*, const PoolDims&, const MaxPoolParams&);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)
#undef GF_INSTANTIATE

}  // namespace gf::cpu
