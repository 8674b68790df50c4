#include "models/psp/layers.h"

#include <cmath>

#include "engine/ops/batch_norm.h"
#include "engine/ops/bias_act.h"
#include "engine/ops/prelu.h"

namespace gf::psp {

Conv2d::Conv2d(int in, int out, int kernel, int stride, int padding, bool has_bias, ParamInit& init)
    : weight(param("weight", init.randn({out, in, kernel, kernel}, 1 / std::sqrt(double(in) * kernel * kernel)))),
      bias(has_bias ? &param("bias", zeros({out}, init.dtype)) : nullptr) {
  p_.stride_h = p_.stride_w = stride;
  p_.pad_h = p_.pad_w = padding;
}

Tensor Conv2d::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 4 && x.size(1) == weight.size(1), "Conv2d",
           "input must be [N, " << weight.size(1) << ", H, W], got " << shape_str(x.shape()));
  const Tensor y = conv2d(x, weight, p_);
  return bias ? bias_act(y, *bias, 1) : y;
}

BatchNorm::BatchNorm(int channels, ParamInit& init, bool affine)
    : weight(affine ? &param("weight", ones({channels}, init.dtype)) : nullptr),
      bias(affine ? &param("bias", zeros({channels}, init.dtype)) : nullptr),
      running_mean(buffer("running_mean", zeros({channels}, init.dtype))),
      running_var(buffer("running_var", ones({channels}, init.dtype))) {}

Tensor BatchNorm::forward(const Tensor& x) const {
  return batch_norm(x, weight ? *weight : Tensor(), bias ? *bias : Tensor(), running_mean, running_var, training,
                    momentum, eps);
}

PReLU::PReLU(int channels, ParamInit& init) : weight(param("weight", full({channels}, 0.25, init.dtype))) {}

Tensor PReLU::forward(const Tensor& x) const { return prelu(x, weight); }

Linear::Linear(int in, int out, ParamInit& init)
    : weight(param("weight", init.randn({out, in}, 1 / std::sqrt(double(in))))),
      bias(param("bias", zeros({out}, init.dtype))) {}

Tensor Linear::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 2 && x.size(1) == weight.size(1), "Linear",
           "input must be [N, " << weight.size(1) << "], got " << shape_str(x.shape()));
  return bias_act(matmul(x, weight, false, true), bias, 1);
}

}  // namespace gf::psp
