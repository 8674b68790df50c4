#include "engine/autograd.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "engine/error.h"
#include "engine/ops.h"

namespace gf {

// ---- grad mode ----
namespace {
thread_local bool g_grad_enabled = true;
// The node whose backward this thread is running: named by a refused read
// of a saved tensor.
thread_local const char* g_running_node = nullptr;

struct RunningNode {
  explicit RunningNode(const char* name) : outer(g_running_node) { g_running_node = name; }
  ~RunningNode() { g_running_node = outer; }
  RunningNode(const RunningNode&) = delete;
  RunningNode& operator=(const RunningNode&) = delete;
  const char* outer;
};

[[noreturn]] void throw_written_in_place(const char* saved_by, const std::string& desc, uint32_t now, uint32_t saved) {
  throw Error(std::string(saved_by ? saved_by : "backward") +
              ": a tensor this backward needs was written in place after the forward saved it (" + desc +
              " is at version " + std::to_string(now) + ", saved at " + std::to_string(saved) +
              "; as torch, this is refused rather than giving a wrong gradient: run the backward first, or "
              "write to a clone)");
}
}
bool grad_enabled() { return g_grad_enabled; }
GradModeGuard::GradModeGuard(bool enabled) : prev_(g_grad_enabled) { g_grad_enabled = enabled; }
GradModeGuard::~GradModeGuard() { g_grad_enabled = prev_; }

// ---- recording ----
Node::~Node() {
  // A node whose last owner is the one going is emptied before it goes: its
  // edges (which own the earlier nodes) are moved to a list first, then its
  // backward's captured tensors freed (which may own the same nodes). So no
  // node is destroyed while it still owns others: one loop, not a recursion
  // as deep as the graph.
  std::vector<std::shared_ptr<Node>> pending;
  const auto take = [&pending](Node& n) {
    for (Edge& e : n.next_)
      if (e.fn) pending.push_back(std::move(e.fn));
    n.next_.clear();
    n.fn_ = nullptr;
  };
  take(*this);
  while (!pending.empty()) {
    std::shared_ptr<Node> n = std::move(pending.back());
    pending.pop_back();
    if (n.use_count() == 1) take(*n);
  }
}

const Tensor& SavedTensor::get() const {
  if (t_.defined()) {
    const uint32_t now = t_.version();
    if (now != version_) throw_written_in_place(g_running_node, t_.desc(), now, version_);
  }
  return t_;
}

Tensor Node::saved_output() const {
  GF_CHECK(out_storage_ != nullptr, name_, "output was not saved for backward");
  const uint32_t now = out_storage_->version.load(std::memory_order_relaxed);
  if (now != out_version_)
    throw_written_in_place(name_, std::string(dtype_name(out_dtype_)) + shape_str(out_shape_) + " (its output)", now,
                           out_version_);
  auto impl = new_impl();
  impl->storage = out_storage_;
  impl->shape = out_shape_;
  impl->dtype = out_dtype_;
  impl->requires_grad = true;
  impl->grad_fn = std::const_pointer_cast<Node>(shared_from_this());
  return Tensor(std::move(impl));
}

Tensor record_op_n(const char* name, Tensor out, const Tensor* inputs, size_t n_inputs, BackwardFn backward,
                   bool save_output) {
  if (!grad_enabled()) return out;
  bool any = false;
  for (size_t i = 0; i < n_inputs; ++i) any = any || (inputs[i].defined() && inputs[i].requires_grad());
  if (!any) return out;
  auto node = std::allocate_shared<Node>(pool::Allocator<Node>(), name, std::move(backward));
  node->next_.reserve(n_inputs);
  node->input_shapes_.reserve(n_inputs);
  node->input_dtypes_.reserve(n_inputs);
  for (size_t i = 0; i < n_inputs; ++i) {
    const Tensor& t = inputs[i];
    Edge e;
    if (t.defined() && t.requires_grad()) {
      if (t.grad_fn())
        e.fn = t.grad_fn();
      else
        e.leaf = t.impl_ptr();
    }
    node->next_.push_back(std::move(e));
    node->input_shapes_.push_back(t.defined() ? t.shape() : Shape{});
    node->input_dtypes_.push_back(t.defined() ? t.dtype() : DType::f32);
  }
  if (save_output) {
    node->out_storage_ = out.impl().storage;
    node->out_version_ = out.version();
    node->out_shape_ = out.shape();
    node->out_dtype_ = out.dtype();
  }
  out.impl().requires_grad = true;
  out.impl().grad_fn = node;
  return out;
}

// ---- running ----
// The bookkeeping of a pass is made and freed on every backward: its blocks
// come from engine/pool.h like the graph's own.
template <class K, class V>
using PoolMap = std::unordered_map<K, V, std::hash<K>, std::equal_to<K>, pool::Allocator<std::pair<const K, V>>>;
template <class K>
using PoolSet = std::unordered_set<K, std::hash<K>, std::equal_to<K>, pool::Allocator<K>>;
using ReadyQueue = std::deque<Node*, pool::Allocator<Node*>>;

// One backward pass: the nodes that lead to the wanted gradients, run in an
// order where every node has all of its output gradient before it runs.
class GraphTask {
 public:
  GraphTask(bool accumulate_into_leaves, bool create_graph, bool retain_graph)
      : accumulate_(accumulate_into_leaves), create_graph_(create_graph), retain_graph_(retain_graph) {}

