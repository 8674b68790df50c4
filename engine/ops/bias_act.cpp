// bias_act and its gradient ops. As in StyleGAN2-ADA, the forward keeps only
// what the backward reads: y for the activations whose derivative is a
// function of y (and for the clamp mask), x and b for swish and for every
// activation with a nonzero second derivative (their second-order term flows
// into x and b).
#include "engine/ops/bias_act.h"

#include <cmath>

#include "engine/dispatch.h"

namespace gf {
namespace {

using Grads = GradList;

struct ActInfo {
  const char* name;
  Act act;
  double def_alpha;
  double def_gain;
};
// Default gains as issue 3 specifies them: sqrt(2) for relu and lrelu, 1 otherwise
// (the official table gives swish sqrt(2) as well).
const ActInfo kActs[] = {
    {"linear", Act::linear, 0.0, 1.0},
    {"relu", Act::relu, 0.0, std::sqrt(2.0)},
    {"lrelu", Act::lrelu, 0.2, std::sqrt(2.0)},
    {"tanh", Act::tanh, 0.0, 1.0},
    {"sigmoid", Act::sigmoid, 0.0, 1.0},
    {"elu", Act::elu, 0.0, 1.0},
    {"selu", Act::selu, 0.0, 1.0},
    {"softplus", Act::softplus, 0.0, 1.0},
    {"swish", Act::swish, 0.0, 1.0},
};

// The defined ones, for check_same (a fixed array: no heap block per call).
struct Defined {
  Tensor t[5];
  size_t n = 0;
};
Defined defined_of(std::initializer_list<Tensor> ts) {
  Defined out;
  for (const Tensor& t : ts)
    if (t.defined() && out.n < 5) out.t[out.n++] = t;
  return out;
}

template <class T>
const T* ptr(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Sum over every dim but `dim`: the bias gradient. A 1-D t is its own (sum
// reads an empty dim list as every dim).
Tensor sum_except(const Tensor& t, int64_t dim) {
  if (t.dim() == 1) return t;
  DimList dims;
  for (int64_t d = 0; d < t.dim(); ++d)
    if (d != dim) dims.push_back(d);
  return sum(t, dims);
}

// The gradient kernel of `order` (bias_act.h), no graph.
Tensor run_grad(const char* op, int order, const Tensor& g, const Tensor& x, const Tensor& b, const Tensor& y,
                const Tensor& dy, int64_t dim, const BiasActSpec& spec) {
  const Defined ops = defined_of({g, x, b, y, dy});
  check_same(op, ops.t, ops.n);
  for (const Tensor& t : {x, y, dy})
    GF_CHECK(!t.defined() || t.shape() == g.shape(), op,
             "operand " << shape_str(t.shape()) << " does not match the gradient " << shape_str(g.shape()));
  GF_CHECK(x.defined() || !act_grad_uses_x(spec.act, spec.alpha), op, "this activation needs the forward input x");
  GF_CHECK(y.defined() || !(act_grad_uses_y(spec.act) || spec.clamp >= 0), op,
           "this activation or clamp needs the forward output y");
  const BiasActParams p = bias_act_params(spec, g.shape(), dim, b.defined() ? b.numel() : 0);
  Tensor out = Tensor::empty(g.shape(), g.dtype(), g.device());
  dispatch_float(g.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (g.device().is_cuda())
      GF_CUDA_CALL(op, cuda::bias_act_grad<T>(p, order, g.data<T>(), ptr<T>(x), ptr<T>(b), ptr<T>(y), ptr<T>(dy),
                                              out.data<T>(), stream_of(g.device())));
    else
      cpu::bias_act_grad<T>(p, order, g.data<T>(), ptr<T>(x), ptr<T>(b), ptr<T>(y), ptr<T>(dy), out.data<T>());
  });
  return out;
}

// g * dy * gain * act''(x + b) * mask: the second-order term of bias_act,
// d(bias_act_grad)/dx applied to g. Not differentiable again.
Tensor bias_act_grad2(const Tensor& g, const Tensor& x, const Tensor& b, const Tensor& y, const Tensor& dy, int64_t dim,
                      const BiasActSpec& spec) {
  Tensor out = run_grad("bias_act_grad2", 2, g, x, b, y, dy, dim, spec);
  return record_op("bias_act_grad2", out, {g, dy, x, b}, [](Node&, const Tensor&) -> Grads {
    throw Error("bias_act: gradients beyond the second order are not implemented");
  });
}

}  // namespace

BiasActSpec bias_act_spec(const std::string& act, std::optional<double> alpha, std::optional<double> gain,
                          std::optional<double> clamp, const char* op) {
  for (const ActInfo& a : kActs)
    if (act == a.name) {
      BiasActSpec s;
      s.act = a.act;
      s.alpha = alpha.value_or(a.def_alpha);
      s.gain = gain.value_or(a.def_gain);
      s.clamp = clamp.value_or(-1.0);
      return s;
    }
  throw Error(std::string(op) + ": unknown activation '" + act +
              "' (expected linear, relu, lrelu, tanh, sigmoid, elu, selu, softplus or swish)");
}

BiasActParams bias_act_params(const BiasActSpec& spec, const Shape& shape, int64_t dim, int64_t bias_len) {
  BiasActParams p;
  p.act = spec.act;
  p.alpha = spec.alpha;
  p.gain = spec.gain;
  p.clamp = spec.clamp;
  p.n = shape_numel(shape);
  p.bias_len = bias_len;
  p.bias_step = 1;
  for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d) p.bias_step *= shape[d];
  return p;
}

Tensor bias_act(const Tensor& x, const Tensor& b, int64_t dim, const BiasActSpec& spec) {
  const char* op = "bias_act";
  const Defined ops = defined_of({x, b});
  check_same(op, ops.t, ops.n);
  GF_CHECK(x.dim() > 0, op, "x must have at least one dim");
  dim = normalize_dim(dim, x.dim(), op);
  GF_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == x.size(dim)), op,
           "bias of shape " << shape_str(b.shape()) << " does not match x " << shape_str(x.shape()) << " along dim "
                            << dim << " (expected [" << x.size(dim) << "])");
  const BiasActParams p = bias_act_params(spec, x.shape(), dim, b.defined() ? b.numel() : 0);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::bias_act<T>(p, x.data<T>(), ptr<T>(b), y.data<T>(), stream_of(x.device())));
    else
      cpu::bias_act<T>(p, x.data<T>(), ptr<T>(b), y.data<T>());
  });
  const bool keep_x = act_grad_uses_x(spec.act, spec.alpha) || act_has_second_grad(spec.act);
  const bool keep_y = act_grad_uses_y(spec.act) || spec.clamp >= 0;
  const bool identity = spec.act == Act::linear && spec.gain == 1.0 && spec.clamp < 0;
  const Tensor xs = keep_x ? x : Tensor(), bs = keep_x ? b : Tensor();
  return record_op(
      op, y, {x, b},
      [xs = SavedTensor(xs), bs = SavedTensor(bs), dim, spec, keep_y, identity](Node& n, const Tensor& g) {
        const Tensor ys = keep_y ? n.saved_output().detach() : Tensor();
        const Tensor dx = identity ? g : bias_act_grad(g, xs, bs, ys, dim, spec);
        return Grads{n.needs_input_grad(0) ? dx : Tensor(), n.needs_input_grad(1) ? sum_except(dx, dim) : Tensor()};
      },
      keep_y);
}

