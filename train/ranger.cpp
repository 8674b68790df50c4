#include "train/ranger.h"

#include <cmath>
#include <set>

#include "engine/ops.h"

namespace gf {

void RangerOptions::validate() const {
  GF_CHECK(alpha >= 0 && alpha <= 1, "Ranger", "invalid slow update rate " << alpha << " (alpha must be in [0, 1])");
  GF_CHECK(k >= 1, "Ranger", "invalid lookahead steps " << k << " (k must be at least 1)");
  GF_CHECK(lr > 0 && std::isfinite(lr), "Ranger", "invalid learning rate " << lr);
  GF_CHECK(eps > 0 && std::isfinite(eps), "Ranger", "invalid eps " << eps);
  GF_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Ranger",
           "betas must be in [0, 1), got " << beta1 << ", " << beta2);
}

Ranger::Ranger(std::vector<std::pair<std::string, Tensor>> params, const RangerOptions& opt,
               const std::function<bool(const std::string&)>& unit_leading_dim)
    : opt_(opt) {
  opt.validate();
  std::set<std::string> seen;
  for (auto& [name, p] : params) {
    GF_CHECK(p.defined(), "Ranger", "parameter '" << name << "' is undefined");
    GF_CHECK(seen.insert(name).second, "Ranger", "parameter '" << name << "' given twice");
    slots_.push_back({name, p, Tensor(), Tensor(), Tensor(), 0, unit_leading_dim && unit_leading_dim(name)});
  }
}

void Ranger::step() {
  NoGradGuard no_grad;
  const double b1 = opt_.beta1, b2 = opt_.beta2;
  const double n_sma_max = 2 / (1 - b2) - 1;
  for (Slot& s : slots_) {
    Tensor g = s.param.grad();
    if (!g.defined()) continue;
    if (!s.exp_avg.defined()) {
      s.exp_avg = zeros_like(s.param);
      s.exp_avg_sq = zeros_like(s.param);
      s.slow_buffer = s.param.clone();
    }
    if (opt_.use_gc && (g.dim() > 1 || s.gc_every_dim)) {
      std::vector<int64_t> dims;
      for (int64_t d = s.gc_every_dim ? 0 : 1; d < g.dim(); ++d) dims.push_back(d);
      g = g - mean(g, dims, true);
    }
    s.step += 1;
    const double t = static_cast<double>(s.step);
    const Tensor v = s.exp_avg_sq * b2 + square(g) * (1 - b2);
    const Tensor m = s.exp_avg * b1 + g * (1 - b1);
    const double beta2_t = std::pow(b2, t);
    const double n_sma = n_sma_max - 2 * t * beta2_t / (1 - beta2_t);
    Tensor p;
    if (n_sma > opt_.n_sma_threshold) {
      const double step_size = std::sqrt((1 - beta2_t) * (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma *
                                         n_sma_max / (n_sma_max - 2)) /
                               (1 - std::pow(b1, t));
      p = s.param - (m / (sqrt(v) + opt_.eps)) * (step_size * opt_.lr);
    } else {
      const double step_size = 1.0 / (1 - std::pow(b1, t));
      p = s.param - m * (step_size * opt_.lr);
    }
    s.exp_avg.copy_(m);
    s.exp_avg_sq.copy_(v);
    if (s.step % opt_.k == 0) {
      s.slow_buffer.copy_(s.slow_buffer + (p - s.slow_buffer) * opt_.alpha);
      p = s.slow_buffer;
    }
    s.param.copy_(p);
  }
}

void Ranger::zero_grad() {
  for (Slot& s : slots_) s.param.zero_grad();
}

io::TensorMap Ranger::state_dict() const {
  io::TensorMap out;
  for (const Slot& s : slots_) {
    if (!s.exp_avg.defined()) continue;
    out[s.name + ".exp_avg"] = state_copy(s.exp_avg, Device::cpu());
    out[s.name + ".exp_avg_sq"] = state_copy(s.exp_avg_sq, Device::cpu());
    out[s.name + ".slow_buffer"] = state_copy(s.slow_buffer, Device::cpu());
    out[s.name + ".step"] = Tensor::scalar(static_cast<double>(s.step), DType::f64);
  }
  return out;
}

void Ranger::load_state_dict(const io::TensorMap& state) {
  // Validate everything first, so a bad file leaves the optimizer untouched.
  size_t used = 0;
  for (const Slot& s : slots_) {
    const bool has = state.count(s.name + ".step") > 0;
    for (const char* key : {".exp_avg", ".exp_avg_sq", ".slow_buffer"}) {
      auto it = state.find(s.name + key);
      GF_CHECK((it != state.end()) == has, "Ranger::load_state_dict",
               "state of '" << s.name << "' is incomplete (" << key << ")");
      if (!has) continue;
      GF_CHECK(it->second.shape() == s.param.shape() && it->second.dtype() == s.param.dtype(),
               "Ranger::load_state_dict",
               s.name << key << " is " << it->second.desc() << ", the parameter is " << s.param.desc());
      if (std::string(key) == ".exp_avg_sq") check_second_moment(it->second, s.name + key, "Ranger::load_state_dict");
    }
    if (!has) continue;
    const Tensor& t = state.at(s.name + ".step");
    GF_CHECK(t.numel() == 1 && t.item() >= 1 && t.item() <= 9007199254740992.0 && t.item() == std::floor(t.item()),
             "Ranger::load_state_dict", s.name << ".step must be a positive integer");
    used += 4;
  }
  GF_CHECK(used == state.size(), "Ranger::load_state_dict",
           state.size() - used << " entries name no parameter of this optimizer");
  for (Slot& s : slots_) {
    if (!state.count(s.name + ".step")) {
      s.exp_avg = s.exp_avg_sq = s.slow_buffer = Tensor();
      s.step = 0;
      continue;
    }
    s.exp_avg = state_copy(state.at(s.name + ".exp_avg"), s.param.device());
    s.exp_avg_sq = state_copy(state.at(s.name + ".exp_avg_sq"), s.param.device());
    s.slow_buffer = state_copy(state.at(s.name + ".slow_buffer"), s.param.device());
    s.step = static_cast<int64_t>(state.at(s.name + ".step").item());
  }
}

}  // namespace gf
