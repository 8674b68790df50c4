#include "engine/ops/pool2d.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/pool2d.h"

namespace gf {
namespace {

using Grads = GradList;

PoolDims pool_dims(const Tensor& x, int64_t out_h, int64_t out_w) {
  PoolDims d;
  d.planes = x.size(0) * x.size(1);
  d.in_h = x.size(2), d.in_w = x.size(3), d.out_h = out_h, d.out_w = out_w;
  return d;
}

void check_nchw(const char* op, const Tensor& x) {
  check_same(op, {x});
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
}

MaxPoolParams kernel_params(const MaxPool2dParams& p) {
  MaxPoolParams k;
  k.k_h = p.kernel_h, k.k_w = p.kernel_w, k.stride_h = p.stride_h, k.stride_w = p.stride_w;
  k.pad_h = p.pad_h, k.pad_w = p.pad_w;
  return k;
}

// take(x, src): src at each window's maximum of x (forward: src = x).
Tensor max_pool2d_take(const Tensor& x, const Tensor& src, const MaxPool2dParams& p, int64_t out_h, int64_t out_w) {
  const PoolDims d = pool_dims(x, out_h, out_w);
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL("max_pool2d", cuda::max_pool2d_take<T>(x.data<T>(), src.data<T>(), y.data<T>(), d,
                                                          kernel_params(p), stream_of(x.device())));
    else
      cpu::max_pool2d_take<T>(x.data<T>(), src.data<T>(), y.data<T>(), d, kernel_params(p));
  });
  return y;
}

}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  const char* op = "adaptive_avg_pool2d";
  check_nchw(op, x);
  GF_CHECK(out_h >= 1 && out_w >= 1, op, "output size must be positive, got " << out_h << "x" << out_w);
  GF_CHECK(x.size(2) >= 1 && x.size(3) >= 1, op, "empty input planes " << shape_str(x.shape()));
  const PoolDims d = pool_dims(x, out_h, out_w);
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::adaptive_avg_pool2d<T>(x.data<T>(), y.data<T>(), d, stream_of(x.device())));
    else
      cpu::adaptive_avg_pool2d<T>(x.data<T>(), y.data<T>(), d);
  });
  const int64_t in_h = x.size(2), in_w = x.size(3);
  return record_op(op, y, {x}, [in_h, in_w](Node&, const Tensor& g) {
    return Grads{adaptive_avg_pool2d_backward(g, in_h, in_w)};
  });
}

Tensor adaptive_avg_pool2d_backward(const Tensor& g, int64_t in_h, int64_t in_w) {
  const char* op = "adaptive_avg_pool2d_backward";
  check_nchw(op, g);
  GF_CHECK(in_h >= 1 && in_w >= 1, op, "input size must be positive, got " << in_h << "x" << in_w);
  const PoolDims d = pool_dims(g, g.size(2), g.size(3));
  PoolDims dd = d;
  dd.in_h = in_h, dd.in_w = in_w;
  Tensor dx = Tensor::empty({g.size(0), g.size(1), in_h, in_w}, g.dtype(), g.device());
  dispatch_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (g.device().is_cuda())
      GF_CUDA_CALL(op, cuda::adaptive_avg_pool2d_backward<T>(g.data<T>(), dx.data<T>(), dd, stream_of(g.device())));
    else
      cpu::adaptive_avg_pool2d_backward<T>(g.data<T>(), dx.data<T>(), dd);
  });
  const int64_t out_h = g.size(2), out_w = g.size(3);
  return record_op(op, dx, {g}, [out_h, out_w](Node&, const Tensor& h) {
    return Grads{adaptive_avg_pool2d(h, out_h, out_w)};
  });
}

Tensor max_pool2d(const Tensor& x, const MaxPool2dParams& p) {
  const char* op = "max_pool2d";
  check_nchw(op, x);
  GF_CHECK(p.kernel_h >= 1 && p.kernel_w >= 1 && p.stride_h >= 1 && p.stride_w >= 1, op,
           "kernel and stride must be positive, got kernel " << p.kernel_h << "x" << p.kernel_w << ", stride "
                                                             << p.stride_h << "x" << p.stride_w);
  GF_CHECK(p.pad_h >= 0 && p.pad_w >= 0 && p.pad_h <= p.kernel_h / 2 && p.pad_w <= p.kernel_w / 2, op,
           "padding must be between 0 and half the kernel, got " << p.pad_h << "x" << p.pad_w);
  const int64_t out_h = (x.size(2) + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
  const int64_t out_w = (x.size(3) + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  GF_CHECK(x.size(2) + 2 * p.pad_h >= p.kernel_h && x.size(3) + 2 * p.pad_w >= p.kernel_w, op,
           "input " << shape_str(x.shape()) << " is smaller than the " << p.kernel_h << "x" << p.kernel_w
                    << " window");
  const Tensor xd = x.detach();
  Tensor y = max_pool2d_take(xd, xd, p, out_h, out_w);
  return record_op(op, y, {x},
                   [xd = SavedTensor(xd), p](Node&, const Tensor& g) { return Grads{max_pool2d_backward(xd, g, p)}; });
}

Tensor max_pool2d_backward(const Tensor& x, const Tensor& g, const MaxPool2dParams& p) {
  const char* op = "max_pool2d_backward";
  check_nchw(op, x);
  check_same(op, {x, g});
  const int64_t out_h = (x.size(2) + 2 * p.pad_h - p.kernel_h) / p.stride_h + 1;
  const int64_t out_w = (x.size(3) + 2 * p.pad_w - p.kernel_w) / p.stride_w + 1;
  GF_CHECK(g.shape() == Shape({x.size(0), x.size(1), out_h, out_w}), op,
           "gradient " << shape_str(g.shape()) << " does not match the pooled shape of x " << shape_str(x.shape()));
  const PoolDims d = pool_dims(x, out_h, out_w);
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::max_pool2d_backward<T>(x.data<T>(), g.data<T>(), dx.data<T>(), d, kernel_params(p),
                                                    stream_of(x.device())));
    else
      cpu::max_pool2d_backward<T>(x.data<T>(), g.data<T>(), dx.data<T>(), d, kernel_params(p));
  });
  // Linear in g; the maxima are piecewise constant in x (no gradient).
  const Tensor xd = x.detach();
  return record_op(op, dx, {g}, [xd = SavedTensor(xd), p, out_h, out_w](Node&, const Tensor& h) {
    return Grads{max_pool2d_take(xd, h, p, out_h, out_w)};
  });
}

}  // namespace gf
