// bias_act: values against naive formulas, first and second order by finite
// differences for every activation (with and without clamp, NCHW and [N, C]),
// golden values from the official reference, argument errors, CUDA against CPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/bias_act.h"
#include "engine/ops/noise.h"
#include "kernels/bias_act_ops.h"
#include "kernels/noise.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::large_case_runs;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

const std::vector<std::string> kActs = {"linear", "relu", "lrelu",    "tanh", "sigmoid",
                                        "elu",    "selu", "softplus", "swish"};

double naive_act(const std::string& a, double v) {
  if (a == "relu") return std::max(v, 0.0);
  if (a == "lrelu") return v > 0 ? v : 0.2 * v;
  if (a == "tanh") return std::tanh(v);
  if (a == "sigmoid") return 1 / (1 + std::exp(-v));
  if (a == "elu") return v >= 0 ? v : std::expm1(v);
  if (a == "selu") return 1.0507009873554805 * (v >= 0 ? v : 1.6732632423543772 * std::expm1(v));
  if (a == "softplus") return std::log1p(std::exp(v));
  if (a == "swish") return v / (1 + std::exp(-v));
  return v;
}

// clamp(gain * act(x + b)) with b along dim 1, by loops.
std::vector<double> naive_bias_act(const Tensor& x, const Tensor& b, const std::string& act, double clamp) {
  const double gain = (act == "relu" || act == "lrelu") ? std::sqrt(2.0) : 1.0;
  const auto xv = x.to_vector(), bv = b.to_vector();
  const int64_t c = x.size(1), inner = x.numel() / (x.size(0) * c);
  std::vector<double> y(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) {
    double v = gain * naive_act(act, xv[i] + bv[static_cast<size_t>((static_cast<int64_t>(i) / inner) % c)]);
    if (clamp >= 0) v = std::min(std::max(v, -clamp), clamp);
    y[i] = v;
  }
  return y;
}

std::optional<double> clamp_opt(double c) { return c >= 0 ? std::optional<double>(c) : std::nullopt; }

}  // namespace

TEST_CASE("bias_act matches naive formulas for every activation", "[bias_act]") {
  for (const Shape& s : {Shape{2, 5, 3, 4}, Shape{3, 7}}) {
    for (DType t : {DType::f64, DType::f32}) {
      Tensor x = random_tensor(s, 1, t, Device::cpu(), 2.0), b = random_tensor({s[1]}, 2, t);
      for (const auto& act : kActs)
        for (double clamp : {-1.0, 0.7}) {
          INFO(act << " clamp " << clamp << " shape " << shape_str(s) << " " << dtype_name(t));
          Tensor y = bias_act(x, b, 1, act, std::nullopt, std::nullopt, clamp_opt(clamp));
          Tensor want = Tensor::from_vector(naive_bias_act(x, b, act, clamp), s, DType::f64);
          auto c = allclose(y, want, t == DType::f64 ? 1e-12 : 1e-5, t == DType::f64 ? 1e-13 : 1e-6);
          INFO(c.message);
          CHECK(c.ok);
        }
    }
  }
  // A bias along the last dim of [2, 3, 4] equals one along dim 1 of the transpose.
  Tensor x3 = random_tensor({2, 3, 4}, 30), b4 = random_tensor({4}, 31);
  CHECK(allclose(bias_act(x3, b4, -1, "swish"), transpose(bias_act(transpose(x3, 1, 2), b4, 1, "swish"), 1, 2), 1e-15,
                 1e-15)
            .ok);
  // Empty tensors are fine.
  CHECK(bias_act(zeros({2, 3, 0}, DType::f64), random_tensor({3}, 33), 1, "lrelu").numel() == 0);
  // Explicit alpha and gain override the defaults; no bias is allowed.
  Tensor x = random_tensor({4, 3}, 3);
  auto y = bias_act(x, Tensor(), 1, "lrelu", 0.1, 3.0).to_vector();
  auto xv = x.to_vector();
  for (size_t i = 0; i < xv.size(); ++i) CHECK(y[i] == Approx(3.0 * (xv[i] > 0 ? xv[i] : 0.1 * xv[i])));
}

