// Reverse-mode autograd on a dynamic tape, as in PyTorch.
//
// An op run with grad mode on, on inputs that require grad, records a Node
// holding its backward: a function of the output gradient that returns one
// gradient per input, written with engine ops. Running that backward with
// grad mode on (create_graph) records it in turn, so gradients of gradients
// come for free to any order.
#pragma once
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/pool.h"
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

// ---- saved tensors ---------------------------------------------------------
// A tensor a backward reads (an input or output of its op), with its
// storage's version (Tensor::version) when the op ran. Reading its values
// after an in-place write to that storage (copy_, nan_to_num_) throws, as
// torch's SavedVariable::unpack does, where the gradient would silently be
// computed from the new values. The check is made where the values are
// read, so a saved tensor the pass does not need never refuses it. Its
// shape, dtype and device are read unchecked: no in-place write changes them.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(Tensor t)  // NOLINT: implicit, so an op captures `x = SavedTensor(x)` and reads it as before
      : t_(std::move(t)), version_(t_.defined() ? t_.version() : 0) {}
  const Tensor& get() const;  // the tensor, after the version check
  operator const Tensor&() const { return get(); }  // NOLINT: implicit, as get()
  bool defined() const { return t_.defined(); }
  const Shape& shape() const { return t_.shape(); }
  int64_t dim() const { return t_.dim(); }
  int64_t size(int64_t d) const { return t_.size(d); }
  DType dtype() const { return t_.dtype(); }
  Device device() const { return t_.device(); }

 private:
  Tensor t_;
  uint32_t version_ = 0;
};

// ---- graph -----------------------------------------------------------------
// Where the gradient of one input goes: the node that produced it, or the leaf
// whose .grad accumulates it. Both empty: that input needs no gradient.
struct Edge {
  std::shared_ptr<Node> fn;
  std::shared_ptr<TensorImpl> leaf;
  bool valid() const { return fn || leaf; }
};

template <class T>
using PoolVector = std::vector<T, pool::Allocator<T>>;
// One gradient per input, as a backward returns them (ops' files call it Grads).
using GradList = PoolVector<Tensor>;

// A node's backward: a callable (Node& self, const Tensor& grad_out) returning
// one gradient per input (a GradList, or a std::vector<Tensor>, which is
// copied into one). Like a move-only std::function, but the closure's block
// comes from engine/pool.h: every op records one, and std::function would
// take most of them from malloc.
class BackwardFn {
 public:
  BackwardFn() noexcept = default;
  BackwardFn(std::nullptr_t) noexcept {}  // NOLINT: implicit, as std::function's
  template <class F, class D = std::decay_t<F>,
            class = std::enable_if_t<!std::is_same<D, BackwardFn>::value && !std::is_same<D, std::nullptr_t>::value>>
  BackwardFn(F&& f) {  // NOLINT: implicit, as std::function's
    static_assert(alignof(D) <= 16, "pool blocks are 16-byte aligned");
    static constexpr Ops ops{&call_as<D>, &destroy_as<D>};
    void* mem = pool::allocate(sizeof(D));
    try {
      obj_ = new (mem) D(std::forward<F>(f));
    } catch (...) {
      pool::release(mem, sizeof(D));
      throw;
    }
    ops_ = &ops;
  }
  BackwardFn(BackwardFn&& o) noexcept : obj_(o.obj_), ops_(o.ops_) {
    o.obj_ = nullptr;
    o.ops_ = nullptr;
  }
  BackwardFn& operator=(BackwardFn&& o) noexcept {
    if (this != &o) {
      reset();
      obj_ = o.obj_;
      ops_ = o.ops_;
      o.obj_ = nullptr;
      o.ops_ = nullptr;
    }
    return *this;
  }
  BackwardFn& operator=(std::nullptr_t) noexcept {
    reset();
    return *this;
  }
  BackwardFn(const BackwardFn&) = delete;
  BackwardFn& operator=(const BackwardFn&) = delete;
  ~BackwardFn() { reset(); }

