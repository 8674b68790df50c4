// Noise injection. The forward is one fused kernel; the backward reuses
// bias_act's gradient op on the pre-activation z = x + strength * noise, which
// is rebuilt (with add_noise, so it stays in the graph) only for activations
// whose gradient reads it; StyleGAN2's lrelu reads only y.
#include "engine/ops/noise.h"

#include "engine/dispatch.h"
#include "kernels/noise.h"

namespace gf {
namespace {

using Grads = GradList;

void check_noise_operands(const char* op, const Tensor& x, const Tensor& noise, const Tensor& strength,
                          const Tensor& b) {
  const Tensor ts[4] = {x, noise, strength, b};
  check_same(op, ts, b.defined() ? 4 : 3);
  GF_CHECK(x.dim() == 4, op, "x must be [N, C, H, W], got " << shape_str(x.shape()));
  const int64_t n = x.size(0), c = x.size(1);
  GF_CHECK(noise.dim() == 4 && (noise.size(0) == n || noise.size(0) == 1) && noise.size(1) == 1 &&
               noise.size(2) == x.size(2) && noise.size(3) == x.size(3),
           op,
           "noise " << shape_str(noise.shape()) << " must be [" << (n == 1 ? std::string("1") : std::to_string(n) + " or 1")
                    << ", 1, " << x.size(2) << ", " << x.size(3) << "] for x " << shape_str(x.shape()));
  GF_CHECK(strength.numel() == 1 || (strength.dim() == 1 && strength.size(0) == c), op,
           "strength " << shape_str(strength.shape()) << " must be a scalar or [" << c << "]");
  GF_CHECK(!b.defined() || (b.dim() == 1 && b.size(0) == c), op,
           "bias " << shape_str(b.shape()) << " must be [" << c << "]");
}

// Strength viewed for broadcasting against [N, C, H, W].
// The strength as it multiplies the noise: [1, C or 1, 1, 1].
Shape strength_view_shape(const Tensor& strength) { return {1, strength.numel() == 1 ? 1 : strength.numel(), 1, 1}; }
Tensor strength_view(const Tensor& strength) { return strength.reshape(strength_view_shape(strength)); }

}  // namespace

Tensor make_noise(const Tensor& x, NoiseMode mode, Generator* gen, const Tensor& buffer) {
  GF_CHECK(x.dim() == 4, "make_noise", "x must be [N, C, H, W], got " << shape_str(x.shape()));
  switch (mode) {
    case NoiseMode::random:
      GF_CHECK(gen != nullptr, "make_noise", "random noise needs a generator");
      return randn({x.size(0), 1, x.size(2), x.size(3)}, *gen, x.dtype(), x.device());
    case NoiseMode::constant: {
      // [H, W] (StyleGAN2's noise_const) or [1, 1, H, W] (StyleGAN's noise
      // variables): a buffer of another shape with as many values (a [3, 3]
      // one for a 1 x 9 plane) was taken by its count.
      const bool plane = buffer.defined() && buffer.dim() >= 2 && buffer.size(-2) == x.size(2) &&
                         buffer.size(-1) == x.size(3) && buffer.numel() == x.size(2) * x.size(3);
      GF_CHECK(plane, "make_noise",
               "constant noise needs a buffer of [" << x.size(2) << ", " << x.size(3) << "] for x "
                                                    << shape_str(x.shape()) << ", got "
                                                    << (buffer.defined() ? shape_str(buffer.shape()) : "none"));
      return buffer.reshape({1, 1, x.size(2), x.size(3)});
    }
    case NoiseMode::none:
      break;
  }
  return Tensor();
}

Tensor add_noise(const Tensor& x, const Tensor& noise, const Tensor& strength) {
  return noise_bias_act(x, noise, strength, Tensor(), BiasActSpec{});
}

Tensor noise_bias_act(const Tensor& x, const Tensor& noise, const Tensor& strength, const Tensor& b,
                      const BiasActSpec& spec) {
  const char* op = "noise_bias_act";
  if (!noise.defined()) return bias_act(x, b, 1, spec);
  check_noise_operands(op, x, noise, strength, b);
  NoiseParams p;
  p.n = x.size(0);
  p.c = x.size(1);
  p.hw = x.size(2) * x.size(3);
  p.noise_per_sample = noise.size(0) != 1 || p.n == 1;
  p.strength_per_channel = strength.numel() != 1;
  p.act = spec.act;
  p.alpha = spec.alpha;
  p.gain = spec.gain;
  p.clamp = spec.clamp;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    const T* bp = b.defined() ? b.data<T>() : nullptr;
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::noise_bias_act<T>(p, x.data<T>(), noise.data<T>(), strength.data<T>(), bp, y.data<T>(),
                                               stream_of(x.device())));
    else
      cpu::noise_bias_act<T>(p, x.data<T>(), noise.data<T>(), strength.data<T>(), bp, y.data<T>());
  });
  const bool identity = spec.act == Act::linear && spec.gain == 1.0 && spec.clamp < 0;
  const bool keep_y = act_grad_uses_y(spec.act) || spec.clamp >= 0;
  const bool needs_z = act_grad_uses_x(spec.act, spec.alpha) || act_has_second_grad(spec.act);
  const Tensor xs = needs_z ? x : Tensor(), bs = needs_z ? b : Tensor();  // not kept alive (nor read) for lrelu
  const Shape sv_shape = strength_view_shape(strength);
  return record_op(
      op, y, {x, noise, strength, b},
      [xs = SavedTensor(xs), noise = SavedTensor(noise), strength = SavedTensor(strength), bs = SavedTensor(bs), spec,
          identity, keep_y, sv_shape](Node& n, const Tensor& g) {
        const Tensor z = xs.defined() ? add_noise(xs, noise, strength) : Tensor();
        const Tensor ys = keep_y ? n.saved_output().detach() : Tensor();
        const Tensor dz = identity ? g : bias_act_grad(g, z, bs, ys, 1, spec);
        Tensor d_noise, d_strength, d_b;
        if (n.needs_input_grad(1)) d_noise = sum_to(mul(dz, strength_view(strength)), noise.shape());
        if (n.needs_input_grad(2)) d_strength = sum_to(mul(dz, noise), sv_shape).reshape(strength.shape());
        if (n.needs_input_grad(3)) d_b = sum(dz, {0, 2, 3});
        return Grads{n.needs_input_grad(0) ? dz : Tensor(), d_noise, d_strength, d_b};
      },
      keep_y);
}

}  // namespace gf
