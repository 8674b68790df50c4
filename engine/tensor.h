// Tensor: a contiguous, row-major block of float32/float64 on one device, plus
// the autograd state of the value it holds. Copies are explicit (to, clone);
// reshape is a view that shares storage.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/pool.h"

namespace gf {

// Sizes of a tensor's dims: a std::vector<int64_t> whose blocks come from
// engine/pool.h (every op makes a few and frees them again), and that
// converts to and from a plain std::vector<int64_t> where one is wanted.
class Shape : public std::vector<int64_t, pool::Allocator<int64_t>> {
  using Base = std::vector<int64_t, pool::Allocator<int64_t>>;

 public:
  using Base::Base;
  Shape() = default;
  Shape(const std::vector<int64_t>& v) : Base(v.begin(), v.end()) {}  // NOLINT: implicit on purpose
  operator std::vector<int64_t>() const { return std::vector<int64_t>(begin(), end()); }
};
// Exact overloads, so no comparison has to choose between converting either side.
inline bool operator==(const Shape& a, const Shape& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
inline bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }
inline bool operator==(const Shape& a, const std::vector<int64_t>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}
inline bool operator==(const std::vector<int64_t>& a, const Shape& b) { return b == a; }
inline bool operator!=(const Shape& a, const std::vector<int64_t>& b) { return !(a == b); }
inline bool operator!=(const std::vector<int64_t>& a, const Shape& b) { return !(b == a); }
int64_t shape_numel(const Shape& s);
// A list of dim indices (reductions, permutations), pooled like a shape.
using DimList = Shape;

class Node;

// Owns one allocation from the device's caching allocator (engine/allocator.h).
// `version` counts the in-place writes to it (Tensor::copy_, nan_to_num_),
// shared by every view as torch's version counter is: a backward checks it
// against the version each saved tensor had when its op ran (SavedTensor).
struct Storage {
  Storage(size_t bytes, Device device);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* ptr = nullptr;
  size_t bytes = 0;
  Device device;
  std::atomic<uint32_t> version{0};
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  DType dtype = DType::f32;
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;   // null for leaves and for values outside the graph
  std::shared_ptr<TensorImpl> grad;  // accumulated by backward() on leaves
};

// A fresh, empty impl; its block comes from engine/pool.h.
std::shared_ptr<TensorImpl> new_impl();

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // Uninitialized storage; see ops for zeros/ones/randn.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu());
  // Host round trip, mostly for tests and I/O.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::f32, Device device = Device::cpu());
  static Tensor scalar(double v, DType dtype = DType::f32, Device device = Device::cpu());
  std::vector<double> to_vector() const;
  double item() const;  // one-element tensors only

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  int64_t dim() const { return static_cast<int64_t>(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return shape_numel(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype()); }

  void* raw() const { return impl().storage->ptr; }
  template <class T>
  T* data() const;  // checks that T matches dtype()

  // Autograd state.
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& requires_grad_(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const { return Tensor(impl().grad); }
  void set_grad(const Tensor& g) { impl().grad = g.impl_; }
  void zero_grad() { impl().grad.reset(); }
  Tensor detach() const;  // shares storage, outside the graph

  // Copies and views.
  Tensor to(Device d) const;   // a copy unless already there
  Tensor to(DType t) const;    // a copy unless already that dtype
  Tensor clone() const;        // differentiable copy
  Tensor contiguous() const { return *this; }  // every tensor is dense
  Tensor reshape(const Shape& s) const;        // differentiable view; one size may be -1
  // In-place overwrite with src's values (same shape and dtype, any device),
  // outside the graph: optimizer steps, EMA updates, loading weights. Bumps
  // the storage's version: a pending backward that saved it refuses to run.
  void copy_(const Tensor& src) const;
  // The storage's count of in-place writes (torch's `_version`); in-place
  // ops call bump_version() after writing.
  uint32_t version() const { return impl().storage->version.load(std::memory_order_relaxed); }
  void bump_version() const { impl().storage->version.fetch_add(1, std::memory_order_relaxed); }

  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }
  std::string desc() const;  // "float32[2, 3] on cpu"

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace gf
