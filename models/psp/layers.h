// The torch.nn layers pSp's encoders are built of, with torch's parameter and
// buffer names: Conv2d, BatchNorm (1-D and 2-D), PReLU, Linear; and Sequential,
// a container whose children are named "0", "1", ... as nn.Sequential's are.
// Initial values (they matter only before weights are loaded): conv and
// linear weights N(0, 1/fan_in), biases 0, batch norm weight 1 / bias 0 /
// running stats (0, 1), PReLU slopes 0.25 as torch's.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "engine/module.h"
#include "engine/ops.h"
#include "models/param_init.h"

namespace gf::psp {

using gf::ParamInit;

class Sequential : public Module {
 public:
  template <class M>
  M& add(std::unique_ptr<M> m) {
    return child(std::to_string(count_++), std::move(m));
  }
  template <class M>
  M& add_named(const std::string& name, std::unique_ptr<M> m) {
    return child(name, std::move(m));
  }

 private:
  int count_ = 0;
};

class Conv2d : public Module {
 public:
  Conv2d(int in, int out, int kernel, int stride, int padding, bool bias, ParamInit& init);
  Tensor forward(const Tensor& x) const;  // [N, in, H, W] -> [N, out, H', W']
  Tensor& weight;  // [out, in, k, k]
  Tensor* bias;    // [out], or null

 private:
  Conv2dParams p_;
};

// nn.BatchNorm2d / BatchNorm1d (momentum 0.1, eps 1e-5). `training` selects
// batch statistics (and running-stat updates) or the running statistics.
class BatchNorm : public Module {
 public:
  BatchNorm(int channels, ParamInit& init, bool affine = true);
  Tensor forward(const Tensor& x) const;
  Tensor* weight;  // [C], null without affine
  Tensor* bias;
  Tensor& running_mean;  // buffers [C]
  Tensor& running_var;
  bool training = false;
  double momentum = 0.1, eps = 1e-5;
};

class PReLU : public Module {
 public:
  PReLU(int channels, ParamInit& init);
  Tensor forward(const Tensor& x) const;
  Tensor& weight;  // [C]
};

// nn.Linear: x W^T + b.
class Linear : public Module {
 public:
  Linear(int in, int out, ParamInit& init);
  Tensor forward(const Tensor& x) const;  // [N, in] -> [N, out]
  Tensor& weight;  // [out, in]
  Tensor& bias;    // [out]
};

}  // namespace gf::psp
