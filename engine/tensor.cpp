#include "engine/tensor.h"

#include <cstdlib>
#include <cstring>

#include "engine/allocator.h"
#include "engine/autograd.h"
#include "engine/dispatch.h"
#include "kernels/strided_copy.h"

namespace gf {

int64_t shape_numel(const Shape& s) {
  for (int64_t v : s)
    if (v == 0) return 0;
  // A count that wraps (a huge reshape target) read as a small one, and the
  // view's index math ran past its buffer.
  int64_t n = 1;
  for (int64_t v : s)
    if (__builtin_mul_overflow(n, v, &n))  // then its byte count too
      throw Error("tensor: shape " + shape_str(s) + " is too large (its byte count overflows 64 bits)");
  return n;
}

Storage::Storage(size_t n, Device d) : bytes(n), device(d) {
  if (d.is_cuda()) {
    check_device_usable(d);
    ptr = cuda_allocator(d.index).allocate(n);
  } else {
    ptr = cpu_allocator().allocate(n);
  }
}

Storage::~Storage() {
  if (device.is_cuda())
    cuda_allocator(device.index).release(ptr);
  else
    cpu_allocator().release(ptr);
}

// Impls and storages are made and freed by every op: their blocks (with
// shared_ptr's control block) come from engine/pool.h.
std::shared_ptr<TensorImpl> new_impl() { return std::allocate_shared<TensorImpl>(pool::Allocator<TensorImpl>()); }

TensorImpl& Tensor::impl() const {
  if (!impl_) throw Error("tensor: use of an undefined tensor");
  return *impl_;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  GF_CHECK(shape.size() <= static_cast<size_t>(kMaxDims), "tensor",
           "shape " << shape_str(shape) << " has more than " << kMaxDims << " dims");
  for (int64_t v : shape) GF_CHECK(v >= 0, "tensor", "negative size in shape " << shape_str(shape));
  // The byte count must not wrap (a wrapped product read as 0 or a small
  // size, and later index math ran past the buffer), as torch's storage
  // check; shape_numel refuses an element count that wraps.
  GF_CHECK(shape_numel(shape) <= INT64_MAX / int64_t(dtype_size(dtype)), "tensor",
           "shape " << shape_str(shape) << " is too large (its byte count overflows 64 bits)");
  GF_CHECK(dtype == DType::f32 || dtype == DType::f64, "tensor",
           "dtype " << dtype_name(dtype) << " is reserved for mixed precision and not yet usable");
  auto impl = new_impl();
  impl->storage = std::allocate_shared<Storage>(pool::Allocator<Storage>(),
                                                static_cast<size_t>(shape_numel(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor Tensor::from_vector(const std::vector<double>& v, const Shape& shape, DType dtype, Device device) {
  GF_CHECK(static_cast<int64_t>(v.size()) == shape_numel(shape), "from_vector",
           v.size() << " values for shape " << shape_str(shape));
  Tensor host = empty(shape, dtype, Device::cpu());
  dispatch_float(dtype, "from_vector", [&](auto tag) {
    using T = decltype(tag);
    T* p = host.data<T>();
    for (size_t i = 0; i < v.size(); ++i) p[i] = static_cast<T>(v[i]);
  });
  return device.is_cpu() ? host : host.to(device);
}

Tensor Tensor::scalar(double v, DType dtype, Device device) {
  Tensor host = empty({}, dtype, Device::cpu());
  dispatch_float(dtype, "scalar", [&](auto tag) {
    using T = decltype(tag);
    *host.data<T>() = static_cast<T>(v);
  });
  return device.is_cpu() ? host : host.to(device);
}

std::vector<double> Tensor::to_vector() const {
  Tensor host = device().is_cpu() ? *this : detach().to(Device::cpu());
  std::vector<double> out(static_cast<size_t>(numel()));
  dispatch_float(dtype(), "to_vector", [&](auto tag) {
    using T = decltype(tag);
    const T* p = host.data<T>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<double>(p[i]);
  });
  return out;
}

double Tensor::item() const {
  GF_CHECK(numel() == 1, "item", "tensor of shape " << shape_str(shape()) << " has " << numel() << " elements");
  return to_vector()[0];
}

int64_t Tensor::size(int64_t d) const { return shape()[static_cast<size_t>(normalize_dim(d, dim(), "size"))]; }

template <class T>
T* Tensor::data() const {
  constexpr DType want = std::is_same<T, float>::value ? DType::f32 : DType::f64;
  GF_CHECK(dtype() == want, "data", "tensor is " << dtype_name(dtype()) << ", asked for " << dtype_name(want));
  return static_cast<T*>(raw());
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;

Tensor& Tensor::requires_grad_(bool on) {
  GF_CHECK(is_leaf() || on, "requires_grad_", "cannot turn off requires_grad on a non-leaf; use detach()");
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::detach() const {
  auto impl = new_impl();
  impl->storage = this->impl().storage;
  impl->shape = shape();
  impl->dtype = dtype();
  return Tensor(std::move(impl));
}

std::string Tensor::desc() const {
  if (!defined()) return "undefined tensor";
  return std::string(dtype_name(dtype())) + shape_str(shape()) + " on " + device().str();
}

// Raw copy of the whole buffer across devices (no graph).
static Tensor copy_to_device(const Tensor& x, Device d) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), d);
  const size_t n = x.nbytes();
  if (x.device().is_cpu() && d.is_cpu()) {
    std::memcpy(out.raw(), x.raw(), n);
  } else {
#ifdef GF_WITH_CUDA
    if (x.device().is_cpu()) {
      cuda::copy(out.raw(), x.raw(), n, cuda::CopyKind::HostToDevice, d.index);
    } else if (d.is_cpu()) {
      cuda::copy(out.raw(), x.raw(), n, cuda::CopyKind::DeviceToHost, x.device().index);
    } else {
      cuda::copy_peer(out.raw(), d.index, x.raw(), x.device().index, n);
    }
#else
    throw_no_cuda("to");
#endif
  }
  return out;
}

Tensor Tensor::to(Device d) const {
  if (device() == d) return *this;
  Tensor out = copy_to_device(*this, d);
  const Device src = device();
  return record_op("to_device", out, {*this},
                   [src](Node&, const Tensor& g) { return GradList{g.to(src)}; });
}

Tensor Tensor::to(DType t) const {
  if (dtype() == t) return *this;
  Tensor out = empty(shape(), t, device());
  const int64_t n = numel();
  if (dtype() == DType::f32 && t == DType::f64) {
    if (device().is_cuda())
      GF_CUDA_CALL("to", cuda::convert<float, double>(out.data<double>(), data<float>(), n, stream_of(device())));
    else
      cpu::convert<float, double>(out.data<double>(), data<float>(), n);
  } else if (dtype() == DType::f64 && t == DType::f32) {
    if (device().is_cuda())
      GF_CUDA_CALL("to", cuda::convert<double, float>(out.data<float>(), data<double>(), n, stream_of(device())));
    else
      cpu::convert<double, float>(out.data<float>(), data<double>(), n);
  } else {
    throw Error(std::string("to: conversion ") + dtype_name(dtype()) + " -> " + dtype_name(t) + " is not supported");
  }
  const DType src = dtype();
  return record_op("to_dtype", out, {*this},
                   [src](Node&, const Tensor& g) { return GradList{g.to(src)}; });
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device());
  if (device().is_cuda())
    GF_CUDA_CALL("clone", cuda::copy(out.raw(), raw(), nbytes(), cuda::CopyKind::DeviceToDevice, device().index));
  else
    std::memcpy(out.raw(), raw(), nbytes());
  return record_op("clone", out, {*this}, [](Node&, const Tensor& g) { return GradList{g}; });
}

void Tensor::copy_(const Tensor& src) const {
  GF_CHECK(src.shape() == shape() && src.dtype() == dtype(), "copy_",
           "cannot copy " << src.desc() << " into " << desc());
  if (src.raw() == raw()) return;
  const Tensor from = src.device() == device() ? src : src.detach().to(device());
  if (device().is_cuda())
    GF_CUDA_CALL("copy_", cuda::copy(raw(), from.raw(), nbytes(), cuda::CopyKind::DeviceToDevice, device().index));
  else
    std::memcpy(raw(), from.raw(), nbytes());
  bump_version();
}

Tensor Tensor::reshape(const Shape& s) const {
  Shape target = s;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      GF_CHECK(infer < 0, "reshape", "more than one -1 in " << shape_str(s));
      infer = static_cast<int64_t>(i);
    } else {
      GF_CHECK(target[i] >= 0, "reshape", "negative size in " << shape_str(s));
      GF_CHECK(!__builtin_mul_overflow(known, target[i], &known), "reshape",
               "cannot reshape " << shape_str(shape()) << " to " << shape_str(s) << ": too many elements");
    }
  }
  if (infer >= 0) {
    GF_CHECK(known > 0 && numel() % known == 0, "reshape",
             "cannot reshape " << shape_str(shape()) << " to " << shape_str(s));
    target[static_cast<size_t>(infer)] = numel() / known;
  }
  GF_CHECK(shape_numel(target) == numel(), "reshape",
           "cannot reshape " << shape_str(shape()) << " (" << numel() << " elements) to " << shape_str(s));
  GF_CHECK(target.size() <= static_cast<size_t>(kMaxDims), "reshape", "more than " << kMaxDims << " dims");
  auto impl = new_impl();
  impl->storage = this->impl().storage;
  impl->shape = target;
  impl->dtype = dtype();
  const Shape src = shape();
  return record_op("reshape", Tensor(std::move(impl)), {*this},
                   [src](Node&, const Tensor& g) { return GradList{g.reshape(src)}; });
}

// ---- dispatch helpers ----

void check_same(const char* op, const Tensor* ts, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    GF_CHECK(ts[i].defined(), op, "operand " << i << " is undefined");
    if (i == 0) continue;
    GF_CHECK(ts[i].device() == ts[0].device(), op,
             "operands on different devices: " << ts[0].desc() << " and " << ts[i].desc());
    GF_CHECK(ts[i].dtype() == ts[0].dtype(), op,
             "operands of different dtypes: " << ts[0].desc() << " and " << ts[i].desc());
  }
}

Dims to_dims(const Shape& s) {
  Dims d;
  d.ndim = static_cast<int>(s.size());
  for (size_t i = 0; i < s.size(); ++i) d.size[i] = s[i];
  return d;
}

Strides contiguous_strides(const Shape& s) {
  Strides st;
  int64_t acc = 1;
  for (int i = static_cast<int>(s.size()) - 1; i >= 0; --i) {
    st.v[i] = acc;
    acc *= s[static_cast<size_t>(i)];
  }
  return st;
}

Strides broadcast_strides(const Shape& s, const Shape& out) {
  Strides own = contiguous_strides(s);
  Strides st;
  const size_t lead = out.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i) st.v[lead + i] = (s[i] == 1 && out[lead + i] != 1) ? 0 : own.v[i];
  return st;
}

int64_t normalize_dim(int64_t d, int64_t ndim, const char* op) {
  GF_CHECK(d >= -ndim && d < ndim, op, "dim " << d << " out of range for " << ndim << " dims");
  return d < 0 ? d + ndim : d;
}

}  // namespace gf
