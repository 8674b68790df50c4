// upscale2d (gain g) and downscale2d (gain g) are adjoint up to f^2:
//   d upscale2d(x, f, g)   = downscale2d(dy, f, g f^2)   (the block sums, times g)
//   d downscale2d(x, f, g) = upscale2d(dy, f, g / f^2)
// so each backward is the other op and the pair is closed under differentiation.
#include "engine/ops/scale2d.h"

#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/scale2d.h"

namespace gf {
namespace {

using Grads = GradList;

void check_scale2d_args(const char* op, const Tensor& x, int factor) {
  check_same(op, {x});
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
  GF_CHECK(factor >= 1, op, "factor must be at least 1, got " << factor);
}

Scale2dDesc desc_of(const Tensor& x, int64_t h, int64_t w, int factor, double gain) {
  Scale2dDesc d;
  d.planes = x.size(0) * x.size(1);
  d.h = h;
  d.w = w;
  d.factor = factor;
  d.gain = gain;
  return d;
}

}  // namespace

Tensor upscale2d(const Tensor& x, int factor, double gain) {
  const char* op = "upscale2d";
  check_scale2d_args(op, x, factor);
  if (factor == 1) return gain == 1 ? x : x * gain;
  const Scale2dDesc d = desc_of(x, x.size(2), x.size(3), factor, gain);
  Tensor y = Tensor::empty({x.size(0), x.size(1), x.size(2) * factor, x.size(3) * factor}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::upscale2d<T>(x.data<T>(), y.data<T>(), d, stream_of(x.device())));
    else
      cpu::upscale2d<T>(x.data<T>(), y.data<T>(), d);
  });
  return record_op(op, y, {x}, [factor, gain](Node&, const Tensor& g) {
    return Grads{downscale2d(g, factor, gain * factor * factor)};
  });
}

Tensor downscale2d(const Tensor& x, int factor, double gain) {
  const char* op = "downscale2d";
  check_scale2d_args(op, x, factor);
  if (factor == 1) return gain == 1 ? x : x * gain;
  GF_CHECK(x.size(2) % factor == 0 && x.size(3) % factor == 0, op,
           "height and width must be multiples of " << factor << ", got " << shape_str(x.shape()));
  const Scale2dDesc d = desc_of(x, x.size(2) / factor, x.size(3) / factor, factor, gain);
  Tensor y = Tensor::empty({x.size(0), x.size(1), d.h, d.w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::downscale2d<T>(x.data<T>(), y.data<T>(), d, stream_of(x.device())));
    else
      cpu::downscale2d<T>(x.data<T>(), y.data<T>(), d);
  });
  return record_op(op, y, {x}, [factor, gain](Node&, const Tensor& g) {
    return Grads{upscale2d(g, factor, gain / (factor * factor))};
  });
}

}  // namespace gf