TEST_CASE("bias_act: first- and second-order gradients for every activation", "[bias_act][grad]") {
  for (const Shape& s : {Shape{2, 3, 2, 2}, Shape{3, 4}}) {
    Tensor x = random_tensor(s, 4, DType::f64, Device::cpu(), 1.5).requires_grad_();
    Tensor b = random_tensor({s[1]}, 5).requires_grad_();
    for (const auto& act : kActs)
      for (double clamp : {-1.0, 0.6}) {
        INFO(act << " clamp " << clamp << " shape " << shape_str(s));
        // Squared, so the upstream gradient depends on the inputs and second order
        // also covers bias_act_grad's gradient with respect to dy.
        Fn f = [&](const std::vector<Tensor>& v) {
          return square(bias_act(v[0], v[1], 1, act, std::nullopt, std::nullopt, clamp_opt(clamp)));
        };
        auto g1 = gradcheck(f, {x, b});
        INFO(g1.message);
        CHECK(g1.ok);
        auto g2 = gradgradcheck(f, {x, b});
        INFO(g2.message);
        CHECK(g2.ok);
      }
  }
}

// A 1-D x has no dim to sum the bias gradient over: it is dy itself (a
// scalar came back, and the op refused its own gradient).
TEST_CASE("bias_act: a 1-D x with its bias along dim 0, both gradient orders", "[bias_act][grad]") {
  Tensor x = random_tensor({5}, 40, DType::f64, Device::cpu(), 1.5).requires_grad_();
  Tensor b = random_tensor({5}, 41).requires_grad_();
  for (const auto& act : kActs) {
    INFO(act);
    Fn f = [&](const std::vector<Tensor>& v) { return square(bias_act(v[0], v[1], 0, act)); };
    test::check_first_and_second_order(f, {x, b});
  }
}

// With alpha < 0 both sides of 0 give y > 0, so the slope cannot be read
// from y (it was: dx = 1 on the negative side); torch.nn.functional.leaky_relu
// takes any slope. Fused with noise too (its own saved operands).
TEST_CASE("bias_act: lrelu with a negative slope, both gradient orders", "[bias_act][grad]") {
  Tensor x = random_tensor({2, 3, 2, 2}, 42, DType::f64, Device::cpu(), 1.5).requires_grad_();
  Tensor b = random_tensor({3}, 43).requires_grad_();
  Tensor noise = random_tensor({2, 1, 2, 2}, 44).requires_grad_(), strength = random_tensor({3}, 45).requires_grad_();
  for (double alpha : {-0.3, -2.0}) {
    INFO("alpha " << alpha);
    const BiasActSpec spec = bias_act_spec("lrelu", alpha, 1.5);
    Fn plain = [&](const std::vector<Tensor>& v) { return square(bias_act(v[0], v[1], 1, spec)); };
    Fn fused = [&](const std::vector<Tensor>& v) { return square(noise_bias_act(v[0], v[2], v[3], v[1], spec)); };
    for (const Fn& f : {plain, fused}) test::check_first_and_second_order(f, {x, b, noise, strength});
  }
}

// Where finite differences cannot look: exactly at a kink and at NaN. The
// values are torch 1.13's (torch.nn.functional relu, leaky_relu(0.2), elu,
// selu; first order, and the second order of elu and selu), the official
// reference path.
TEST_CASE("bias_act: gradients at 0 and at NaN are torch's", "[bias_act][grad]") {
  const double scale = 1.0507009873554805, scale_alpha = 1.7580993408473766;
  const struct {
    const char* act;
    double at_zero, at_nan;
  } want[] = {{"relu", 0, 1}, {"lrelu", 0.2, 0.2}, {"elu", 1, 1}, {"selu", scale_alpha, scale}};
  for (const auto& w : want) {
    INFO(w.act);
    Tensor x = Tensor::from_vector({0.0, NAN}, {2}, DType::f64).requires_grad_();
    Tensor y = bias_act(x, Tensor(), 0, w.act, std::nullopt, 1.0);
    Tensor g = gf::grad({sum(y)}, {x}, {}, true)[0];
    CHECK(g.to_vector() == std::vector<double>{w.at_zero, w.at_nan});
    if (g.requires_grad()) CHECK(gf::grad({sum(g)}, {x})[0].to_vector() == std::vector<double>{0, 0});
  }
}

