// batch_norm over kernels/batch_norm.h. The statistics are constants of the
// forward; the backward accounts for their dependence on x in training mode
// (dx = invstd * w * (g - mean(g) - xhat * mean(g * xhat))), as torch's does.
#include "engine/ops/batch_norm.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/batch_norm.h"

namespace gf {
namespace {

using Grads = GradList;

BatchNormDims dims_of(const Tensor& x) {
  BatchNormDims d;
  d.outer = x.size(0);
  d.c = x.size(1);
  for (int64_t k = 2; k < x.dim(); ++k) d.inner *= x.size(k);
  return d;
}

// [C] -> [1, C, 1, ...] to broadcast against x.
Tensor per_channel(const Tensor& v, const Tensor& x) {
  Shape s(static_cast<size_t>(x.dim()), 1);
  s[1] = x.size(1);
  return v.reshape(s);
}

std::vector<int64_t> reduced_dims(const Tensor& x) {
  std::vector<int64_t> d{0};
  for (int64_t k = 2; k < x.dim(); ++k) d.push_back(k);
  return d;
}

void stats(const Tensor& x, const Tensor& mean, const Tensor& var, const BatchNormDims& d) {
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL("batch_norm", cuda::batch_norm_stats<T>(x.data<T>(), mean.data<T>(), var.data<T>(), d,
                                                           stream_of(x.device())));
    else
      cpu::batch_norm_stats<T>(x.data<T>(), mean.data<T>(), var.data<T>(), d);
  });
}

Tensor apply(const Tensor& x, const Tensor& mean, const Tensor& scale, const Tensor& shift, const BatchNormDims& d) {
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), "batch_norm", [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL("batch_norm", cuda::batch_norm_apply<T>(x.data<T>(), mean.data<T>(), scale.data<T>(),
                                                           shift.data<T>(), y.data<T>(), d, stream_of(x.device())));
    else
      cpu::batch_norm_apply<T>(x.data<T>(), mean.data<T>(), scale.data<T>(), shift.data<T>(), y.data<T>(), d);
  });
  return y;
}

// sum(g) and sum(g * (x - mean)) per channel.
std::pair<Tensor, Tensor> backward_reduce(const Tensor& g, const Tensor& x, const Tensor& mean,
                                          const BatchNormDims& d) {
  Tensor sg = Tensor::empty({d.c}, x.dtype(), x.device()), sgx = Tensor::empty({d.c}, x.dtype(), x.device());
  dispatch_float(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL("batch_norm_backward",
                   cuda::batch_norm_backward_reduce<T>(g.data<T>(), x.data<T>(), mean.data<T>(), sg.data<T>(),
                                                       sgx.data<T>(), d, stream_of(x.device())));
    else
      cpu::batch_norm_backward_reduce<T>(g.data<T>(), x.data<T>(), mean.data<T>(), sg.data<T>(), sgx.data<T>(), d);
  });
  return {sg, sgx};
}

Tensor backward_elemt(const Tensor& g, const Tensor& x, const Tensor& mean, const Tensor& mean_g, const Tensor& k,
                      const Tensor& scale, const BatchNormDims& d) {
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), "batch_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL("batch_norm_backward",
                   cuda::batch_norm_backward_elemt<T>(g.data<T>(), x.data<T>(), mean.data<T>(), mean_g.data<T>(),
                                                      k.data<T>(), scale.data<T>(), dx.data<T>(), d,
                                                      stream_of(x.device())));
    else
      cpu::batch_norm_backward_elemt<T>(g.data<T>(), x.data<T>(), mean.data<T>(), mean_g.data<T>(), k.data<T>(),
                                        scale.data<T>(), dx.data<T>(), d);
  });
  return dx;
}