  // Gradient wanted for this leaf / for the output of this node.
  void want_leaf(TensorImpl* leaf) { wanted_leaves_.insert(leaf); }
  void want_node(Node* n) { wanted_nodes_.insert(n); }

  void run(const std::vector<std::pair<std::shared_ptr<Node>, Tensor>>& roots) {
    for (auto& r : roots) mark_needed(r.first.get());
    count_deps(roots);
    ReadyQueue ready;
    for (auto& r : roots) {
      if (!needed(r.first.get())) continue;
      add_to(pending_[r.first.get()], r.second);
    }
    for (auto& r : roots)
      if (needed(r.first.get()) && deps_[r.first.get()] == 0 && started_.insert(r.first.get()).second)
        ready.push_back(r.first.get());
    GradModeGuard mode(create_graph_);
    while (!ready.empty()) {
      Node* n = ready.front();
      ready.pop_front();
      execute(n, ready);
    }
  }

  PoolMap<const TensorImpl*, Tensor> leaf_grads;
  PoolMap<const Node*, Tensor> node_grads;

 private:
  bool needed(Node* n) { return needed_.count(n) ? needed_[n] : false; }

  bool edge_needed(const Edge& e) {
    if (e.fn) return needed(e.fn.get());
    if (e.leaf) return accumulate_ || wanted_leaves_.count(e.leaf.get());
    return false;
  }

  // A node is needed when it is wanted, or one of its edges leads to
  // something wanted. Iterative post-order so deep graphs don't overflow.
  void mark_needed(Node* root) {
    PoolVector<std::pair<Node*, size_t>> stack;
    if (needed_.count(root)) return;
    needed_[root] = false;
    stack.push_back({root, 0});
    while (!stack.empty()) {
      auto& [n, i] = stack.back();
      if (i < n->next_.size()) {
        const Edge& e = n->next_[i++];
        if (e.fn && !needed_.count(e.fn.get())) {
          needed_[e.fn.get()] = false;
          stack.push_back({e.fn.get(), 0});
        }
        continue;
      }
      bool need = wanted_nodes_.count(n) > 0;
      for (const Edge& e : n->next_) need = need || edge_needed(e);
      needed_[n] = need;
      stack.pop_back();
    }
  }

  void count_deps(const std::vector<std::pair<std::shared_ptr<Node>, Tensor>>& roots) {
    PoolVector<Node*> stack;
    PoolSet<Node*> seen;
    for (auto& r : roots)
      if (needed(r.first.get()) && seen.insert(r.first.get()).second) stack.push_back(r.first.get());
    while (!stack.empty()) {
      Node* n = stack.back();
      stack.pop_back();
      for (const Edge& e : n->next_) {
        if (!e.fn || !needed(e.fn.get())) continue;
        deps_[e.fn.get()]++;
        if (seen.insert(e.fn.get()).second) stack.push_back(e.fn.get());
      }
    }
  }