TEST_CASE("bias_act: third order says it is not implemented", "[bias_act][grad]") {
  Tensor x = random_tensor({2, 3}, 32).requires_grad_();
  Tensor g1 = gf::grad({sum(bias_act(x, Tensor(), 1, "tanh"))}, {x}, {}, true, true)[0];
  Tensor g2 = gf::grad({sum(g1)}, {x}, {}, true, true)[0];
  REQUIRE_THROWS_WITH(gf::grad({sum(g2)}, {x}), Catch::Contains("beyond the second order"));
}

TEST_CASE("bias_act: the clamp cuts the gradient where the output was clamped", "[bias_act][grad]") {
  Tensor x = random_tensor({2, 3, 4, 4}, 6, DType::f64, Device::cpu(), 2.0).requires_grad_();
  for (const auto& act : kActs) {
    INFO(act);
    Tensor y = bias_act(x, Tensor(), 1, act, std::nullopt, std::nullopt, 0.5);
    auto g = grad({sum(y)}, {x}, {}, false, false, true)[0];
    REQUIRE(g.defined());  // some outputs are inside the clamp, so x has a gradient
    const auto yv = y.to_vector(), gv = g.to_vector();
    int clamped = 0, open = 0;
    for (size_t i = 0; i < yv.size(); ++i) {
      if (std::fabs(yv[i]) >= 0.5) {
        ++clamped;
        CHECK(gv[i] == 0.0);
      } else if (gv[i] != 0.0) {
        ++open;
      }
    }
    CHECK(clamped > 0);  // the test reaches the clamp
    CHECK(open > 0);     // and the gradient elsewhere is not cut
  }
}

// The CPU kernels' loops are specialised (clamp or not, which operands are
// read, rows of one element, spans) and vectorized: each output must still be
// bit for bit the per-element formula of kernels/bias_act_ops.h, the one the
// CUDA kernels evaluate.
TEST_CASE("bias_act CPU kernels equal the per-element formulas bit for bit", "[bias_act]") {
  const std::vector<Act> acts = {Act::linear, Act::relu, Act::lrelu, Act::tanh, Act::sigmoid,
                                 Act::elu,    Act::selu, Act::softplus, Act::swish};
  // [N, C] with the bias along C (rows of one element), NCHW planes, and more
  // elements than one span of the bias-free gradient loop.
  const std::vector<std::pair<Shape, int64_t>> cases = {{{5, 7}, 1}, {{2, 3, 5, 5}, 1}, {{1, 3, 70, 70}, 1}};
  for (const auto& shape_dim : cases) {
    // Named, not a structured binding: lambdas below capture them (C++17).
    const Shape& s = shape_dim.first;
    const int64_t dim = shape_dim.second;
    const Tensor x = random_tensor(s, 40, DType::f32, Device::cpu(), 2.0), g = random_tensor(s, 41, DType::f32);
    const Tensor dy = random_tensor(s, 42, DType::f32), b = random_tensor({s[1]}, 43, DType::f32);
    const BiasActParams base = bias_act_params(BiasActSpec{}, s, dim, s[1]);
    const float* xp = x.data<float>();
    const float* bp = b.data<float>();
    const int64_t n = x.numel(), step = base.bias_step;
    for (Act a : acts)
      for (double clamp : {-1.0, 0.9}) {
        INFO(shape_str(s) << " act " << int(a) << " clamp " << clamp);
        BiasActParams p = base;
        p.act = a, p.alpha = 0.2, p.gain = 1.4142135623730951, p.clamp = clamp;
        const float alpha = 0.2f, gain = float(p.gain), c = float(clamp);
        std::vector<float> y(static_cast<size_t>(n)), out(static_cast<size_t>(n));
        cpu::bias_act<float>(p, xp, bp, y.data());
        int64_t bad = 0;
        dispatch_act(a, [&](auto tag) {
          constexpr Act A = decltype(tag)::value;
          for (int64_t i = 0; i < n; ++i)
            bad += y[size_t(i)] != bias_act_value<A>(xp[i] + bp[(i / step) % s[1]], alpha, gain, c);
          for (int order : {1, 2})
            for (bool with_x : {false, true}) {
              const float* xa = with_x ? xp : nullptr;
              cpu::bias_act_grad<float>(p, order, g.data<float>(), xa, bp, y.data(), dy.data<float>(), out.data());
              for (int64_t i = 0; i < n; ++i) {
                const float v = with_x ? xp[i] + bp[(i / step) % s[1]] : 0.0f, gi = g.data<float>()[i];
                const float want = order == 1 ? bias_act_grad_value<A, 1>(gi, v, y[size_t(i)], 0.0f, alpha, gain, c)
                                              : bias_act_grad_value<A, 2>(gi, v, y[size_t(i)], dy.data<float>()[i],
                                                                          alpha, gain, c);
                bad += std::memcmp(&out[size_t(i)], &want, sizeof want) != 0;
              }
            }
        });
        CHECK(bad == 0);
        if (dim != 1 || s.size() != 4) continue;
        // noise_bias_act: x + strength * noise + b through the same formula.
        const Tensor noise = random_tensor({s[0], 1, s[2], s[3]}, 44, DType::f32);
        const float strength = 0.3f;
        NoiseParams q;
        q.n = s[0], q.c = s[1], q.hw = s[2] * s[3];
        q.act = a, q.alpha = 0.2, q.gain = p.gain, q.clamp = clamp;
        cpu::noise_bias_act<float>(q, xp, noise.data<float>(), &strength, bp, out.data());
        int64_t bad_noise = 0;
        dispatch_act(a, [&](auto tag) {
          constexpr Act A = decltype(tag)::value;
          for (int64_t i = 0; i < n; ++i) {
            const float nz = noise.data<float>()[(i / (q.c * q.hw)) * q.hw + i % q.hw];
            const float want = bias_act_value<A>(xp[i] + strength * nz + bp[(i / q.hw) % q.c], alpha, gain, c);
            bad_noise += out[size_t(i)] != want;
          }
        });
        CHECK(bad_noise == 0);
      }
  }
}

