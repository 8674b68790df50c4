// Fused forward; the backward is written in ops. Only the appended channels
// depend on the statistics: with x read as [G, M, F, c, H, W], d = x - mean_g x
// and sd = sqrt(mean_g d^2 + eps), ds[m, f]/dx = d / (G * sd * c*H*W). Formed
// from x, the gradient is differentiable again (R1 differentiates through it).
#include "engine/ops/minibatch_stddev.h"

#include <algorithm>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/minibatch_stddev.h"

namespace gf {

namespace {
constexpr double kEps = 1e-8;  // the official layer's epsilon
}

Tensor minibatch_stddev(const Tensor& x, int64_t group_size, int64_t num_channels) {
  const char* op = "minibatch_stddev";
  check_same(op, {x});
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
  GF_CHECK(group_size >= 1, op, "group_size must be >= 1, got " << group_size);
  GF_CHECK(num_channels >= 1, op, "num_channels must be >= 1, got " << num_channels);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  GF_CHECK(N >= 1, op, "empty batch");
  const int64_t G = std::min(group_size, N), F = num_channels;
  GF_CHECK(N % G == 0, op, "batch " << N << " is not divisible by the group size " << G);
  GF_CHECK(C % F == 0, op, "channels " << C << " are not divisible by num_channels " << F);
  const int64_t M = N / G, c = C / F;

  MinibatchStdDesc d;
  d.groups = G, d.m = M, d.features = F, d.per_feature = c * H * W, d.hw = H * W;
  Tensor y = Tensor::empty({N, C + F, H, W}, x.dtype(), x.device());
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

  return record_op(op, y, {x}, [x, G, M, F, c, H, W, C](Node&, const Tensor& g) {
    // The statistics' gradient: appended maps summed over pixels and group members.
    const Tensor gs = sum(sum(slice(g, 1, C, C + F), {2, 3}).reshape({G, M, F}), {0}, true)
                          .reshape({1, M, F, 1, 1, 1});
    const Tensor xr = x.reshape({G, M, F, c, H, W});
    const Tensor dev = sub(xr, mean(xr, {0}, true));
    const Tensor sd = sqrt(affine(mean(square(dev), {0}, true), 1.0, kEps));
    const Tensor gx = mul(div(dev, sd), affine(gs, 1.0 / static_cast<double>(G * c * H * W), 0.0));
    return std::vector<Tensor>{add(slice(g, 1, 0, C), gx.reshape({G * M, C, H, W}))};
  });
}

}  // namespace gf
