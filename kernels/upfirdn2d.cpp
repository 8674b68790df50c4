#include "kernels/upfirdn2d.h"

namespace gf::cpu {

template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain) {
  const int64_t plane = d.out_h * d.out_w;
#pragma omp parallel for collapse(2) if (d.planes * plane > 16384)
  for (int64_t p = 0; p < d.planes; ++p)
    for (int oy = 0; oy < d.out_h; ++oy)
      for (int ox = 0; ox < d.out_w; ++ox)
        y[p * plane + oy * d.out_w + ox] = static_cast<T>(gain) * upfirdn2d_point(x, f, d, p, oy, ox);
}

template void upfirdn2d<float>(const float*, const float*, float*, const UpFirDn2dDesc&, double);
template void upfirdn2d<double>(const double*, const double*, double*, const UpFirDn2dDesc&, double);

}  // namespace gf::cpu
