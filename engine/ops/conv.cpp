// conv2d, conv_transpose2d and conv2d_weight_grad are the three passes of one
// convolution, and each is linear in each operand, so their gradients are each
// other and the family is closed under differentiation:
//   y  = conv2d(x, w)                 dx = conv_transpose2d(gy, w)    dw = conv2d_weight_grad(x, gy)
//   y  = conv_transpose2d(x, w)       dx = conv2d(gy, w)              dw = conv2d_weight_grad(gy, x)
//   gw = conv2d_weight_grad(x, gy)    dx = conv_transpose2d(gy, ggw)  dgy = conv2d(x, ggw)
// A transposed convolution is the data gradient of the forward convolution
// whose input has the transposed output's size, so all three run on the
// kernels' description of that forward convolution.
#include <algorithm>
#include <array>
#include <climits>
#include <ostream>
#include <utility>
#include <vector>

#include "engine/dispatch.h"
#include "engine/flop_count.h"
#include "engine/ops.h"
#include "kernels/conv2d.h"

namespace gf {
namespace {

using Grads = GradList;

// An op's own arguments, for error messages: formatted only when a check fails.
struct Args {
  std::array<std::pair<const char*, const Shape*>, 3> operands;  // unused slots have no name
  Conv2dParams p;
};

std::ostream& operator<<(std::ostream& os, const Args& a) {
  os << "(";
  for (const auto& [name, shape] : a.operands)
    if (name) os << name << " " << shape_str(*shape) << ", ";
  return os << "stride " << a.p.stride_h << "x" << a.p.stride_w << ", padding " << a.p.pad_h << "x" << a.p.pad_w
            << ", groups " << a.p.groups << ")";
}

void check_rank4(const char* op, const char* name, const Shape& s, const char* layout) {
  GF_CHECK(s.size() == 4, op, name << " must be " << layout << ", got " << shape_str(s));
}

// Checks the forward convolution of x [N, C, H, W] with w [K, C/groups, kh, kw]
// and describes it for the kernels.
Conv2dShape forward_geometry(const char* op, const Args& args, const Shape& x, const Shape& w) {
  const Conv2dParams& p = args.p;
  GF_CHECK(p.stride_h > 0 && p.stride_w > 0, op, "stride must be positive " << args);
  GF_CHECK(p.pad_h >= 0 && p.pad_w >= 0, op, "padding must be non-negative " << args);
  GF_CHECK(p.groups > 0, op, "groups must be positive " << args);
  GF_CHECK(x[0] >= 0 && x[1] > 0 && x[2] > 0 && x[3] > 0 && w[0] > 0 && w[1] > 0 && w[2] > 0 && w[3] > 0, op,
           "sizes must be positive " << args);
  GF_CHECK(x[1] % p.groups == 0 && w[0] % p.groups == 0 && w[1] * p.groups == x[1], op,
           "channels do not match groups: need input and output channels divisible by groups and weight dim 1 = "
           "input channels / groups "
               << args);
  // In int64: twice a pad near INT_MAX overflowed int (a pad of INT_MAX acted as -1).
  GF_CHECK(x[2] + 2 * int64_t(p.pad_h) >= w[2] && x[3] + 2 * int64_t(p.pad_w) >= w[3], op,
           "output size < 1: the kernel is larger than the padded input " << args);
  const int64_t out_h = conv_out_size(x[2], w[2], p.pad_h, p.stride_h);
  const int64_t out_w = conv_out_size(x[3], w[3], p.pad_w, p.stride_w);
  // The kernels index the padded input in int (output * stride - pad + tap):
  // a huge pad with a huge stride gives a small output, and overflowed there.
  for (int64_t v : {x[0], x[1], x[2], x[3], w[0], w[2], w[3], out_h, out_w, x[2] + 2 * int64_t(p.pad_h),
                    x[3] + 2 * int64_t(p.pad_w)})
    GF_CHECK(v <= INT_MAX, op, "sizes exceed the int range of the kernels " << args);
  Conv2dShape s;
  s.n = static_cast<int>(x[0]);
  s.c = static_cast<int>(x[1]);
  s.h = static_cast<int>(x[2]);
  s.w = static_cast<int>(x[3]);
  s.k = static_cast<int>(w[0]);
  s.kh = static_cast<int>(w[2]);
  s.kw = static_cast<int>(w[3]);
  s.out_h = static_cast<int>(out_h);
  s.out_w = static_cast<int>(out_w);
  s.pad_h = p.pad_h;
  s.pad_w = p.pad_w;
  s.stride_h = p.stride_h;
  s.stride_w = p.stride_w;
  s.groups = p.groups;
  return s;
}

// The output padding that makes the data gradient of a convolution come back
// at the input's exact size: the rows (cols) the strided forward never reached.
int output_padding(int64_t in, int64_t out, int64_t kernel, int pad, int stride) {
  return static_cast<int>(in - ((out - 1) * stride - 2 * int64_t(pad) + kernel));
}

// The most elements one kernel call may hold in its image-side operands (x
// and y): cuDNN's legacy descriptors take int sizes and strides and refuse
// tensors of 2^31 elements or more (at 1024x1024, [64, 32, 1025, 1025]).
int64_t g_call_elements = INT_MAX;

// Calls one pass on raw operands, with its workspace (cuDNN's; on the CPU the
// im2col columns or oneDNN's reordered tensors and scratchpad) from the
// caching allocator like any tensor, so steady-state steps never reach
// cudaMalloc or malloc.
template <class T>
void call_pass(const char* op, ConvPass pass, const Conv2dShape& s, const T* pa, const T* pb, T* po, const Tensor& like) {
  // Every pass makes the forward's multiply-adds.
  flop_count::add(2 * uint64_t(s.n) * uint64_t(s.k) * uint64_t(s.out_h) * uint64_t(s.out_w) *
                  uint64_t(s.c / s.groups) * uint64_t(s.kh) * uint64_t(s.kw));
  auto workspace = [&](size_t bytes) {
    return bytes ? Tensor::empty({static_cast<int64_t>((bytes + sizeof(T) - 1) / sizeof(T))}, like.dtype(), like.device())
                 : Tensor();
  };
  if (like.device().is_cuda()) {
    GF_CUDA_CALL(op, {
      const int dev = like.device().index;
      const size_t bytes = cuda::conv2d_workspace_bytes<T>(pass, s, dev);
      const Tensor ws = workspace(bytes);
      void* wp = bytes ? ws.raw() : nullptr;
      switch (pass) {
        case ConvPass::forward: cuda::conv2d_forward<T>(s, pa, pb, po, wp, bytes, dev); break;
        case ConvPass::backward_data: cuda::conv2d_backward_data<T>(s, pa, pb, po, wp, bytes, dev); break;
        case ConvPass::backward_filter: cuda::conv2d_backward_filter<T>(s, pa, pb, po, wp, bytes, dev); break;
      }
    });
  } else {
    const size_t bytes = cpu::conv2d_workspace_bytes<T>(pass, s);
    const Tensor ws = workspace(bytes);
    void* wp = bytes ? ws.raw() : nullptr;
    switch (pass) {
      case ConvPass::forward: cpu::conv2d_forward<T>(s, pa, pb, po, wp, bytes); break;
      case ConvPass::backward_data: cpu::conv2d_backward_data<T>(s, pa, pb, po, wp, bytes); break;
      case ConvPass::backward_filter: cpu::conv2d_backward_filter<T>(s, pa, pb, po, wp, bytes); break;
    }
  }
}

// Runs one pass into a new tensor of `out_shape`; a and b are the pass's
// operands in the kernels' order (forward: x, w -> y; backward_data: gy, w ->
// dx; backward_filter: x, gy -> dw). A pass whose x or y reaches
// g_call_elements runs in slices: samples, and within one sample contiguous
// runs of groups (the fused modulated conv's [1, N*C, H, W]); the weight
// gradient sums the samples' slices in order.
Tensor run_pass(const char* op, ConvPass pass, const Conv2dShape& s, const Tensor& a, const Tensor& b,
                const Shape& out_shape) {
  if (s.n == 0) return zeros(out_shape, a.dtype(), a.device());  // empty batch: nothing to convolve, dw = 0
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  const int64_t x_sample = int64_t(s.c) * s.h * s.w, y_sample = int64_t(s.k) * s.out_h * s.out_w;
  const int64_t per_sample = std::max(x_sample, y_sample);
  const int64_t per_group = per_sample / s.groups;
  GF_CHECK(per_group < g_call_elements, op,
           "one group of one sample holds " << per_group << " elements, more than a convolution call takes ("
                                            << g_call_elements << ")");
  // Samples per call, and (one sample a call) groups per call.
  const int64_t samples = std::max<int64_t>(1, (g_call_elements - 1) / per_sample);
  const int64_t groups = per_sample < g_call_elements ? s.groups : (g_call_elements - 1) / per_group;
  dispatch_float(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T *pa = a.data<T>(), *pb = b.data<T>();
    T* po = out.data<T>();
    if (samples >= s.n && groups >= s.groups) return call_pass<T>(op, pass, s, pa, pb, po, a);
    // Offsets of operand slices, in elements: image-side operands move by
    // samples and groups, the weight (or its gradient) by groups only.
    const int64_t x_group = x_sample / s.groups, y_group = y_sample / s.groups;
    const int64_t w_group = int64_t(s.k / s.groups) * (s.c / s.groups) * s.kh * s.kw;
    const int64_t a_sample = pass == ConvPass::backward_data ? y_sample : x_sample;
    const int64_t a_group = pass == ConvPass::backward_data ? y_group : x_group;
    const int64_t b_sample = pass == ConvPass::backward_filter ? y_sample : 0;
    const int64_t b_group = pass == ConvPass::backward_filter ? y_group : w_group;
    const int64_t o_sample = pass == ConvPass::forward ? y_sample : pass == ConvPass::backward_data ? x_sample : 0;
    const int64_t o_group = pass == ConvPass::forward ? y_group : pass == ConvPass::backward_data ? x_group : w_group;
    Tensor partial;  // the weight gradient of the samples after the first
    for (int64_t n0 = 0; n0 < s.n; n0 += samples) {
      const int64_t nb = std::min<int64_t>(samples, s.n - n0);
      T* target = po;
      if (pass == ConvPass::backward_filter && n0 > 0) {
        if (!partial.defined()) partial = Tensor::empty(out_shape, a.dtype(), a.device());
        target = partial.data<T>();
      }
      for (int64_t g0 = 0; g0 < s.groups; g0 += groups) {
        const int64_t gb = std::min<int64_t>(groups, s.groups - g0);
        Conv2dShape part = s;
        part.n = static_cast<int>(nb);
        part.groups = static_cast<int>(gb);
        part.c = static_cast<int>(s.c / s.groups * gb);
        part.k = static_cast<int>(s.k / s.groups * gb);
        call_pass<T>(op, pass, part, pa + n0 * a_sample + g0 * a_group, pb + n0 * b_sample + g0 * b_group,
                     target + n0 * o_sample + g0 * o_group, a);
      }
      if (target != po) {
        GradModeGuard no_grad(false);
        out = add(out, partial);
        po = out.data<T>();
      }
    }
  });
  return out;
}

}  // namespace

