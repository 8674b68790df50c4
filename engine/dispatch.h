// Helpers for the op layer: dtype dispatch, the CUDA call switch for builds
// without a toolkit, and common operand checks.
#pragma once
#include <initializer_list>
#include <type_traits>
#include <vector>

#include "engine/error.h"
#include "engine/profile.h"
#include "engine/tensor.h"
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

// Runs f(T{}) with T the C++ type of dtype `t` (float or double). Every op's
// kernel call passes here, so this is where the profiler times ops.
template <class F>
decltype(auto) dispatch_float(DType t, const char* op, F&& f) {
  const profile::OpTimer timer(op);
  switch (t) {
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    default: break;
  }
  throw Error(std::string(op) + ": dtype " + dtype_name(t) + " is not supported");
}

[[noreturn]] inline void throw_no_cuda(const char* op) {
  throw Error(std::string(op) + ": this build of ganforge has no CUDA backend");
}

#ifdef GF_WITH_CUDA
#define GF_CUDA_CALL(op, ...) __VA_ARGS__
inline cuda::Stream stream_of(const Device& d) { return cuda::stream(d.index); }
#else
#define GF_CUDA_CALL(op, ...) ::gf::throw_no_cuda(op)
inline cuda::Stream stream_of(const Device&) { return nullptr; }
#endif

// All tensors defined, on one device, of one dtype. The list form takes no
// heap block (ops call it with a braced list every time they run).
void check_same(const char* op, const Tensor* ts, size_t n);
inline void check_same(const char* op, std::initializer_list<Tensor> ts) { check_same(op, ts.begin(), ts.size()); }
inline void check_same(const char* op, const std::vector<Tensor>& ts) { check_same(op, ts.data(), ts.size()); }

// Dims/strides records for kernels.
Dims to_dims(const Shape& s);
Strides contiguous_strides(const Shape& s);
// Strides of `s` read as broadcast into `out` (right-aligned, 0 where broadcast).
Strides broadcast_strides(const Shape& s, const Shape& out);

int64_t normalize_dim(int64_t d, int64_t ndim, const char* op);

}  // namespace gf
