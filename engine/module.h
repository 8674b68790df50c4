// Parameter containers. A Module owns named parameters (trainable leaves),
// buffers (state that is saved but not trained: w_avg, noise_const, filters)
// and child modules; names join with dots, giving the official state-dict
// names ("synthesis.b8.conv0.affine.weight").
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/tensor.h"

namespace gf {

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Every parameter / buffer, recursively, in registration order.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<std::pair<std::string, Tensor>> named_buffers() const;
  std::vector<Tensor> parameters() const;
  // f(Tensor&) on every parameter (params) or buffer, recursively, in the
  // order above, without forming names: what a training step's per-phase
  // walks (requires_grad_, zero_grad, gradients, EMA) use, as a name is a
  // string made on the heap every time.
  template <class F>
  void for_each_tensor(bool params, F&& f) const {
    for (auto& slot : params ? params_ : buffers_) f(*slot.second);
    for (auto& child : children_) child.second->for_each_tensor(params, f);
  }
  // Whether `other` has the same names (own and children's, recursively, and
  // the separator), so the two name lists agree entry by entry.
  bool same_names(const Module& other) const;

  // Parameters and buffers by full name, as stored in a .bin.
  io::TensorMap state_dict() const;
  // Copies every tensor in place; a missing, extra (with strict) or misshapen
  // name throws naming it, before anything is changed.
  void load_state_dict(const io::TensorMap& state, bool strict = true);
  // The official StyleGAN2-ADA resume's copy (torch_utils/misc.py
  // copy_params_and_buffers with require_all=False): every parameter and
  // buffer that `state` holds under its name is copied in as torch's copy_
  // does, the stored tensor broadcast to the slot's shape (a grey toRGB
  // weight [1, C, 1, 1] fills [3, C, 1, 1] with R, G and B alike); the
  // others keep their values, and stored names this module lacks are
  // ignored. A stored tensor that does not broadcast to its slot throws
  // naming both shapes, before anything is changed. Returns the names of
  // the slots left as they were, parameters then buffers.
  std::vector<std::string> load_what_fits(const io::TensorMap& state);
  // Copies values from a module of the same structure (G -> G_ema).
  void copy_from(const Module& other);

  // Moves every parameter and buffer (in place: the Tensor handles the
  // layers hold stay valid).
  void to(Device d);
  void requires_grad_(bool on);
  void zero_grad();
  int64_t num_params() const;

 protected:
  // Registration returns the tensor (a parameter is marked requires_grad).
  Tensor& param(const std::string& name, Tensor t);
  Tensor& buffer(const std::string& name, Tensor t);
  // What joins this module's child names to their members' names: "." by
  // default; "/" gives the TensorFlow variable names of the official PGGAN
  // and StyleGAN networks ("4x4/Dense/weight").
  void set_name_separator(std::string sep) { separator_ = std::move(sep); }
  template <class M>
  M& child(const std::string& name, std::unique_ptr<M> m) {
    M& ref = *m;
    children_.emplace_back(name, std::move(m));
    return ref;
  }

 private:
  void collect(const std::string& prefix, bool params, std::vector<std::pair<std::string, Tensor*>>& out);
  std::vector<std::pair<std::string, Tensor*>> all_slots(bool params) const;
  // unique_ptr so the Tensor& handed out at registration stays valid.
  std::vector<std::pair<std::string, std::unique_ptr<Tensor>>> params_, buffers_;
  std::vector<std::pair<std::string, std::unique_ptr<Module>>> children_;
  std::string separator_ = ".";
};

}  // namespace gf