  explicit operator bool() const noexcept { return obj_ != nullptr; }
  GradList operator()(Node& self, const Tensor& grad_out) const { return ops_->call(obj_, self, grad_out); }

 private:
  struct Ops {
    GradList (*call)(void*, Node&, const Tensor&);
    void (*destroy)(void*) noexcept;
  };
  template <class D>
  static GradList call_as(void* o, Node& self, const Tensor& g) {
    using R = decltype((*static_cast<D*>(o))(self, g));
    if constexpr (std::is_same<std::decay_t<R>, GradList>::value) {
      return (*static_cast<D*>(o))(self, g);
    } else {
      R r = (*static_cast<D*>(o))(self, g);
      return GradList(std::make_move_iterator(r.begin()), std::make_move_iterator(r.end()));
    }
  }
  template <class D>
  static void destroy_as(void* o) noexcept {
    static_cast<D*>(o)->~D();
    pool::release(o, sizeof(D));
  }
  void reset() noexcept {
    if (obj_) ops_->destroy(obj_);
    obj_ = nullptr;
    ops_ = nullptr;
  }
  void* obj_ = nullptr;
  const Ops* ops_ = nullptr;
};

class Node : public std::enable_shared_from_this<Node> {
 public:
  // Returns one gradient per input; an entry may be left undefined when
  // !self.needs_input_grad(i) (the input's gradient is not wanted).
  using BackwardFn = gf::BackwardFn;

  // `name` is a string literal (kept as a pointer: nodes are made per op).
  Node(const char* name, BackwardFn fn) : name_(name), fn_(std::move(fn)) {}
  // Frees the graph behind it without recursion: a chain of many thousands
  // of ops (each node owning the next through its edges and captured
  // tensors) overflowed the stack when its last node went.
  ~Node();

  const char* name() const { return name_; }
  const PoolVector<Edge>& next() const { return next_; }
  // During backward: whether input i's gradient is wanted by this pass.
  bool needs_input_grad(size_t i) const { return i < needs_.size() && needs_[i]; }
  // The op's output, re-attached to this node, for backwards that reuse it
  // (exp, sqrt, sigmoid). Saved without a reference cycle; checked for
  // in-place writes since as a SavedTensor is.
  Tensor saved_output() const;

 private:
  friend Tensor record_op_n(const char*, Tensor, const Tensor*, size_t, BackwardFn, bool);
  friend class GraphTask;
  const char* name_;
  BackwardFn fn_;
  PoolVector<Edge> next_;
  PoolVector<Shape> input_shapes_;
  PoolVector<DType> input_dtypes_;
  PoolVector<bool> needs_;
  // Held while a pass runs this node (needs_, fn_): passes of several
  // threads through one graph (retain_graph) take turns at a shared node;
  // they overwrote each other's needs_ (a gradient lost without a word).
  // Recursive: a backward that runs a pass of its own may meet its node.
  std::recursive_mutex running_;
  std::shared_ptr<Storage> out_storage_;
  uint32_t out_version_ = 0;
  Shape out_shape_;
  DType out_dtype_ = DType::f32;
};

// Attaches `out` to the graph when grad mode is on and any input requires
// grad; returns `out` either way. `save_output` keeps the output's storage for
// Node::saved_output(). `name` is a string literal. The braced-list form
// (what ops call) takes no heap block for the list.
Tensor record_op_n(const char* name, Tensor out, const Tensor* inputs, size_t n_inputs, BackwardFn backward,
                   bool save_output);
inline Tensor record_op(const char* name, Tensor out, std::initializer_list<Tensor> inputs, BackwardFn backward,
                        bool save_output = false) {
  return record_op_n(name, std::move(out), inputs.begin(), inputs.size(), std::move(backward), save_output);
}
inline Tensor record_op(const char* name, Tensor out, const std::vector<Tensor>& inputs, BackwardFn backward,
                        bool save_output = false) {
  return record_op_n(name, std::move(out), inputs.data(), inputs.size(), std::move(backward), save_output);
}

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
