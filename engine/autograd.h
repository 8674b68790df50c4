// Reverse-mode autograd on a dynamic tape, as in PyTorch.
//
// An op run with grad mode on, on inputs that require grad, records a Node
// holding its backward: a function of the output gradient that returns one
// gradient per input, written with engine ops. Running that backward with
// grad mode on (create_graph) records it in turn, so gradients of gradients
// come for free to any order.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gf {

// ---- grad mode -------------------------------------------------------------
bool grad_enabled();
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled);
  ~GradModeGuard();
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool prev_;
};
struct NoGradGuard : GradModeGuard {
  NoGradGuard() : GradModeGuard(false) {}
};

// ---- graph -----------------------------------------------------------------
// Where the gradient of one input goes: the node that produced it, or the leaf
// whose .grad accumulates it. Both empty: that input needs no gradient.
struct Edge {
  std::shared_ptr<Node> fn;
  std::shared_ptr<TensorImpl> leaf;
  bool valid() const { return fn || leaf; }
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  // Returns one gradient per input; an entry may be left undefined when
  // !self.needs_input_grad(i) (the input's gradient is not wanted).
  using BackwardFn = std::function<std::vector<Tensor>(Node& self, const Tensor& grad_out)>;

  Node(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}

  const std::string& name() const { return name_; }
  const std::vector<Edge>& next() const { return next_; }
  // During backward: whether input i's gradient is wanted by this pass.
  bool needs_input_grad(size_t i) const { return i < needs_.size() && needs_[i]; }
  // The op's output, re-attached to this node, for backwards that reuse it
  // (exp, sqrt, sigmoid). Saved without a reference cycle.
  Tensor saved_output() const;

 private:
  friend Tensor record_op(const char*, Tensor, const std::vector<Tensor>&, BackwardFn, bool);
  friend class GraphTask;
  std::string name_;
  BackwardFn fn_;
  std::vector<Edge> next_;
  std::vector<Shape> input_shapes_;
  std::vector<DType> input_dtypes_;
  std::vector<bool> needs_;
  std::shared_ptr<Storage> out_storage_;
  Shape out_shape_;
  DType out_dtype_ = DType::f32;
};

// Attaches `out` to the graph when grad mode is on and any input requires
// grad; returns `out` either way. `save_output` keeps the output's storage for
// Node::saved_output().
Tensor record_op(const char* name, Tensor out, const std::vector<Tensor>& inputs,
                 Node::BackwardFn backward, bool save_output = false);

// ---- running it ------------------------------------------------------------
// Gradients of `outputs` (weighted by `grad_outputs`, ones for scalars when
// empty) with respect to `inputs`, returned rather than accumulated. Only the
// part of the graph that leads to `inputs` runs, so weight gradients are never
// formed for an input-gradient penalty. With create_graph the result is itself
// differentiable. Without retain_graph the graph's saved state is freed.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool create_graph = false,
                         bool retain_graph = false, bool allow_unused = false);

// Accumulates d(loss)/d(leaf) into every reachable leaf's .grad.
void backward(const Tensor& loss, const Tensor& grad_output = Tensor(), bool retain_graph = false,
              bool create_graph = false);

}  // namespace gf
