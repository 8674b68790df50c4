#include "train/adam.h"

#include <cmath>
#include <set>

#include "engine/ops.h"
#include "train/cli.h"

namespace gf {

Adam::Adam(std::vector<std::pair<std::string, Tensor>> params, const AdamOptions& opt) : opt_(opt) {
  std::set<std::string> seen;
  for (auto& [name, p] : params) {
    // requires_grad is not checked: training loops toggle it per phase.
    GF_CHECK(p.defined(), "Adam", "parameter '" << name << "' is undefined");
    GF_CHECK(seen.insert(name).second, "Adam", "parameter '" << name << "' given twice");
    slots_.push_back({name, p, Tensor(), Tensor(), 0});
  }
}

void Adam::step() {
  NoGradGuard no_grad;
  const double b1 = opt_.beta1, b2 = opt_.beta2;
  for (Slot& s : slots_) {
    const Tensor g = s.param.grad();
    if (!g.defined()) continue;
    if (!s.exp_avg.defined()) {
      s.exp_avg = zeros_like(s.param);
      s.exp_avg_sq = zeros_like(s.param);
    }
    s.step += 1;
    const Tensor m = lerp(s.exp_avg, g, 1.0 - b1);
    const Tensor v = s.exp_avg_sq * b2 + square(g) * (1.0 - b2);
    const double bias_correction1 = 1.0 - std::pow(b1, static_cast<double>(s.step));
    const double bias_correction2_sqrt = std::sqrt(1.0 - std::pow(b2, static_cast<double>(s.step)));
    if (opt_.tf_epsilon) {
      s.param.copy_(s.param - (m / (sqrt(v) + opt_.eps)) * (opt_.lr * bias_correction2_sqrt / bias_correction1));
    } else {
      const Tensor denom = sqrt(v) / bias_correction2_sqrt + opt_.eps;
      s.param.copy_(s.param - (m / denom) * (opt_.lr / bias_correction1));
    }
    s.exp_avg.copy_(m);
    s.exp_avg_sq.copy_(v);
  }
}

void Adam::reset() {
  for (Slot& s : slots_) {
    s.exp_avg = s.exp_avg_sq = Tensor();
    s.step = 0;
  }
}

void Adam::zero_grad() {
  for (Slot& s : slots_) s.param.zero_grad();
}

io::TensorMap Adam::state_dict() const {
  io::TensorMap out;
  for (const Slot& s : slots_) {
    if (!s.exp_avg.defined()) continue;
    out[s.name + ".exp_avg"] = state_copy(s.exp_avg, Device::cpu());
    out[s.name + ".exp_avg_sq"] = state_copy(s.exp_avg_sq, Device::cpu());
    out[s.name + ".step"] = Tensor::scalar(static_cast<double>(s.step), DType::f64);
  }
  return out;
}

void Adam::load_state_dict(const io::TensorMap& state) {
  // Validate everything first, so a bad file leaves the optimizer untouched.
  size_t used = 0;
  for (const Slot& s : slots_) {
    const bool has = state.count(s.name + ".step") > 0;
    for (const char* key : {".exp_avg", ".exp_avg_sq"}) {
      auto it = state.find(s.name + key);
      GF_CHECK((it != state.end()) == has, "Adam::load_state_dict",
               "state of '" << s.name << "' is incomplete (" << key << ")");
      if (!has) continue;
      GF_CHECK(it->second.shape() == s.param.shape() && it->second.dtype() == s.param.dtype(),
               "Adam::load_state_dict",
               s.name << key << " is " << it->second.desc() << ", the parameter is " << s.param.desc());
      if (std::string(key) == ".exp_avg_sq") check_second_moment(it->second, s.name + key, "Adam::load_state_dict");
    }
    if (!has) continue;
    const Tensor& t = state.at(s.name + ".step");
    GF_CHECK(t.numel() == 1 && t.item() >= 1 && t.item() == std::floor(t.item()), "Adam::load_state_dict",
             s.name << ".step must be a positive integer");
    used += 3;
  }
  GF_CHECK(used == state.size(), "Adam::load_state_dict",
           state.size() - used << " entries name no parameter of this optimizer");
  for (Slot& s : slots_) {
    if (!state.count(s.name + ".step")) {
      s.exp_avg = s.exp_avg_sq = Tensor();
      s.step = 0;
      continue;
    }
    s.exp_avg = state_copy(state.at(s.name + ".exp_avg"), s.param.device());
    s.exp_avg_sq = state_copy(state.at(s.name + ".exp_avg_sq"), s.param.device());
    s.step = static_cast<int64_t>(state.at(s.name + ".step").item());
  }
}

std::string Adam::uneven_state(const io::TensorMap& state, const std::string& prefix) const {
  const Slot* first = nullptr;
  double first_step = 0;
  for (const Slot& s : slots_) {
    auto it = state.find(s.name + ".step");
    if (it == state.end()) return "'" + prefix + s.name + "' has no optimizer state";
    if (it->second.numel() != 1) continue;  // load_state_dict names that
    const double step = it->second.item();
    if (!first) {
      first = &s, first_step = step;
    } else if (step != first_step) {
      return "'" + prefix + s.name + "' took " + cli::number_text(step) + " optimizer steps where '" + prefix + first->name +
             "' took " + cli::number_text(first_step);
    }
  }
  return "";
}

// x * 0 is NaN exactly where x is a NaN or an infinity, so the sum of all of them is 0 or NaN (one read).
bool finite_grads(const Module& net) {
  NoGradGuard ng;
  std::vector<Tensor> probes;
  for (const auto& [name, p] : net.named_parameters())
    if (p.grad().defined()) probes.push_back(sum(p.grad() * 0.0).reshape({1}));
  if (probes.empty()) return true;
  return sum(concat(probes, 0)).item() == 0;
}

}  // namespace gf
