#include "kernels/scale2d.h"

namespace gf::cpu {

template <class T>
void upscale2d(const T* x, T* y, const Scale2dDesc& d) {
  const int64_t f = d.factor, W = d.w * f;
  const T gain = static_cast<T>(d.gain);
  // One output row per iteration: each input value repeated f times, the row f times.
#pragma omp parallel for if (d.planes * d.h * f * W > 32768)
  for (int64_t r = 0; r < d.planes * d.h * f; ++r) {
    const int64_t p = r / (d.h * f), i = r % (d.h * f);
    const T* xr = x + (p * d.h + i / f) * d.w;
    T* yr = y + r * W;
    for (int64_t j = 0; j < d.w; ++j) {
      const T v = xr[j] * gain;
      for (int64_t b = 0; b < f; ++b) yr[j * f + b] = v;
    }
  }
}

template <class T>
void downscale2d(const T* x, T* y, const Scale2dDesc& d) {
  const int64_t f = d.factor, W = d.w * f;
  const double scale = d.gain / static_cast<double>(f * f);
#pragma omp parallel for if (d.planes * d.h * d.w * f * f > 32768)
  for (int64_t r = 0; r < d.planes * d.h; ++r) {
    const int64_t p = r / d.h, i = r % d.h;
    const T* xb = x + (p * d.h * f + i * f) * W;
    for (int64_t j = 0; j < d.w; ++j) {
      double acc = 0;
      for (int64_t a = 0; a < f; ++a)
        for (int64_t b = 0; b < f; ++b) acc += xb[a * W + j * f + b];
      y[r * d.w + j] = static_cast<T>(acc * scale);
    }
  }
}

template void upscale2d<float>(const float*, float*, const Scale2dDesc&);
template void upscale2d<double>(const double*, double*, const Scale2dDesc&);
template void downscale2d<float>(const float*, float*, const Scale2dDesc&);
template void downscale2d<double>(const double*, double*, const Scale2dDesc&);

}  // namespace gf::cpu