TEST_CASE("bias_act matches the official reference (PyTorch golden values)", "[bias_act][golden]") {
  auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/gan_golden_b.bin");
  Tensor x = g.at("bias_act.x").requires_grad_(), b = g.at("bias_act.b").requires_grad_();
  for (const auto& act : kActs)
    for (const std::string mode : {"noclamp", "clamp"}) {
      const std::string k = "bias_act." + act + "." + mode;
      INFO(k);
      Tensor y = bias_act(x, b, 1, act, std::nullopt, std::nullopt,
                          mode == "clamp" ? std::optional<double>(0.5) : std::nullopt);
      CHECK(allclose(y, g.at(k + ".y"), 1e-12, 1e-12).ok);
      auto grads = gf::grad({y}, {x, b}, {g.at(k + ".gy")});
      auto cx = allclose(grads[0], g.at(k + ".dx"), 1e-12, 1e-12),
           cb = allclose(grads[1], g.at(k + ".db"), 1e-12, 1e-12);
      INFO(cx.message << " / " << cb.message);
      CHECK(cx.ok);
      CHECK(cb.ok);
    }
}

TEST_CASE("bias_act rejects bad arguments with clear errors", "[bias_act]") {
  Tensor x = random_tensor({2, 3, 4, 4}, 7);
  REQUIRE_THROWS_WITH(bias_act(x, random_tensor({4}, 8), 1, "relu"),
                      Catch::Contains("bias_act") && Catch::Contains("bias of shape [4]"));
  REQUIRE_THROWS_WITH(bias_act(x, random_tensor({3, 1}, 8), 1, "relu"), Catch::Contains("does not match"));
  REQUIRE_THROWS_WITH(bias_act(x, random_tensor({3}, 8), 4, "relu"), Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(bias_act(x, random_tensor({3}, 8), 1, "gelu"),
                      Catch::Contains("unknown activation 'gelu'") && Catch::Contains("swish"));
  REQUIRE_THROWS_WITH(bias_act(x, random_tensor({3}, 8, DType::f32), 1, "relu"), Catch::Contains("dtypes"));
}

TEST_CASE("bias_act on cuda matches the cpu, forward and both gradient orders", "[bias_act][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<std::pair<Shape, int64_t>> cases = {{{1, 1, 1, 1}, 1},    {{1, 3, 5, 7}, 1}, {{2, 257, 3, 3}, 1},
                                                        {{32, 512, 4, 4}, 1}, {{3, 1000}, 1},    {{5, 6, 17}, 2},
                                                        {{4, 129, 33, 31}, 1}, {{37}, 0}};
  size_t large = 0;
  for (const auto& shape_dim : cases)
    for (const auto& act : kActs)
      for (double clamp : {-1.0, 0.8}) {
        const Shape& s = shape_dim.first;  // not a structured binding: `run` captures them (C++17)
        const int64_t dim = shape_dim.second;
        if (!large_case_runs(shape_numel(s), large, 7)) continue;
        INFO(shape_str(s) << " " << act << " clamp " << clamp);
        Tensor x = random_tensor(s, 9, DType::f32, Device::cpu(), 1.5).requires_grad_();
        Tensor b = random_tensor({s[static_cast<size_t>(dim)]}, 10, DType::f32).requires_grad_();
        Tensor w = random_tensor(s, 11, DType::f32), v = random_tensor(s, 12, DType::f32);
        auto run = [&](Device d) {
          Tensor xd = x.detach().to(d).requires_grad_(), bd = b.detach().to(d).requires_grad_();
          Tensor y = bias_act(xd, bd, dim, act, std::nullopt, std::nullopt, clamp_opt(clamp));
          auto g = gf::grad({y}, {xd, bd}, {w.to(d)}, true, true);
          Tensor h = sum(mul(g[0], v.to(d)));
          // linear, relu and lrelu have act'' = 0 (and the clamp's mask has no
          // derivative): their gradient is not a function of x or b, so there is
          // no second order at all; every other activation has one in both.
          const bool curved = act != "linear" && act != "relu" && act != "lrelu";
          CHECK(h.requires_grad() == curved);
          if (!curved) return std::vector<Tensor>{y, g[0], g[1]};
          auto gg = gf::grad({h}, {xd, bd}, {}, false, false, true);
          REQUIRE(gg[0].defined());
          REQUIRE(gg[1].defined());
          return std::vector<Tensor>{y, g[0], g[1], gg[0], gg[1]};
        };
        auto c = run(Device::cpu()), gd = run(gpu);
        REQUIRE(c.size() == gd.size());
        const double n = static_cast<double>(x.numel());
        for (size_t k = 0; k < c.size(); ++k) {
          auto r = allclose(gd[k], c[k], 1e-4, 1e-5 * (k == 2 || k == 4 ? std::sqrt(n) : 1.0));
          INFO("output " << k << ": " << r.message);
          CHECK(r.ok);
        }
      }
}

