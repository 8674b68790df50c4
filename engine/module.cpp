#include "engine/module.h"

#include "engine/error.h"
#include "engine/ops.h"

namespace gf {

Tensor& Module::param(const std::string& name, Tensor t) {
  t.requires_grad_(true);
  params_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *params_.back().second;
}

Tensor& Module::buffer(const std::string& name, Tensor t) {
  buffers_.emplace_back(name, std::make_unique<Tensor>(std::move(t)));
  return *buffers_.back().second;
}

void Module::collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor*>>& out) {
  for (auto& [n, t] : params ? params_ : buffers_) out.emplace_back(prefix + n, t.get());
  for (auto& [n, m] : children_) m->collect(prefix + n + separator_, params, out);
}

std::vector<std::pair<std::string, Tensor*>> Module::all_slots(bool params) const {
  std::vector<std::pair<std::string, Tensor*>> out;
  const_cast<Module*>(this)->collect("", params, out);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [n, t] : all_slots(true)) out.emplace_back(n, *t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (auto& [n, t] : all_slots(false)) out.emplace_back(n, *t);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for_each_tensor(true, [&](Tensor& t) { out.push_back(t); });
  return out;
}

bool Module::same_names(const Module& o) const {
  if (separator_ != o.separator_ || params_.size() != o.params_.size() || buffers_.size() != o.buffers_.size() ||
      children_.size() != o.children_.size())
    return false;
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].first != o.params_[i].first) return false;
  for (size_t i = 0; i < buffers_.size(); ++i)
    if (buffers_[i].first != o.buffers_[i].first) return false;
  for (size_t i = 0; i < children_.size(); ++i)
    if (children_[i].first != o.children_[i].first || !children_[i].second->same_names(*o.children_[i].second))
      return false;
  return true;
}

io::TensorMap Module::state_dict() const {
  io::TensorMap m;
  for (bool p : {true, false})
    for (auto& [n, t] : all_slots(p)) m[n] = *t;
  return m;
}

void Module::load_state_dict(const io::TensorMap& state, bool strict) {
  std::vector<std::pair<Tensor*, const Tensor*>> plan;
  size_t matched = 0;
  for (bool p : {true, false})
    for (auto& [n, t] : all_slots(p)) {
      auto it = state.find(n);
      if (it == state.end()) throw Error("load_state_dict: missing tensor '" + n + "' " + shape_str(t->shape()));
      if (it->second.shape() != t->shape())
        throw Error("load_state_dict: tensor '" + n + "' has shape " + shape_str(it->second.shape()) + ", expected " +
                    shape_str(t->shape()));
      plan.emplace_back(t, &it->second);
      ++matched;
    }
  if (strict && matched != state.size()) {
    auto slots = all_slots(true), bufs = all_slots(false);
    slots.insert(slots.end(), bufs.begin(), bufs.end());
    for (const auto& [n, t] : state) {
      bool known = false;
      for (auto& s : slots) known = known || s.first == n;
      if (!known) throw Error("load_state_dict: unexpected tensor '" + n + "'");
    }
  }
  for (auto& [dst, src] : plan) dst->copy_(src->dtype() == dst->dtype() ? *src : src->detach().to(dst->dtype()));
}

std::vector<std::string> Module::load_what_fits(const io::TensorMap& state) {
  std::vector<std::pair<Tensor*, const Tensor*>> plan;
  std::vector<std::string> kept;
  for (bool p : {true, false})
    for (auto& [n, t] : all_slots(p)) {
      auto it = state.find(n);
      if (it == state.end()) {
        kept.push_back(n);
        continue;
      }
      if (!broadcasts_to(it->second.shape(), t->shape()))
        throw Error("tensor '" + n + "' has shape " + shape_str(it->second.shape()) + ", which does not broadcast to " +
                    shape_str(t->shape()));
      plan.emplace_back(t, &it->second);
    }
  for (auto& [dst, src] : plan) {
    const Tensor value = src->detach().to(dst->dtype());
    dst->copy_(value.shape() == dst->shape() ? value : expand(value, dst->shape()));
  }
  return kept;
}

void Module::copy_from(const Module& other) { load_state_dict(other.state_dict()); }

void Module::to(Device d) {
  for (bool p : {true, false})
    for (auto& [n, t] : all_slots(p)) {
      if (t->device() == d) continue;
      Tensor moved = t->detach().to(d);
      if (p) moved.requires_grad_(t->requires_grad());
      *t = moved;
    }
}

void Module::requires_grad_(bool on) {
  for_each_tensor(true, [on](Tensor& t) { t.requires_grad_(on); });
}

void Module::zero_grad() {
  for_each_tensor(true, [](Tensor& t) { t.zero_grad(); });
}

int64_t Module::num_params() const {
  int64_t n = 0;
  for_each_tensor(true, [&n](Tensor& t) { n += t.numel(); });
  return n;
}

}  // namespace gf
