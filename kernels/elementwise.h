// Elementwise kernels: unary ops with up to three scalar parameters, and binary
// and ternary ops over a broadcast iteration space (operand strides of 0
// broadcast). The per-element formulas live in elementwise_ops.h and are shared
// by the CPU reference and the CUDA kernels.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

enum class UnaryOp {
  neg, exp, log, sqrt, rsqrt, square, pow, abs, sign, clamp, softplus, sigmoid, relu, leaky_relu,
  affine,            // x * a + b
  leaky_relu_slope,  // x > 0 ? 1 : a
  relu_gate,         // x <= 0 ? 0 : 1 (1 at NaN: torch's threshold_backward)
  in_range,          // a <= x <= b ? 1 : 0
  nan_to_num,        // NaN -> a, +inf -> b, -inf -> c, finite x unchanged
  acos, cos, sin,    // radians
};
enum class BinaryOp { add, sub, mul, div, eq, gt };
enum class TernaryOp { where, lerp };  // where(c, x, y) = c != 0 ? x : y; lerp(x, y, t) = x + t * (y - x), formed as torch does

namespace cpu {
template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, double a, double b, double c = 0);
template <class T>
void binary(BinaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, T* out, const Dims& d);
template <class T>
void ternary(TernaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, const T* c,
             const Strides& sc, T* out, const Dims& d);
}  // namespace cpu

namespace cuda {
template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, double a, double b, double c, Stream s);
template <class T>
void binary(BinaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, T* out, const Dims& d,
            Stream s);
template <class T>
void ternary(TernaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, const T* c,
             const Strides& sc, T* out, const Dims& d, Stream s);
}  // namespace cuda

// True when `s` are the row-major strides of `d` (no broadcasting): the flat fast path applies.
inline bool is_dense(const Strides& s, const Dims& d) {
  int64_t acc = 1;
  for (int k = d.ndim - 1; k >= 0; --k) {
    if (d.size[k] != 1 && s.v[k] != acc) return false;
    acc *= d.size[k];
  }
  return true;
}

}  // namespace gf
