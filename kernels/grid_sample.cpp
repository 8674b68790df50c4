// CPU reference: the point forms of kernels/grid_sample.h, one (plane, row)
// per task. Each output element is written by one thread from its own sum in
// a fixed order, so the results do not depend on the thread count.
#include "kernels/grid_sample.h"

#include "kernels/parallel.h"

namespace gf::cpu {

template <class T>
void affine_grid_sample(const T* x, const T* theta, T* y, const AffineGridDims& d) {
  const int64_t planes = d.n * d.c;
  parallel_for(planes * d.out_h, planes * d.out_h * d.out_w > 16384, [&](int64_t pr) {
    const int64_t p = pr / d.out_h, i = pr % d.out_h;
    const T* plane = x + p * d.in_h * d.in_w;
    const T* th = theta + (p / d.c) * 6;
    T* row = y + pr * d.out_w;
    for (int64_t j = 0; j < d.out_w; ++j) row[j] = affine_grid_sample_point(plane, th, d, i, j);
  });
}

template <class T>
void affine_grid_sample_adjoint(const T* g, const T* theta, T* dx, const AffineGridDims& d) {
  const int64_t planes = d.n * d.c;
  // Each input pixel scans a box of output pixels: usually a few dozen
  // source points, so even small planes are worth the threads.
  parallel_for(planes * d.in_h, planes * d.in_h * d.in_w > 1024, [&](int64_t pr) {
    const int64_t p = pr / d.in_h, y = pr % d.in_h;
    const T* gplane = g + p * d.out_h * d.out_w;
    const T* th = theta + (p / d.c) * 6;
    const GridBoxMap m = affine_grid_box_map(th, d);
    T* row = dx + pr * d.in_w;
    for (int64_t x = 0; x < d.in_w; ++x) row[x] = affine_grid_sample_adjoint_point(gplane, th, m, d, y, x);
  });
}

template void affine_grid_sample<float>(const float*, const float*, float*, const AffineGridDims&);
template void affine_grid_sample<double>(const double*, const double*, double*, const AffineGridDims&);
template void affine_grid_sample_adjoint<float>(const float*, const float*, float*, const AffineGridDims&);
template void affine_grid_sample_adjoint<double>(const double*, const double*, double*, const AffineGridDims&);

}  // namespace gf::cpu
