// Fused forward; the backward is written in ops. With r = rsqrt(mean(x^2) + eps)
// and y = x * r, dx = r * (g - y * mean(g * y)) over dim, formed from x so that
// it is differentiable again (the mapping network's z normalization sits on
// the path-length penalty's path).
#include "engine/ops/pixel_norm.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/pixel_norm.h"

namespace gf {

Tensor pixel_norm(const Tensor& x, int64_t dim, double eps) {
  const char* op = "pixel_norm";
  check_same(op, {x});
  GF_CHECK(x.dim() >= 1, op, "x must have at least one dim, got " << shape_str(x.shape()));
  GF_CHECK(eps >= 0, op, "eps must be non-negative, got " << eps);
  dim = normalize_dim(dim, x.dim(), op);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d) inner *= x.size(d);
  const int64_t r = x.size(dim);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::pixel_norm<T>(x.data<T>(), y.data<T>(), outer, r, inner, eps, stream_of(x.device())));
    else
      cpu::pixel_norm<T>(x.data<T>(), y.data<T>(), outer, r, inner, eps);
  });
  return record_op(op, y, {x}, [x, dim, eps](Node&, const Tensor& g) {
    const Tensor rs = rsqrt(affine(mean(square(x), {dim}, true), 1.0, eps));
    const Tensor yy = mul(x, rs);
    return std::vector<Tensor>{mul(rs, sub(g, mul(yy, mean(mul(g, yy), {dim}, true))))};
  });
}

}  // namespace gf