Tensor bias_act(const Tensor& x, const Tensor& b, int64_t dim, const std::string& act, std::optional<double> alpha,
                std::optional<double> gain, std::optional<double> clamp) {
  return bias_act(x, b, dim, bias_act_spec(act, alpha, gain, clamp));
}

Tensor bias_act_grad(const Tensor& dy, const Tensor& x, const Tensor& b, const Tensor& y, int64_t dim,
                     const BiasActSpec& spec) {
  GF_CHECK(dy.defined() && dy.dim() > 0, "bias_act_grad", "dy must be a defined tensor with at least one dim");
  dim = normalize_dim(dim, dy.dim(), "bias_act_grad");
  GF_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == dy.size(dim)), "bias_act_grad",
           "bias of shape " << shape_str(b.shape()) << " does not match dy " << shape_str(dy.shape()) << " along dim "
                            << dim);
  Tensor dx = run_grad("bias_act_grad", 1, dy, x, b, y, Tensor(), dim, spec);
  const Tensor dy_kept = act_has_second_grad(spec.act) ? dy : Tensor();  // read by the second-order term only
  return record_op("bias_act_grad", dx, {dy, x, b},
                   [dy_kept = SavedTensor(dy_kept), x = SavedTensor(x), b = SavedTensor(b), y = SavedTensor(y), dim,
                       spec](Node& n, const Tensor& g) {
    // Linear in dy: its dy-gradient is itself. The x- and b-gradients need act''.
    Tensor d_dy, d_x, d_b;
    if (n.needs_input_grad(0)) d_dy = bias_act_grad(g, x, b, y, dim, spec);
    if (act_has_second_grad(spec.act) && (n.needs_input_grad(1) || n.needs_input_grad(2))) {
      d_x = bias_act_grad2(g, x, b, y, dy_kept, dim, spec);
      if (n.needs_input_grad(2)) d_b = sum_except(d_x, dim);
    }
    return Grads{d_dy, n.needs_input_grad(1) ? d_x : Tensor(), d_b};
  });
}

}  // namespace gf