  static void add_to(Tensor& acc, const Tensor& g) {
    if (!g.defined()) return;
    acc = acc.defined() ? add(acc, g) : g;
  }

  void execute(Node* n, ReadyQueue& ready) {
    Tensor g = pending_[n];
    pending_.erase(n);
    if (wanted_nodes_.count(n) && g.defined()) add_to(node_grads[n], g);

    std::lock_guard<std::recursive_mutex> running(n->running_);
    n->needs_.assign(n->next_.size(), false);
    bool any = false;
    for (size_t i = 0; i < n->next_.size(); ++i) {
      n->needs_[i] = edge_needed(n->next_[i]);
      any = any || n->needs_[i];
    }
    GradList grads;
    if (any && g.defined()) {
      GF_CHECK(static_cast<bool>(n->fn_), n->name_,
               "backward through a graph whose saved state was already freed (pass retain_graph=true)");
      const RunningNode running_node(n->name_);
      grads = n->fn_(*n, g);
      GF_CHECK(grads.size() == n->next_.size(), n->name_,
               "backward returned " << grads.size() << " gradients for " << n->next_.size() << " inputs");
    }
    if (!retain_graph_) n->fn_ = nullptr;  // frees what the backward captured

    for (size_t i = 0; i < n->next_.size(); ++i) {
      const Edge& e = n->next_[i];
      if (!n->needs_[i]) continue;
      Tensor gi = i < grads.size() ? grads[i] : Tensor();
      if (gi.defined()) {
        GF_CHECK(gi.shape() == n->input_shapes_[i], n->name_,
                 "backward gave a gradient of shape " << shape_str(gi.shape()) << " for input " << i
                                                      << " of shape " << shape_str(n->input_shapes_[i]));
        if (!create_graph_) gi = gi.detach();
      }
      if (e.fn) {
        add_to(pending_[e.fn.get()], gi);
        if (--deps_[e.fn.get()] == 0 && started_.insert(e.fn.get()).second) ready.push_back(e.fn.get());
      } else if (e.leaf && gi.defined()) {
        add_to(leaf_grads[e.leaf.get()], gi);
      }
    }
    n->needs_.clear();
  }

