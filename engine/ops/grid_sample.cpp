// affine_grid_sample is linear in x; its gradient is its adjoint (a scatter
// on the CPU, a gather on the GPU: kernels/grid_sample.h), whose gradient is
// the forward again, so the pair
// is differentiable to any order (R1 through ADA's augmentation needs the
// second order). theta is a constant of both.
#include "engine/ops/grid_sample.h"

#include <cmath>
#include <vector>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/grid_sample.h"

namespace gf {
namespace {

using Grads = GradList;

// The checks both ops share: t [N, C, h, w], theta [N, 2, 3] of t's dtype and
// device and held constant, the other side's size positive.
void check_args(const char* op, const Tensor& t, const char* t_name, const Tensor& theta, int64_t h, int64_t w,
                const char* size_name) {
  GF_CHECK(t.defined() && theta.defined(), op, "undefined operand");
  GF_CHECK(t.dim() == 4, op, t_name << " must be [N, C, H, W], got " << shape_str(t.shape()));
  GF_CHECK(t.size(2) >= 1 && t.size(3) >= 1, op, t_name << " has empty planes " << shape_str(t.shape()));
  GF_CHECK(theta.dim() == 3 && theta.size(0) == t.size(0) && theta.size(1) == 2 && theta.size(2) == 3, op,
           "theta must be [N, 2, 3] with N = " << t.size(0) << ", got " << shape_str(theta.shape()));
  GF_CHECK(theta.dtype() == t.dtype(), op,
           "theta is " << dtype_name(theta.dtype()) << ", " << t_name << " is " << dtype_name(t.dtype()));
  GF_CHECK(theta.device() == t.device(), op,
           "theta on " << theta.device().str() << ", " << t_name << " on " << t.device().str());
  GF_CHECK(!(theta.requires_grad() && grad_enabled()), op, "theta is a constant and gets no gradient; detach it");
  GF_CHECK(h >= 1 && w >= 1, op, size_name << " must be positive, got " << h << "x" << w);
  check_device_usable(t.device());
}

AffineGridDims dims(const Tensor& t, int64_t in_h, int64_t in_w, int64_t out_h, int64_t out_w) {
  AffineGridDims d;
  d.n = t.size(0), d.c = t.size(1);
  d.in_h = in_h, d.in_w = in_w, d.out_h = out_h, d.out_w = out_w;
  return d;
}

// The GPU's adjoint scans, for each input pixel, the inverse image of its
// footprint: every theta must be finite and invertible, and the scan not
// absurd. Checked on both devices, so that they take the same thetas.
void check_invertible(const char* op, const Tensor& theta, const AffineGridDims& d) {
  constexpr double kMaxBox = 1073741824.0;  // 2^30 output pixels per input pixel
  const std::vector<double> th = theta.to_vector();
  for (int64_t n = 0; n < d.n; ++n) {
    const double* t = th.data() + n * 6;
    bool finite = true;
    for (int k = 0; k < 6; ++k) finite = finite && std::isfinite(t[k]);
    GF_CHECK(finite, op, "theta of sample " << n << " is not finite");
    const double det = t[0] * t[4] - t[1] * t[3];
    GF_CHECK(det != 0.0, op,
             "theta of sample " << n << " is singular (its 2x2 part [[" << t[0] << ", " << t[1] << "], [" << t[3]
                                << ", " << t[4] << "]] has determinant 0): the adjoint needs an invertible map");
    double hj = 0, hi = 0;
    const bool ok = affine_grid_box_extent(t, d, 0.0, hj, hi);
    const double box = (2 * hj + 1) * (2 * hi + 1);
    GF_CHECK(ok && box <= kMaxBox, op,
             "theta of sample " << n << " (determinant " << det << ") magnifies so much that the adjoint would scan "
                                << box << " output pixels for each input pixel (at most " << kMaxBox << ")");
  }
}

}  // namespace

Tensor affine_grid_sample(const Tensor& x, const Tensor& theta, int64_t out_h, int64_t out_w) {
  const char* op = "affine_grid_sample";
  check_args(op, x, "x", theta, out_h, out_w, "output size");
  const int64_t in_h = x.size(2), in_w = x.size(3);
  const AffineGridDims d = dims(x, in_h, in_w, out_h, out_w);
  Tensor y = Tensor::empty({x.size(0), x.size(1), out_h, out_w}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::affine_grid_sample<T>(x.data<T>(), theta.data<T>(), y.data<T>(), d,
                                                   stream_of(x.device())));
    else
      cpu::affine_grid_sample<T>(x.data<T>(), theta.data<T>(), y.data<T>(), d);
  });
  const Tensor th = theta.detach();
  return record_op(op, y, {x}, [th = SavedTensor(th), in_h, in_w](Node&, const Tensor& g) {
    return Grads{affine_grid_sample_adjoint(g, th, in_h, in_w)};
  });
}

Tensor affine_grid_sample_adjoint(const Tensor& g, const Tensor& theta, int64_t in_h, int64_t in_w) {
  const char* op = "affine_grid_sample_adjoint";
  check_args(op, g, "g", theta, in_h, in_w, "input size");
  const int64_t out_h = g.size(2), out_w = g.size(3);
  const AffineGridDims d = dims(g, in_h, in_w, out_h, out_w);
  check_invertible(op, theta, d);
  Tensor dx = Tensor::empty({g.size(0), g.size(1), in_h, in_w}, g.dtype(), g.device());
  dispatch_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (g.device().is_cuda())
      GF_CUDA_CALL(op, cuda::affine_grid_sample_adjoint<T>(g.data<T>(), theta.data<T>(), dx.data<T>(), d,
                                                           stream_of(g.device())));
    else
      cpu::affine_grid_sample_adjoint<T>(g.data<T>(), theta.data<T>(), dx.data<T>(), d);
  });
  const Tensor th = theta.detach();
  return record_op(op, dx, {g}, [th = SavedTensor(th), out_h, out_w](Node&, const Tensor& h) {
    return Grads{affine_grid_sample(h, th, out_h, out_w)};
  });
}

}  // namespace gf
