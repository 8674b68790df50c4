// Nearest-neighbour upscaling and box-filter downscaling by an integer factor
// f, PGGAN's upscale2d and downscale2d (networks.py; StyleGAN v1 has the same
// ops), over planes of a [P, H, W] view (P = N * C):
//   upscale2d:   y[p, i, j] = gain * x[p, i / f, j / f]          [P, H, W] -> [P, H f, W f]
//   downscale2d: y[p, i, j] = gain / f^2 * sum over the f x f block
//                x[p, i f + a, j f + b]                          [P, H f, W f] -> [P, H, W]
// Each is the other's adjoint up to f^2, which is how the engine forms their
// gradients. The CPU sums a block in double; the GPU in T, in the same order
// (rows of the block, then columns). h and w are the small side's sizes.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct Scale2dDesc {
  int64_t planes = 0;
  int64_t h = 0, w = 0;  // the low-resolution side
  int factor = 1;
  double gain = 1;
};

namespace cpu {
template <class T>
void upscale2d(const T* x, T* y, const Scale2dDesc& d);
template <class T>
void downscale2d(const T* x, T* y, const Scale2dDesc& d);
}  // namespace cpu
namespace cuda {
template <class T>
void upscale2d(const T* x, T* y, const Scale2dDesc& d, Stream s);
template <class T>
void downscale2d(const T* x, T* y, const Scale2dDesc& d, Stream s);
}  // namespace cuda
}  // namespace gf