void check_channel_vector(const char* op, const char* what, const Tensor& v, const Tensor& x) {
  if (!v.defined()) return;
  GF_CHECK(v.dim() == 1 && v.size(0) == x.size(1), op,
           what << " must be [" << x.size(1) << "] (one per channel), got " << shape_str(v.shape()));
  check_same(op, {x, v});
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  const char* op = "batch_norm";
  check_same(op, {x});
  GF_CHECK(x.dim() >= 2, op, "x must be [N, C] or [N, C, *], got " << shape_str(x.shape()));
  check_channel_vector(op, "weight", weight, x);
  check_channel_vector(op, "bias", bias, x);
  check_channel_vector(op, "running_mean", running_mean, x);
  check_channel_vector(op, "running_var", running_var, x);
  GF_CHECK(running_mean.defined() == running_var.defined(), op, "give both running_mean and running_var, or neither");
  GF_CHECK(eps > 0, op, "eps must be positive, got " << eps);
  GF_CHECK(momentum >= 0 && momentum <= 1, op, "momentum must be in [0, 1], got " << momentum);
  const BatchNormDims d = dims_of(x);
  const int64_t n = d.outer * d.inner;
  const bool batch_stats = training || !running_mean.defined();
  if (batch_stats)
    GF_CHECK(n > 1, op, "expected more than 1 value per channel when training, got input " << shape_str(x.shape()));

  Tensor mu, invstd, scale, shift;
  {
    NoGradGuard ng;
    if (batch_stats) {
      mu = Tensor::empty({d.c}, x.dtype(), x.device());
      Tensor var = Tensor::empty({d.c}, x.dtype(), x.device());
      stats(x, mu, var, d);
      if (training && running_mean.defined()) {
        running_mean.copy_(lerp(running_mean.detach(), mu, momentum));
        running_var.copy_(lerp(running_var.detach(), var * (double(n) / double(n - 1)), momentum));
      }
      invstd = rsqrt(var + eps);
    } else {
      mu = running_mean.detach().clone();
      invstd = rsqrt(running_var.detach() + eps);
    }
    scale = weight.defined() ? invstd * weight.detach() : invstd;
    shift = bias.defined() ? bias.detach() : zeros({d.c}, x.dtype(), x.device());
  }
  Tensor y = apply(x.detach(), mu, scale, shift, d);

  return record_op(op, y, {x, weight, bias},
                   [x = SavedTensor(x), weight = SavedTensor(weight), mu, invstd, scale, batch_stats, eps, d,
                       n](Node& node, const Tensor& g) {
    Grads out(3);
    const bool want_x = node.needs_input_grad(0), want_w = node.needs_input_grad(1), want_b = node.needs_input_grad(2);
    if (!grad_enabled()) {
      // First order: the fused kernels.
      auto [sg, sgx] = backward_reduce(g, x.get().detach(), mu, d);
      if (want_x) {
        if (batch_stats) {
          const Tensor mean_g = sg / double(n), k = square(invstd) * sgx / double(n);
          out[0] = backward_elemt(g, x.get().detach(), mu, mean_g, k, scale, d);
        } else {
          const Tensor z = zeros({d.c}, x.dtype(), x.device());
          out[0] = apply(g, z, scale, z, d);
        }
      }
      if (want_w) out[1] = sgx * invstd;
      if (want_b) out[2] = sg;
      return out;
    }
    // Recorded for a higher order: the same formulas in ops, the batch
    // statistics recomputed from x so that their dependence on x is kept.
    const std::vector<int64_t> dims = reduced_dims(x);
    Tensor xhat, inv;
    if (batch_stats) {
      const Tensor xc = x - mean(x, dims, true);
      inv = rsqrt(mean(square(xc), dims, true) + eps);
      xhat = xc * inv;
    } else {
      inv = per_channel(invstd, x);
      xhat = (x - per_channel(mu, x)) * inv;
    }
    if (want_x) {
      const Tensor gw = weight.defined() ? g * per_channel(weight, x) : g;
      out[0] = batch_stats ? inv * (gw - mean(gw, dims, true) - xhat * mean(gw * xhat, dims, true)) : gw * inv;
    }
    if (want_w) out[1] = sum(g * xhat, dims);
    if (want_b) out[2] = sum(g, dims);
    return out;
  });
}

}  // namespace gf
