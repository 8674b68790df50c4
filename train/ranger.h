// Ranger, the optimizer pSp trains with (pixel2style2pixel training/ranger.py,
// version 20.4.11 of lessw2020's Ranger): RAdam with gradient centralization
// and Lookahead, updated per parameter:
//   g = grad, minus its mean over every dim but the first when g has more
//       than one dim (gradient centralization, conv and linear weights alike);
//   t += 1; v = beta2 v + (1 - beta2) g^2; m = beta1 m + (1 - beta1) g;
//   RAdam: N_max = 2 / (1 - beta2) - 1, N = N_max - 2 t beta2^t / (1 - beta2^t);
//     N > N_threshold: s = sqrt((1 - beta2^t) (N - 4) / (N_max - 4) (N - 2) / N
//                              N_max / (N_max - 2)) / (1 - beta1^t),
//                      p -= lr s m / (sqrt(v) + eps)
//     otherwise:       p -= lr m / (1 - beta1^t)
//   Lookahead: every k-th step of a parameter, slow += alpha (p - slow) and
//     p = slow, where slow starts as p before the parameter's first step.
// pSp's defaults: lr 1e-4 (its --learning_rate), alpha 0.5, k 6, N_threshold
// 5, betas (0.95, 0.999), eps 1e-5; no weight decay. Like torch optimizers, a
// parameter without a gradient is skipped (its state does not advance).
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "train/optimizer.h"

namespace gf {

struct RangerOptions {
  double lr = 1e-4;
  double alpha = 0.5;          // Lookahead's slow-weight step
  int k = 6;                   // Lookahead interval, in steps
  double n_sma_threshold = 5;  // RAdam: rectify once the SMA length exceeds this
  double beta1 = 0.95, beta2 = 0.999;
  double eps = 1e-5;
  bool use_gc = true;          // gradient centralization of every weight with more than one dim
  void validate() const;       // throws gf::Error as Ranger's constructor raises ValueError
};

class Ranger : public Optimizer {
 public:
  // Names are the parameters' state-dict names (Module::named_parameters()).
  // unit_leading_dim(name): the parameter is stored without a leading dim of
  // 1 that the official layout gives it (pSp's rosinality decoder: conv
  // weights [1, out, in, k, k], const [1, C, 4, 4], to_rgb bias [1, 3, 1, 1]
  // here [out, in, k, k], [C, 4, 4], [3]), so it is centralized over every
  // dim, as ranger.py centralizes the official shape.
  Ranger(std::vector<std::pair<std::string, Tensor>> params, const RangerOptions& opt,
         const std::function<bool(const std::string&)>& unit_leading_dim = {});

  void step() override;
  void zero_grad() override;
  const RangerOptions& options() const { return opt_; }

  // "<param>.exp_avg", ".exp_avg_sq", ".slow_buffer" and ".step" (float64
  // scalar) for every parameter with state, as ranger.py keeps them.
  io::TensorMap state_dict() const override;
  void load_state_dict(const io::TensorMap& state) override;

 private:
  struct Slot {
    std::string name;
    Tensor param, exp_avg, exp_avg_sq, slow_buffer;  // state undefined until the first step
    int64_t step = 0;
    bool gc_every_dim = false;  // unit_leading_dim: centralized over every dim
  };
  std::vector<Slot> slots_;
  RangerOptions opt_;
};

}  // namespace gf
