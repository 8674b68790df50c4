// bias_act: add a bias along one dim, apply an activation, scale by a gain and
// clamp, in one pass; the semantics of StyleGAN2-ADA's bias_act. Its backward
// is bias_act_grad, a fused op of its own whose backward covers second order
// (the R1 and path-length penalties differentiate through it).
#pragma once
#include <optional>
#include <string>

#include "engine/ops.h"
#include "kernels/bias_act.h"

namespace gf {

// An activation with its parameters resolved.
struct BiasActSpec {
  Act act = Act::linear;
  double alpha = 0;  // lrelu slope
  double gain = 1;
  double clamp = -1;  // < 0: no clamp
};

// "linear", "relu", "lrelu", "tanh", "sigmoid", "elu", "selu", "softplus" or
// "swish"; throws naming `op` and the valid names otherwise. Unset alpha means
// 0.2 for lrelu; unset gain means sqrt(2) for relu and lrelu, 1 otherwise;
// unset clamp means none.
BiasActSpec bias_act_spec(const std::string& act, std::optional<double> alpha = std::nullopt,
                          std::optional<double> gain = std::nullopt, std::optional<double> clamp = std::nullopt,
                          const char* op = "bias_act");

// y = clamp(gain * act(x + b), -clamp, clamp), b of shape [x.size(dim)]
// broadcast along `dim` (undefined b: no bias).
Tensor bias_act(const Tensor& x, const Tensor& b, int64_t dim, const BiasActSpec& spec);
Tensor bias_act(const Tensor& x, const Tensor& b = Tensor(), int64_t dim = 1, const std::string& act = "linear",
                std::optional<double> alpha = std::nullopt, std::optional<double> gain = std::nullopt,
                std::optional<double> clamp = std::nullopt);

// The gradient of bias_act with respect to x given dy, from the forward's
// input x and bias b (read for swish, and kept as graph inputs so that second
// order reaches them) and its output y (read for the other activations and for
// the clamp mask). Pass y detached: its dependence on x is accounted for
// through x. Differentiable once more, in dy, x and b.
Tensor bias_act_grad(const Tensor& dy, const Tensor& x, const Tensor& b, const Tensor& y, int64_t dim,
                     const BiasActSpec& spec);

// Kernel parameters for x of `shape` with a bias of length `bias_len` along `dim`.
BiasActParams bias_act_params(const BiasActSpec& spec, const Shape& shape, int64_t dim, int64_t bias_len);

}  // namespace gf
