// Fused forward and gradient kernels. With s = rsqrt(mean(x^2) + eps) over dim,
// y = x * s has the symmetric Jacobian J = s I - (s^3 / r) x x^T, so
// pixel_norm_grad(x, g) = J g and, for an incoming h, the gradient in g is
// J h = pixel_norm_grad(x, h); the gradient in x is written in ops below.
#include "engine/ops/pixel_norm.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/pixel_norm.h"

namespace gf {
namespace {

using Grads = GradList;

// The [outer, r, inner] view of x around dim (kernels/pixel_norm.h).
struct View {
  int64_t outer = 1, r = 1, inner = 1;
};
View view_of(const Tensor& x, int64_t dim) {
  View v;
  for (int64_t d = 0; d < dim; ++d) v.outer *= x.size(d);
  for (int64_t d = dim + 1; d < x.dim(); ++d) v.inner *= x.size(d);
  v.r = x.size(dim);
  return v;
}

int64_t check_pixel_norm_args(const char* op, const Tensor& x, int64_t dim, double eps) {
  GF_CHECK(x.dim() >= 1, op, "x must have at least one dim, got " << shape_str(x.shape()));
  GF_CHECK(eps >= 0, op, "eps must be non-negative, got " << eps);
  return normalize_dim(dim, x.dim(), op);
}

}  // namespace

Tensor pixel_norm(const Tensor& x, int64_t dim, double eps) {
  const char* op = "pixel_norm";
  check_same(op, {x});
  dim = check_pixel_norm_args(op, x, dim, eps);
  const View v = view_of(x, dim);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::pixel_norm<T>(x.data<T>(), y.data<T>(), v.outer, v.r, v.inner, eps,
                                           stream_of(x.device())));
    else
      cpu::pixel_norm<T>(x.data<T>(), y.data<T>(), v.outer, v.r, v.inner, eps);
  });
  return record_op(op, y, {x}, [x = SavedTensor(x), dim, eps](Node&, const Tensor& g) {
    return Grads{pixel_norm_grad(x, g, dim, eps)};
  });
}

Tensor pixel_norm_grad(const Tensor& x, const Tensor& g, int64_t dim, double eps) {
  const char* op = "pixel_norm_grad";
  check_same(op, {x, g});
  dim = check_pixel_norm_args(op, x, dim, eps);
  GF_CHECK(g.shape() == x.shape(), op,
           "gradient " << shape_str(g.shape()) << " does not match x " << shape_str(x.shape()));
  const View v = view_of(x, dim);
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::pixel_norm_grad<T>(x.data<T>(), g.data<T>(), dx.data<T>(), v.outer, v.r, v.inner, eps,
                                                stream_of(x.device())));
    else
      cpu::pixel_norm_grad<T>(x.data<T>(), g.data<T>(), dx.data<T>(), v.outer, v.r, v.inner, eps);
  });
  return record_op(op, dx, {x, g}, [x = SavedTensor(x), g = SavedTensor(g), dim, eps](Node& n, const Tensor& h) {
    Tensor d_x, d_g;
    if (n.needs_input_grad(0)) {
      // d<h, J(x) g>/dx = s^3 * ((3 s^2 B C - A) x - C h - B g), with
      // A = mean(h g), B = mean(h x), C = mean(g x) over dim.
      const Tensor s = rsqrt(affine(mean(square(x), {dim}, true), 1.0, eps));
      const Tensor a = mean(mul(h, g), {dim}, true), b = mean(mul(h, x), {dim}, true);
      const Tensor c = mean(mul(g, x), {dim}, true);
      const Tensor coef_x = sub(affine(mul(square(s), mul(b, c)), 3.0, 0.0), a);
      d_x = mul(mul(s, square(s)), sub(mul(coef_x, x), add(mul(c, h), mul(b, g))));
    }
    if (n.needs_input_grad(1)) d_g = pixel_norm_grad(x, h, dim, eps);
    return Grads{d_x, d_g};
  });
}

}  // namespace gf