int64_t set_conv_call_elements_for_test(int64_t limit) {
  GF_CHECK(limit > 0 && limit <= INT_MAX, "set_conv_call_elements_for_test", "limit must be in [1, INT_MAX], got " << limit);
  return std::exchange(g_call_elements, limit);
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  const char* op = "conv2d";
  check_same(op, {x, w});
  check_rank4(op, "x", x.shape(), "[N, Cin, H, W]");
  check_rank4(op, "w", w.shape(), "[Cout, Cin/groups, kh, kw]");
  const Args args{{{{"x", &x.shape()}, {"w", &w.shape()}, {}}}, p};
  const Conv2dShape s = forward_geometry(op, args, x.shape(), w.shape());
  Tensor y = run_pass(op, ConvPass::forward, s, x, w, {s.n, s.k, s.out_h, s.out_w});
  return record_op(op, y, {x, w}, [x = SavedTensor(x), w = SavedTensor(w), p](Node& self, const Tensor& gy) {
    Grads g(2);
    if (self.needs_input_grad(0))
      g[0] = conv_transpose2d(gy, w, p, output_padding(x.size(2), gy.size(2), w.size(2), p.pad_h, p.stride_h),
                              output_padding(x.size(3), gy.size(3), w.size(3), p.pad_w, p.stride_w));
    if (self.needs_input_grad(1)) g[1] = conv2d_weight_grad(x, gy, w.shape(), p);
    return g;
  });
}

Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const Conv2dParams& p, int output_pad_h, int output_pad_w) {
  const char* op = "conv_transpose2d";
  check_same(op, {x, w});
  check_rank4(op, "x", x.shape(), "[N, Cin, H, W]");
  check_rank4(op, "w", w.shape(), "[Cin, Cout/groups, kh, kw]");
  const Args args{{{{"x", &x.shape()}, {"w", &w.shape()}, {}}}, p};
  GF_CHECK(w.size(0) == x.size(1), op, "weight dim 0 must equal the input channels " << args);
  GF_CHECK(p.stride_h > 0 && p.stride_w > 0, op, "stride must be positive " << args);
  GF_CHECK(output_pad_h >= 0 && output_pad_h < p.stride_h && output_pad_w >= 0 && output_pad_w < p.stride_w, op,
           "output padding " << output_pad_h << "x" << output_pad_w << " must lie in [0, stride) " << args);
  // The forward convolution this is the data gradient of: its input has our output's size.
  const int64_t out_h = (x.size(2) - 1) * p.stride_h - 2 * int64_t(p.pad_h) + w.size(2) + output_pad_h;
  const int64_t out_w = (x.size(3) - 1) * p.stride_w - 2 * int64_t(p.pad_w) + w.size(3) + output_pad_w;
  GF_CHECK(x.size(2) > 0 && x.size(3) > 0 && out_h >= 1 && out_w >= 1, op,
           "output size " << out_h << "x" << out_w << " < 1 " << args);
  const Shape y_shape{x.size(0), w.size(1) * p.groups, out_h, out_w};
  const Conv2dShape s = forward_geometry(op, args, y_shape, w.shape());
  Tensor y = run_pass(op, ConvPass::backward_data, s, x, w, y_shape);
  return record_op(op, y, {x, w}, [x = SavedTensor(x), w = SavedTensor(w), p](Node& self, const Tensor& gy) {
    Grads g(2);
    if (self.needs_input_grad(0)) g[0] = conv2d(gy, w, p);
    if (self.needs_input_grad(1)) g[1] = conv2d_weight_grad(gy, x, w.shape(), p);
    return g;
  });
}

