// The differentiable op layer. Each op checks its operands, dispatches to the
// CPU or CUDA kernel by device, and records its backward (written with these
// same ops, so it is differentiable again). One file per family in engine/ops/.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/tensor.h"

namespace gf {

// ---- creation (engine/ops/creation.cpp, engine/ops/random.cpp) ----
Tensor full(const Shape& s, double value, DType t = DType::f32, Device d = Device::cpu());
Tensor zeros(const Shape& s, DType t = DType::f32, Device d = Device::cpu());
Tensor ones(const Shape& s, DType t = DType::f32, Device d = Device::cpu());
Tensor zeros_like(const Tensor& x);
Tensor ones_like(const Tensor& x);
Tensor full_like(const Tensor& x, double value);

// Counter-based random numbers (Philox 4x32-10). A generator is a seed and an
// offset; each call takes the next block of counters, so a seed yields the same
// stream of values on the CPU and on the GPU, bit for bit.
struct Generator {
  uint64_t seed = 0;
  uint64_t offset = 0;  // counters consumed so far (each counter gives 4 values)
  explicit Generator(uint64_t s = 0) : seed(s) {}
};
Tensor randn(const Shape& s, Generator& g, DType t = DType::f32, Device d = Device::cpu());
Tensor rand(const Shape& s, Generator& g, DType t = DType::f32, Device d = Device::cpu());  // [0, 1)

// ---- elementwise, broadcasting as in NumPy (engine/ops/elementwise.cpp) ----
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor acos(const Tensor& x);  // radians in [0, pi]; NaN outside [-1, 1], the gradient infinite at +-1
Tensor cos(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor pow(const Tensor& x, double p);
Tensor abs(const Tensor& x);
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor softplus(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double alpha = 0.2);
Tensor affine(const Tensor& x, double scale, double shift);  // x * scale + shift
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);  // cond != 0 ? a : b
Tensor lerp(const Tensor& a, const Tensor& b, const Tensor& t);      // a + t * (b - a), rounded as torch.lerp
Tensor lerp(const Tensor& a, const Tensor& b, double t);
// Piecewise-constant helpers; no gradient flows through them.
Tensor sign(const Tensor& x);
Tensor eq(const Tensor& a, const Tensor& b);  // 1 where equal, else 0
Tensor gt(const Tensor& a, const Tensor& b);  // 1 where a > b, else 0
Tensor leaky_relu_slope(const Tensor& x, double alpha);  // 1 where x > 0, else alpha
Tensor in_range(const Tensor& x, double lo, double hi);  // 1 where lo <= x <= hi, else 0
// NaN -> nan, +inf -> posinf, -inf -> neginf, finite values unchanged (torch.nan_to_num).
Tensor nan_to_num(const Tensor& x, double nan = 0, double posinf = 1e5, double neginf = -1e5);
// The same in place, outside the graph (the optimizer's gradient cleaning).
void nan_to_num_(const Tensor& x, double nan = 0, double posinf = 1e5, double neginf = -1e5);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& x);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(double s, const Tensor& a);

// The shape two operands broadcast to; throws naming `op` when they don't.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);
// Whether `from` broadcasts to `to` itself (torch's expand and in-place
// copy_): no more dims, and each, aligned at the right, equal or 1.
bool broadcasts_to(const Shape& from, const Shape& to);

// ---- reductions (engine/ops/reduce.cpp) ----
// Negative dims count from the end; empty dims means all of them.
Tensor sum(const Tensor& x, DimList dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, DimList dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, DimList dims = {}, bool keepdim = false);  // ties share the gradient; a NaN propagates (torch.amax)
// Sums a broadcast result back to `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

// ---- shape and layout (engine/ops/layout.cpp) ----
Tensor permute(const Tensor& x, DimList dims);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor expand(const Tensor& x, const Shape& shape);  // broadcast to shape (copies)
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor flip(const Tensor& x, DimList dims);  // reverses the order along each of dims
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
// A zero tensor of `shape` with `x` written at slice(dim, start, end, step): slice's backward.
Tensor slice_backward(const Tensor& x, const Shape& shape, int64_t dim, int64_t start, int64_t end,
                      int64_t step = 1);

// ---- matmul (engine/ops/matmul.cpp) ----
// a: [..., M, K] (or [..., K, M] with trans_a), b: [..., K, N] (or [..., N, K]
// with trans_b). Batch dims must match, or one side is 2-D and is shared.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

// ---- convolution (engine/ops/conv.cpp), NCHW, PyTorch weight layouts ----
struct Conv2dParams {
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int groups = 1;
};
// x: [N, Cin, H, W], w: [Cout, Cin/groups, kh, kw].
Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dParams& p = {});
// x: [N, Cin, H, W], w: [Cin, Cout/groups, kh, kw]; output_padding adds rows/cols at the end.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Conv2dParams& p = {},
                        int output_pad_h = 0, int output_pad_w = 0);
// Gradient of conv2d with respect to its weight: x [N, Cin, H, W], gy [N, Cout, Ho, Wo].
Tensor conv2d_weight_grad(const Tensor& x, const Tensor& gy, const Shape& w_shape,
                          const Conv2dParams& p = {});
// For tests: the most elements a convolution's x or y may hold in one kernel
// call (default INT_MAX, cuDNN's limit), above which a call runs in slices of
// samples and groups; returns the previous limit.
int64_t set_conv_call_elements_for_test(int64_t limit);

}  // namespace gf
