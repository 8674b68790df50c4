// One thread per output element, grid-stride. upscale2d reads each input f^2
// times through the cache; downscale2d sums its f x f block serially (f is 2
// inside the networks; the large factors only shrink an image to an early
// level's size, a small output). 32-bit indices when they fit.
#include <cstdint>

#include "kernels/cuda_context.cuh"
#include "kernels/scale2d.h"

namespace gf::cuda {
namespace {

constexpr int kBlock = 256;

template <class I, class T>
__global__ void upscale2d_kernel(const T* __restrict__ x, T* __restrict__ y, I h, I w, I f, I n, T gain) {
  const I W = w * f, H = h * f;
  for (I o = I(blockIdx.x) * blockDim.x + threadIdx.x; o < n; o += I(gridDim.x) * blockDim.x) {
    const I j = o % W, rest = o / W, i = rest % H, p = rest / H;
    y[o] = __ldg(x + (p * h + i / f) * w + j / f) * gain;
  }
}

template <class I, class T>
__global__ void downscale2d_kernel(const T* __restrict__ x, T* __restrict__ y, I h, I w, I f, I n, T scale) {
  const I W = w * f;
  for (I o = I(blockIdx.x) * blockDim.x + threadIdx.x; o < n; o += I(gridDim.x) * blockDim.x) {
    const I j = o % w, rest = o / w, i = rest % h, p = rest / h;
    const T* xb = x + (p * h * f + i * f) * W + j * f;
    T acc = 0;
    for (I a = 0; a < f; ++a)
      for (I b = 0; b < f; ++b) acc += __ldg(xb + a * W + b);
    y[o] = acc * scale;
  }
}

// 32-bit indices when the larger side's `big` elements fit. Unsigned: the
// grid-stride step (up to 65535 * 8 blocks of 256) added to an index below
// 2^31 stays below 2^32, where a signed int32 would wrap negative (and still
// pass o < n) for n within a step of 2^31.
template <class F>
void with_index(int64_t big, F&& f) {
  if (big < (int64_t(1) << 31))
    f(uint32_t{});
  else
    f(int64_t{});
}

}  // namespace

template <class T>
void upscale2d(const T* x, T* y, const Scale2dDesc& d, Stream s) {
  const int64_t n = d.planes * d.h * d.w * d.factor * d.factor;
  if (n == 0) return;
  with_index(n, [&](auto index) {
    using I = decltype(index);
    upscale2d_kernel<I, T><<<grid_for(n, kBlock), kBlock, 0, (cudaStream_t)s>>>(x, y, I(d.h), I(d.w), I(d.factor), I(n),
                                                                                 T(d.gain));
  });
  GF_CUDA_LAUNCH_CHECK("upscale2d");
}

template <class T>
void downscale2d(const T* x, T* y, const Scale2dDesc& d, Stream s) {
  const int64_t n = d.planes * d.h * d.w;
  if (n == 0) return;
  with_index(n * d.factor * d.factor, [&](auto index) {
    using I = decltype(index);
    downscale2d_kernel<I, T><<<grid_for(n, kBlock), kBlock, 0, (cudaStream_t)s>>>(
        x, y, I(d.h), I(d.w), I(d.factor), I(n), T(d.gain / double(d.factor * d.factor)));
  });
  GF_CUDA_LAUNCH_CHECK("downscale2d");
}

template void upscale2d<float>(const float*, float*, const Scale2dDesc&, Stream);
template void upscale2d<double>(const double*, double*, const Scale2dDesc&, Stream);
template void downscale2d<float>(const float*, float*, const Scale2dDesc&, Stream);
template void downscale2d<double>(const double*, double*, const Scale2dDesc&, Stream);

}  // namespace gf::cuda