  bool accumulate_, create_graph_, retain_graph_;
  PoolSet<const TensorImpl*> wanted_leaves_;
  PoolSet<const Node*> wanted_nodes_;
  PoolMap<Node*, bool> needed_;
  PoolMap<Node*, int> deps_;
  PoolMap<Node*, Tensor> pending_;
  PoolSet<Node*> started_;
};

namespace {

Tensor default_grad_output(const Tensor& out, const Tensor& given, size_t i, const char* op) {
  if (given.defined()) {
    GF_CHECK(given.shape() == out.shape(), op, "grad_outputs[" << i << "] has shape " << shape_str(given.shape())
                                                                << ", output has " << shape_str(out.shape()));
    GF_CHECK(given.device() == out.device(), op, "grad_outputs[" << i << "] is on " << given.device().str()
                                                                  << ", output on " << out.device().str());
    // As torch's engine: a gradient of another dtype is cast to the output's
    // (a float64 one left a float32 leaf's .grad float64, and mixed dtypes
    // failed deep in a backward, named by its op).
    return given.dtype() == out.dtype() ? given : given.to(out.dtype());
  }
  GF_CHECK(out.numel() == 1, op,
           "output " << i << " of shape " << shape_str(out.shape()) << " is not a scalar; pass grad_outputs");
  return ones_like(out);
}

}  // namespace

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool create_graph, bool retain_graph,
                         bool allow_unused) {
  GF_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), "grad",
           grad_outputs.size() << " grad_outputs for " << outputs.size() << " outputs");
  GraphTask task(false, create_graph, retain_graph || create_graph);
  for (size_t i = 0; i < inputs.size(); ++i) {
    GF_CHECK(inputs[i].defined(), "grad", "input " << i << " is an undefined tensor");
    GF_CHECK(inputs[i].requires_grad(), "grad", "input " << i << " does not require grad");
    if (inputs[i].grad_fn())
      task.want_node(inputs[i].grad_fn().get());
    else
      task.want_leaf(inputs[i].impl_ptr().get());
  }
  std::vector<std::pair<std::shared_ptr<Node>, Tensor>> roots;
  std::vector<Tensor> direct(inputs.size());  // an output that is itself an input
  for (size_t i = 0; i < outputs.size(); ++i) {
    GF_CHECK(outputs[i].defined(), "grad", "output " << i << " is an undefined tensor");
    GF_CHECK(outputs[i].requires_grad(), "grad", "output " << i << " does not require grad");
    Tensor g = default_grad_output(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], i, "grad");
    if (outputs[i].grad_fn()) {
      roots.push_back({outputs[i].grad_fn(), g});
    } else {
      for (size_t j = 0; j < inputs.size(); ++j)
        if (inputs[j].same(outputs[i])) direct[j] = direct[j].defined() ? add(direct[j], g) : g;
    }
  }
  task.run(roots);
  std::vector<Tensor> result(inputs.size());
  for (size_t j = 0; j < inputs.size(); ++j) {
    Tensor r;
    if (inputs[j].grad_fn()) {
      auto it = task.node_grads.find(inputs[j].grad_fn().get());
      if (it != task.node_grads.end()) r = it->second;
    } else {
      auto it = task.leaf_grads.find(inputs[j].impl_ptr().get());
      if (it != task.leaf_grads.end()) r = it->second;
    }
    if (direct[j].defined()) r = r.defined() ? add(r, direct[j]) : direct[j];
    GF_CHECK(r.defined() || allow_unused, "grad",
             "input " << j << " (" << inputs[j].desc() << ") is not reached from the outputs (pass allow_unused)");
    if (r.defined() && !create_graph) r = r.detach();
    result[j] = r;
  }
  return result;
}

namespace {

std::mutex& leaf_grad_mutex() {
  static std::mutex* m = new std::mutex();  // never destroyed: a thread may accumulate during exit
  return *m;
}

}  // namespace

void backward(const Tensor& loss, const Tensor& grad_output, bool retain_graph, bool create_graph) {
  GF_CHECK(loss.defined(), "backward", "the tensor is undefined");
  GF_CHECK(loss.requires_grad(), "backward", "the tensor does not require grad");
  Tensor g = default_grad_output(loss, grad_output, 0, "backward");
  // Backwards pass a gradient through unchanged where they can (add, reshape,
  // sum_to of the same shape), so two leaves' gradients, or one and the
  // caller's grad_output, may be one buffer: each .grad gets its own, as
  // torch's AccumulateGrad copies a shared gradient, so that an in-place edit
  // of one (nan_to_num_, an all-reduce) never changes another.
  std::vector<const Storage*> given{g.impl().storage.get()};
  auto accumulate = [&](TensorImpl* leaf, const Tensor& gi) {
    // Passes of several threads may share a leaf (Hogwild-style training):
    // its .grad is read and replaced under one lock, as torch's
    // AccumulateGrad locks (two threads' assignments double-freed it).
    std::lock_guard<std::mutex> lock(leaf_grad_mutex());
    Tensor v = create_graph ? gi : gi.detach();
    if (leaf->grad) {
      GradModeGuard mode(create_graph);
      v = add(Tensor(leaf->grad), v);
    } else if (std::find(given.begin(), given.end(), v.impl().storage.get()) != given.end()) {
      GradModeGuard mode(create_graph);
      v = v.clone();
    }
    given.push_back(v.impl().storage.get());
    leaf->grad = v.impl_ptr();
  };
  if (!loss.grad_fn()) {
    accumulate(loss.impl_ptr().get(), g);
    return;
  }
  GraphTask task(true, create_graph, retain_graph || create_graph);
  task.run({{loss.grad_fn(), g}});
  for (auto& kv : task.leaf_grads) accumulate(const_cast<TensorImpl*>(kv.first), kv.second);
}

}  // namespace gf