// What the CPU cases above pin down, on the device: a negative lrelu slope
// (x read by the gradient kernel), and the branches at 0 and at NaN.
TEST_CASE("bias_act on cuda: a negative lrelu slope, and gradients at 0 and NaN", "[bias_act][cuda]") {
  const Device gpu = Device::cuda(0);
  Tensor x = random_tensor({3, 1000}, 46, DType::f32, Device::cpu(), 1.5);
  Tensor b = random_tensor({1000}, 47, DType::f32), w = random_tensor({3, 1000}, 48, DType::f32);
  const BiasActSpec spec = bias_act_spec("lrelu", -0.3, 1.5);
  auto run = [&](Device d) {
    Tensor xd = x.to(d).requires_grad_(), bd = b.to(d).requires_grad_();
    return gf::grad({bias_act(xd, bd, 1, spec)}, {xd, bd}, {w.to(d)});
  };
  auto c = run(Device::cpu()), g = run(gpu);
  for (size_t k = 0; k < 2; ++k) {
    auto r = allclose(g[k], c[k], 1e-5, 1e-5 * (k == 1 ? std::sqrt(3.0) : 1.0));
    INFO("gradient " << k << ": " << r.message);
    CHECK(r.ok);
  }
  for (const char* act : {"relu", "lrelu", "elu", "selu"}) {
    INFO(act);
    Tensor z = Tensor::from_vector({0.0, NAN}, {2}, DType::f32);
    auto grad_on = [&](Device d) {
      Tensor zd = z.to(d).requires_grad_();
      return gf::grad({sum(bias_act(zd, Tensor(), 0, act, std::nullopt, 1.0))}, {zd})[0].to(Device::cpu());
    };
    CHECK(grad_on(gpu).to_vector() == grad_on(Device::cpu()).to_vector());
  }
}
