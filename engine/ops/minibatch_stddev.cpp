// Fused forward and gradient kernels. Only the appended channels depend on the
// statistics: with x read as [G, M, F, c, H, W], d = x - mean_g x and
// sd = sqrt(mean_g d^2 + eps), ds[m, f]/dx = d / (G * sd * c*H*W), so
//   minibatch_stddev_grad(x, g) = g[:, :C] + (d / sd) * gs / (G c H W),
// gs the appended channels of g summed over pixels and group members
// (kernels/minibatch_stddev.h). Its own backward, for an incoming h, is
// written in ops below: in g, h itself plus, on the appended channels,
// mean over (G, c, H, W) of h * d / sd; in x, the standardization's gradient
// (w - u * mean_g(w * u)) / sd with u = d / sd, w = v - mean_g v,
// v = h * gs / (G c H W), less its mean over the group.
#include "engine/ops/minibatch_stddev.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/minibatch_stddev.h"

namespace gf {
namespace {

using Grads = GradList;

constexpr double kEps = 1e-8;  // the official layer's epsilon

// Checks x and the options; the kernel's view of x.
MinibatchStdDesc describe(const char* op, const Tensor& x, int64_t group_size, int64_t num_channels) {
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
  GF_CHECK(group_size >= 1, op, "group_size must be >= 1, got " << group_size);
  GF_CHECK(num_channels >= 1, op, "num_channels must be >= 1, got " << num_channels);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  GF_CHECK(N >= 1, op, "empty batch");
  // The official reshape(G, -1, F, c, H, W) refuses 0 channels (here all NaN).
  GF_CHECK(C >= 1, op, "x " << shape_str(x.shape()) << " has no channels");
  const int64_t G = std::min(group_size, N), F = num_channels;
  GF_CHECK(N % G == 0, op, "batch " << N << " is not divisible by the group size " << G);
  GF_CHECK(C % F == 0, op, "channels " << C << " are not divisible by num_channels " << F);
  MinibatchStdDesc d;
  d.groups = G, d.m = N / G, d.features = F, d.per_feature = C / F * H * W, d.hw = H * W;
  return d;
}

}  // namespace

Tensor minibatch_stddev(const Tensor& x, int64_t group_size, int64_t num_channels) {
  const char* op = "minibatch_stddev";
  check_same(op, {x});
  const MinibatchStdDesc d = describe(op, x, group_size, num_channels);
  Tensor y = Tensor::empty({x.size(0), x.size(1) + d.features, x.size(2), x.size(3)}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda()) {
      GF_CUDA_CALL(op, {
        const Tensor scratch = Tensor::empty({cuda::minibatch_stddev_scratch_elems(d)}, x.dtype(), x.device());
        cuda::minibatch_stddev<T>(x.data<T>(), y.data<T>(), scratch.data<T>(), d, kEps, stream_of(x.device()));
      });
    } else {
      const Tensor scratch = Tensor::empty({cpu::minibatch_stddev_scratch_elems(d)}, x.dtype(), x.device());
      cpu::minibatch_stddev<T>(x.data<T>(), y.data<T>(), scratch.data<T>(), d, kEps);
    }
  });
  return record_op(op, y, {x}, [x = SavedTensor(x), group_size, num_channels](Node&, const Tensor& g) {
    return Grads{minibatch_stddev_grad(x, g, group_size, num_channels)};
  });
}

Tensor minibatch_stddev_grad(const Tensor& x, const Tensor& g, int64_t group_size, int64_t num_channels) {
  const char* op = "minibatch_stddev_grad";
  check_same(op, {x, g});
  const MinibatchStdDesc d = describe(op, x, group_size, num_channels);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t G = d.groups, M = d.m, F = d.features, c = C / F;
  const Shape y_shape{N, C + F, H, W};
  GF_CHECK(g.shape() == y_shape, op,
           "gradient " << shape_str(g.shape()) << " does not match the output " << shape_str(y_shape));
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  const Tensor scratch = Tensor::empty({minibatch_stddev_grad_scratch_elems(d)}, x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::minibatch_stddev_grad<T>(x.data<T>(), g.data<T>(), dx.data<T>(), scratch.data<T>(), d,
                                                      kEps, stream_of(x.device())));
    else
      cpu::minibatch_stddev_grad<T>(x.data<T>(), g.data<T>(), dx.data<T>(), scratch.data<T>(), d, kEps);
  });
  return record_op(op, dx, {x, g},
                   [x = SavedTensor(x), g = SavedTensor(g), G, M, F, c, H, W, C](Node& n, const Tensor& h) {
    const Tensor xr = x.get().reshape({G, M, F, c, H, W}), hr = h.reshape({G, M, F, c, H, W});
    const Tensor dev = sub(xr, mean(xr, {0}, true));
    const Tensor sd = sqrt(affine(mean(square(dev), {0}, true), 1.0, kEps));
    const Tensor u = div(dev, sd);
    Tensor d_x, d_g;
    if (n.needs_input_grad(0)) {
      const Tensor gs = sum(sum(slice(g, 1, C, C + F), {2, 3}).reshape({G, M, F}), {0}, true)
                            .reshape({1, M, F, 1, 1, 1});
      const Tensor v = mul(hr, affine(gs, 1.0 / static_cast<double>(G * c * H * W), 0.0));
      // The exact d_x has zero mean over each group (the statistic ignores a
      // shift of the whole group), and so does the v - mean_g v it is formed
      // from. Both are projected explicitly: float32 rounding along the mean,
      // divided by an sd as small as sqrt(eps), otherwise swamps the result
      // (1e-2 relative error in R1's gradients at group size 2; now 1e-6).
      const Tensor w = sub(v, mean(v, {0}, true));
      const Tensor t = div(sub(w, mul(u, mean(mul(w, u), {0}, true))), sd);
      d_x = sub(t, mean(t, {0}, true)).reshape({G * M, C, H, W});
    }
    if (n.needs_input_grad(1)) {
      const Tensor q = mean(mul(hr, u), {0, 3, 4, 5}, true).reshape({1, M, F, 1, 1});
      d_g = concat({h, expand(q, {G, M, F, H, W}).reshape({G * M, F, H, W})}, 1);
    }
    return Grads{d_x, d_g};
  });
}

}  // namespace gf