Tensor conv2d_weight_grad(const Tensor& x, const Tensor& gy, const Shape& w_shape, const Conv2dParams& p) {
  const char* op = "conv2d_weight_grad";
  check_same(op, {x, gy});
  check_rank4(op, "x", x.shape(), "[N, Cin, H, W]");
  check_rank4(op, "gy", gy.shape(), "[N, Cout, Ho, Wo]");
  check_rank4(op, "w_shape", w_shape, "[Cout, Cin/groups, kh, kw]");
  const Args args{{{{"x", &x.shape()}, {"gy", &gy.shape()}, {"w_shape", &w_shape}}}, p};
  const Conv2dShape s = forward_geometry(op, args, x.shape(), w_shape);
  const Shape expect{s.n, s.k, s.out_h, s.out_w};
  GF_CHECK(gy.shape() == expect, op, "gy must have the conv2d output shape " << shape_str(expect) << " " << args);
  Tensor gw = run_pass(op, ConvPass::backward_filter, s, x, gy, w_shape);
  return record_op(op, gw, {x, gy}, [x = SavedTensor(x), gy = SavedTensor(gy), p](Node& self, const Tensor& ggw) {
    Grads g(2);
    if (self.needs_input_grad(0))
      g[0] = conv_transpose2d(gy, ggw, p, output_padding(x.size(2), gy.size(2), ggw.size(2), p.pad_h, p.stride_h),
                              output_padding(x.size(3), gy.size(3), ggw.size(3), p.pad_w, p.stride_w));
    if (self.needs_input_grad(1)) g[1] = conv2d(x, ggw, p);
    return g;
  });
}

}  // namespace gf
