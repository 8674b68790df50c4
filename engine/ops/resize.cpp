#include "engine/ops/resize.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/resize.h"

namespace gf {
namespace {

using Grads = GradList;

ResizeDims resize_dims(const Tensor& t, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w, ResizeCoords coords) {
  ResizeDims d;
  d.planes = t.size(0) * t.size(1);
  d.in_h = in_h, d.in_w = in_w, d.out_h = out_h, d.out_w = out_w;
  d.coords = coords;
  return d;
}

void check_resize_args(const char* op, const Tensor& t, int64_t h, int64_t w) {
  check_same(op, {t});
  GF_CHECK(t.dim() == 4, op, "expected [N, C, H, W], got " << shape_str(t.shape()));
  GF_CHECK(t.size(2) >= 1 && t.size(3) >= 1, op, "empty planes " << shape_str(t.shape()));
  GF_CHECK(h >= 1 && w >= 1, op, "size must be positive, got " << h << "x" << w);
}

}  // namespace

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w, ResizeCoords coords) {
  const char* op = "resize_bilinear";
  check_resize_args(op, x, out_h, out_w);
  const int64_t in_h = x.size(2), in_w = x.size(3);
  const ResizeDims d = resize_dims(x, in_h, in_w, out_h, out_w, coords);
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::resize_bilinear<T>(x.data<T>(), y.data<T>(), d, stream_of(x.device())));
    else
      cpu::resize_bilinear<T>(x.data<T>(), y.data<T>(), d);
  });
  return record_op(op, y, {x}, [in_h, in_w, coords](Node&, const Tensor& g) {
    return Grads{resize_bilinear_backward(g, in_h, in_w, coords)};
  });
}

Tensor resize_bilinear_backward(const Tensor& g, int64_t in_h, int64_t in_w, ResizeCoords coords) {
  const char* op = "resize_bilinear_backward";
  check_resize_args(op, g, in_h, in_w);
  const int64_t out_h = g.size(2), out_w = g.size(3);
  const ResizeDims d = resize_dims(g, in_h, in_w, out_h, out_w, coords);
  Tensor dx = Tensor::empty({g.size(0), g.size(1), in_h, in_w}, g.dtype(), g.device());
  dispatch_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (g.device().is_cuda())
      GF_CUDA_CALL(op, cuda::resize_bilinear_backward<T>(g.data<T>(), dx.data<T>(), d, stream_of(g.device())));
    else
      cpu::resize_bilinear_backward<T>(g.data<T>(), dx.data<T>(), d);
  });
  return record_op(op, dx, {g}, [out_h, out_w, coords](Node&, const Tensor& h) {
    return Grads{resize_bilinear(h, out_h, out_w, coords)};
  });
}

}  // namespace gf
