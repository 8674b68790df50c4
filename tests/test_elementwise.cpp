// Elementwise ops: values against plain C++ formulas, first- and second-order
// gradients by finite differences, broadcasting, errors, CUDA against CPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/elementwise.h"
#include "engine/ops/bias_act.h"
#include "kernels/elementwise_ops.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;
using gf::test::uniform_tensor;

namespace {

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> ref;
  double lo, hi;  // input domain (kept away from kinks and poles)
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, -2, 2},
      {"exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); }, -2, 2},
      {"log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); }, 0.5, 3},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); }, 0.5, 3},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, [](double x) { return 1 / std::sqrt(x); }, 0.5, 3},
      {"square", [](const Tensor& x) { return square(x); }, [](double x) { return x * x; }, -2, 2},
      {"pow", [](const Tensor& x) { return pow(x, 1.7); }, [](double x) { return std::pow(x, 1.7); }, 0.5, 3},
      {"abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::fabs(x); }, -2, 2},
      {"clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); },
       [](double x) { return std::min(std::max(x, -0.5), 0.7); }, -2, 2},
      {"softplus", [](const Tensor& x) { return softplus(x); }, [](double x) { return std::log1p(std::exp(x)); }, -3, 3},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -3, 3},
      {"relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; }, -2, 2},
      {"leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); }, [](double x) { return x > 0 ? x : 0.2 * x; }, -2, 2},
      {"affine", [](const Tensor& x) { return x * 3.0 - 1.5; }, [](double x) { return 3 * x - 1.5; }, -2, 2},
      // acos away from +-1, where its derivative is infinite.
      {"acos", [](const Tensor& x) { return acos(x); }, [](double x) { return std::acos(x); }, -0.9, 0.9},
      {"cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); }, -4, 4},
      {"sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); }, -4, 4},
  };
}

// Moves values within `gap` of the kinks of abs/clamp/relu away from them, so
// central differences never straddle a kink.
Tensor away_from_kinks(const Tensor& x, std::vector<double> kinks, double gap = 1e-3) {
  auto v = x.to_vector();
  for (auto& e : v)
    for (double k : kinks)
      if (std::fabs(e - k) < gap) e = k + (e < k ? -gap : gap);
  return Tensor::from_vector(v, x.shape(), x.dtype());
}

}  // namespace

TEST_CASE("unary ops match their formulas in float32 and float64", "[elementwise]") {
  for (const auto& c : unary_cases()) {
    for (DType t : {DType::f32, DType::f64}) {
      Tensor x = uniform_tensor({3, 5, 7}, 1, c.lo, c.hi, t);
      Tensor y = c.op(x);
      std::vector<double> want;
      for (double v : x.to_vector()) want.push_back(c.ref(v));
      INFO(c.name << " " << dtype_name(t));
      auto chk = allclose(y, Tensor::from_vector(want, x.shape(), DType::f64).to(t), t == DType::f32 ? 1e-6 : 1e-13,
                          t == DType::f32 ? 1e-6 : 1e-14);
      INFO(chk.message);
      CHECK(chk.ok);
    }
  }
}

TEST_CASE("softplus and sigmoid stay finite for large inputs", "[elementwise]") {
  Tensor x = Tensor::from_vector({-200, -50, 0, 50, 200}, {5}, DType::f32);
  auto sp = softplus(x).to_vector(), sg = sigmoid(x).to_vector();
  for (size_t i = 0; i < sp.size(); ++i) {
    CHECK(std::isfinite(sp[i]));
    CHECK(std::isfinite(sg[i]));
  }
  CHECK(sp[4] == Approx(200.0));
  CHECK(sp[0] == Approx(0.0).margin(1e-30));
}

TEST_CASE("unary ops: first- and second-order gradients", "[elementwise][grad]") {
  for (const auto& c : unary_cases()) {
    Tensor x = away_from_kinks(uniform_tensor({2, 3, 4}, 2, c.lo, c.hi), {0.0, -0.5, 0.7}).requires_grad_();
    Fn f = [&](const std::vector<Tensor>& in) { return c.op(in[0]); };
    INFO(c.name);
    auto g1 = gradcheck(f, {x});
    INFO(g1.message);
    CHECK(g1.ok);
    auto g2 = gradgradcheck(f, {x});
    INFO(g2.message);
    CHECK(g2.ok);
  }
}

TEST_CASE("binary ops broadcast like NumPy", "[elementwise]") {
  Tensor a = random_tensor({2, 1, 4}, 3);
  Tensor b = random_tensor({3, 1}, 4);
  Tensor y = a * b + a / (b * b + 1.0) - b;
  REQUIRE(y.shape() == Shape{2, 3, 4});
  auto va = a.to_vector(), vb = b.to_vector(), vy = y.to_vector();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) {
        double x = va[i * 4 + k], z = vb[j];
        CHECK(vy[(i * 3 + j) * 4 + k] == Approx(x * z + x / (z * z + 1) - z).epsilon(1e-12));
      }
  REQUIRE_THROWS_WITH(add(random_tensor({2, 3}, 1), random_tensor({4}, 2)),
                      Catch::Contains("add") && Catch::Contains("[2, 3]") && Catch::Contains("[4]"));
}

TEST_CASE("broadcast binary and ternary ops give every element its own operands, bit for bit", "[elementwise]") {
  // The CPU kernels walk merged rows; each element must still be op(a[i], b[j])
  // for the operands NumPy broadcasting pairs it with.
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 4, 5}, {2, 3, 1, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 5}}, {{2, 1, 4, 1}, {1, 3, 1, 5}}, {{4, 5}, {5}},
      {{4, 5}, {4, 1}},             {{1, 1, 7}, {3, 2, 1}},        {{6}, {1}},                   {{3, 1, 1, 2}, {3, 4, 5, 1}},
      {{2, 0, 3}, {1, 1, 3}}};
  uint64_t seed = 50;
  for (const auto& [sa, sb] : cases) {
    INFO(shape_str(sa) << " with " << shape_str(sb));
    const Tensor a = random_tensor(sa, seed++, DType::f32), b = random_tensor(sb, seed++, DType::f32);
    const Tensor c = random_tensor(sb, seed++, DType::f32);
    const Shape so = broadcast_shape(sa, sb, "test");
    const Tensor ab = mul(a, b), ba = sub(b, a), w = where(gt(a, c), a, b);
    REQUIRE(ab.shape() == so);
    const std::vector<double> va = a.to_vector(), vb = b.to_vector(), vc = c.to_vector();
    const std::vector<double> vab = ab.to_vector(), vba = ba.to_vector(), vw = w.to_vector();
    // Broadcast index of output element i in an operand of shape s.
    auto index_in = [&](int64_t i, const Shape& s) {
      int64_t off = 0, stride = 1;
      for (int k = static_cast<int>(so.size()) - 1, j = static_cast<int>(s.size()) - 1; k >= 0; --k, --j) {
        const int64_t coord = i % so[static_cast<size_t>(k)];
        i /= so[static_cast<size_t>(k)];
        if (j >= 0) {
          if (s[static_cast<size_t>(j)] != 1) off += coord * stride;
          stride *= s[static_cast<size_t>(j)];
        }
      }
      return static_cast<size_t>(off);
    };
    size_t bad = 0;
    for (int64_t i = 0; i < shape_numel(so); ++i) {
      const float x = static_cast<float>(va[index_in(i, sa)]), y = static_cast<float>(vb[index_in(i, sb)]);
      const float z = static_cast<float>(vc[index_in(i, sb)]);
      bad += vab[static_cast<size_t>(i)] != static_cast<double>(x * y);
      bad += vba[static_cast<size_t>(i)] != static_cast<double>(y - x);
      bad += vw[static_cast<size_t>(i)] != static_cast<double>(x > z ? x : y);
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("binary and ternary ops: first- and second-order gradients with broadcasting", "[elementwise][grad]") {
  Tensor a = random_tensor({2, 3, 4}, 5).requires_grad_();
  Tensor b = random_tensor({3, 1}, 6).requires_grad_();         // broadcast like a bias
  Tensor p = uniform_tensor({1, 4}, 7, 0.5, 2).requires_grad_();  // a safe divisor
  Tensor t = uniform_tensor({2, 1, 4}, 8, 0, 1).requires_grad_();
  const std::vector<std::pair<const char*, Fn>> fns = {
      {"add", [](const std::vector<Tensor>& v) { return add(v[0], v[1]); }},
      {"sub", [](const std::vector<Tensor>& v) { return sub(v[0], v[1]); }},
      {"mul", [](const std::vector<Tensor>& v) { return mul(v[0], v[1]); }},
      {"div", [](const std::vector<Tensor>& v) { return div(v[0], v[2]); }},
      {"lerp", [](const std::vector<Tensor>& v) { return lerp(v[0], v[1], v[3]); }},
      {"where", [](const std::vector<Tensor>& v) { return where(gt(v[0], v[1].detach()), v[0], v[1] * v[2]); }},
      {"scalar ops", [](const std::vector<Tensor>& v) { return 2.0 / (1.5 - v[2]) + v[0] * 0.5; }},
  };
  for (const auto& [name, f] : fns) {
    INFO(name);
    auto g1 = gradcheck(f, {a, b, p, t});
    INFO(g1.message);
    CHECK(g1.ok);
    auto g2 = gradgradcheck(f, {a, b, p, t});
    INFO(g2.message);
    CHECK(g2.ok);
  }
}

TEST_CASE("mixing dtypes or devices is an error naming the op", "[elementwise]") {
  Tensor a = random_tensor({2}, 1, DType::f32), b = random_tensor({2}, 2, DType::f64);
  REQUIRE_THROWS_WITH(mul(a, b), Catch::Contains("mul") && Catch::Contains("float32") && Catch::Contains("float64"));
}

TEST_CASE("elementwise ops on cuda match the cpu", "[elementwise][cuda]") {
  const Device gpu = Device::cuda(0);
  for (const Shape& s : std::vector<Shape>{{1}, {3}, {7, 5}, {2, 3, 33, 17}, {1 << 20}, {(1 << 20) + 3}}) {
    for (const auto& c : unary_cases()) {
      Tensor x = uniform_tensor(s, 11, c.lo, c.hi, DType::f32);
      INFO(c.name << " " << shape_str(s));
      auto chk = allclose(c.op(x.to(gpu)), c.op(x), 2e-6, 1e-6);
      INFO(chk.message);
      CHECK(chk.ok);
    }
    Tensor a = random_tensor(s, 12, DType::f32), b = random_tensor(s, 13, DType::f32);
    Tensor d = uniform_tensor(s, 14, 0.5, 2, DType::f32);
    auto f = [](const Tensor& a, const Tensor& b, const Tensor& d) {
      return lerp(a * b - a / d, where(gt(a, b), a, b), sigmoid(d));
    };
    auto chk = allclose(f(a.to(gpu), b.to(gpu), d.to(gpu)), f(a, b, d), 1e-5, 1e-6);
    INFO(chk.message);
    CHECK(chk.ok);
  }
  // Broadcast (strided) path, double precision, and gradients.
  Tensor a = random_tensor({4, 1, 9}, 15), b = random_tensor({3, 1}, 16);
  Tensor ag = a.to(gpu).requires_grad_(), bg = b.to(gpu).requires_grad_();
  Tensor ac = a.detach().requires_grad_(), bc = b.detach().requires_grad_();
  auto gg = grad({sum(square(ag * bg + bg))}, {ag, bg});
  auto gc = grad({sum(square(ac * bc + bc))}, {ac, bc});
  CHECK(allclose(gg[0], gc[0], 1e-12, 1e-12).ok);
  CHECK(allclose(gg[1], gc[1], 1e-12, 1e-12).ok);
}

namespace {
std::vector<double> special_values() {
  const double inf = std::numeric_limits<double>::infinity(), nan = std::numeric_limits<double>::quiet_NaN();
  return {nan, inf, -inf, 0.0, -0.0, 1.5, -2.5, 3e5, -7e29, 1e-30};
}
}  // namespace

TEST_CASE("lerp rounds as torch.lerp: from the nearer end, exact at weights 0 and 1", "[elementwise]") {
  // torch: w < 0.5 ? a + w * (b - a) : b - (b - a) * (1 - w). Adam's first
  // moment with beta1 = 0 is lerp(m, g, 1), which must be g even when m is huge.
  for (DType dt : {DType::f32, DType::f64}) {
    const Tensor a = Tensor::from_vector({1e5, -3.0, 0.1, 7.25}, {4}, dt);
    const Tensor b = Tensor::from_vector({1e-3, 2.5, -0.3, 7.0}, {4}, dt);
    CHECK(lerp(a, b, 1.0).to_vector() == b.to_vector());
    CHECK(lerp(a, b, 0.0).to_vector() == a.to_vector());
    for (double w : {0.25, 0.75, 0.995}) {
      const std::vector<double> got = lerp(a, b, w).to_vector(), av = a.to_vector(), bv = b.to_vector();
      for (size_t i = 0; i < got.size(); ++i) {
        INFO("weight " << w << ", element " << i);
        if (dt == DType::f32) {
          const float x = static_cast<float>(av[i]), y = static_cast<float>(bv[i]), t = static_cast<float>(w);
          CHECK(got[i] == (t < 0.5f ? x + t * (y - x) : y - (y - x) * (1.0f - t)));
        } else {
          CHECK(got[i] == (w < 0.5 ? av[i] + w * (bv[i] - av[i]) : bv[i] - (bv[i] - av[i]) * (1.0 - w)));
        }
      }
    }
  }
}

TEST_CASE("relu and clamp select their gradient: NaN or inf from above gives 0 where the op is flat, as PyTorch", "[elementwise][grad]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor x = Tensor::from_vector({-1.0, -0.6, 0.3, 0.9, 2.0, -3.0}, {6}, t).requires_grad_();
    const Tensor g = Tensor::from_vector({nan, inf, 2.0, -inf, nan, 5.0}, {6}, t);
    // relu: flat for x <= 0 (torch.relu's threshold_backward).
    std::vector<double> d = grad({relu(x)}, {x}, {g})[0].to_vector();
    CHECK(d[0] == 0);
    CHECK(d[1] == 0);
    CHECK(d[2] == 2.0);
    CHECK(d[3] == -inf);
    CHECK(std::isnan(d[4]));
    CHECK(d[5] == 0);
    // clamp to [-0.7, 0.5]: flat outside (torch.clamp's backward).
    d = grad({clamp(x, -0.7, 0.5)}, {x}, {g})[0].to_vector();
    CHECK(d[0] == 0);
    CHECK(d[1] == inf);
    CHECK(d[2] == 2.0);
    CHECK(d[3] == 0);
    CHECK(d[4] == 0);
    CHECK(d[5] == 0);
    // leaky_relu multiplies by its slope on both sides, so NaN stays NaN (as torch's leaky_relu_backward).
    d = grad({leaky_relu(x, 0.2)}, {x}, {g})[0].to_vector();
    CHECK(std::isnan(d[0]));
    CHECK(d[1] == inf);
  }
}

// torch's threshold_backward passes the gradient where !(x <= 0): at a NaN x
// too (the mask x > 0 gave 0 there); pow's backward is 0 for the exponent 0,
// also at x = 0 (0 * x^-1 gave NaN).
TEST_CASE("relu passes the gradient at a NaN input, and x^0 has gradient 0 at 0, as torch", "[elementwise][grad]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor x = Tensor::from_vector({nan, 1, -1, 0}, {4}, t).requires_grad_();
    CHECK(grad({relu(x)}, {x}, {Tensor::from_vector({3, 3, 3, 3}, {4}, t)})[0].to_vector() ==
          std::vector<double>{3, 3, 0, 0});
    const Tensor z = Tensor::from_vector({0, 2, -1}, {3}, t).requires_grad_();
    CHECK(grad({sum(pow(z, 0.0))}, {z})[0].to_vector() == std::vector<double>{0, 0, 0});
    const Tensor from_above = Tensor::from_vector({nan, INFINITY, 1}, {3}, t);
    CHECK(grad({pow(z, 0.0)}, {z}, {from_above})[0].to_vector() == std::vector<double>{0, 0, 0});
    CHECK(grad({sum(pow(z, 2.0))}, {z})[0].to_vector() == std::vector<double>{0, 4, -2});
  }
}

// torch.pow(x, 0.5) and (x, -0.5) are sqrt and rsqrt: at -inf and -0 their
// values and pow_backward's differ from std::pow's (+inf and +0 forward,
// 0 and +inf backward at x = -inf and -0 for the exponent 0.5).
TEST_CASE("pow with the exponents 0.5 and -0.5 is torch's at -inf and -0", "[elementwise][grad]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto same = [](const std::vector<double>& a, const std::vector<double>& b) {
    bool ok = a.size() == b.size();
    for (size_t i = 0; ok && i < a.size(); ++i)
      ok = (std::isnan(a[i]) && std::isnan(b[i])) || (a[i] == b[i] && std::signbit(a[i]) == std::signbit(b[i]));
    return ok;
  };
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor x = Tensor::from_vector({-INFINITY, -0.0, 0.0, 4, -4}, {5}, t).requires_grad_();
    // torch.tensor([-inf, -0., 0., 4., -4.], requires_grad=True).pow(0.5), and its gradient of the sum
    CHECK(same(pow(x, 0.5).to_vector(), {nan, -0.0, 0.0, 2, nan}));
    CHECK(same(grad({sum(pow(x, 0.5))}, {x})[0].to_vector(), {nan, -INFINITY, INFINITY, 0.25, nan}));
    CHECK(same(pow(x, -0.5).to_vector(), {nan, -INFINITY, INFINITY, 0.5, nan}));
    CHECK(same(pow(x, 1.5).to_vector(), {INFINITY, 0.0, 0.0, 8, nan}));  // std::pow, as torch here
  }
}

TEST_CASE("relu, bias_act's relu and clamp keep NaN, as torch.relu and torch.clamp; relu(-0) is +0", "[elementwise]") {
  // relu took NaN to 0, so a NaN image went through VGG16 as a black one.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor x = Tensor::from_vector({nan, -0.0, -1.0, 2.0}, {1, 4}, t);
    for (const Tensor& y : {relu(x), bias_act(x, zeros({4}, t), 1, "relu", std::nullopt, 1.0), clamp(x, -0.5, 0.5)}) {
      const std::vector<double> v = y.to_vector();
      CHECK(std::isnan(v[0]));
      CHECK(v[1] == 0);
    }
    CHECK_FALSE(std::signbit(relu(x).to_vector()[1]));
    CHECK(relu(x).to_vector()[3] == 2.0);
  }
}

TEST_CASE("nan_to_num: NaN and infinities replaced, finite values untouched, as torch.nan_to_num", "[elementwise]") {
  for (DType t : {DType::f32, DType::f64}) {
    const std::vector<double> in = special_values();
    const std::vector<double> out =
        nan_to_num(Tensor::from_vector(in, {static_cast<int64_t>(in.size())}, t), 0, 1e5, -1e5).to_vector();
    CHECK(out[0] == 0);
    CHECK(out[1] == 1e5);
    CHECK(out[2] == -1e5);
    for (size_t i = 3; i < in.size(); ++i) CHECK(out[i] == (t == DType::f32 ? double(float(in[i])) : in[i]));
    CHECK(nan_to_num(Tensor::from_vector({std::nan("")}, {1}, t), 7).item() == 7);
    // In place: the same values, in the tensor's own storage.
    const Tensor x = Tensor::from_vector(in, {static_cast<int64_t>(in.size())}, t);
    const void* storage = x.raw();
    nan_to_num_(x);
    CHECK(x.raw() == storage);
    CHECK(x.to_vector() == out);
  }
}

TEST_CASE("nan_to_num on cuda matches the cpu", "[elementwise][cuda]") {
  const std::vector<double> in = special_values();
  const Tensor x = Tensor::from_vector(in, {static_cast<int64_t>(in.size())}, DType::f32);
  CHECK(nan_to_num(x.to(Device::cuda(0))).to_vector() == nan_to_num(x).to_vector());
  const Tensor g = x.to(Device::cuda(0));
  nan_to_num_(g);
  CHECK(g.to_vector() == nan_to_num(x).to_vector());
}

// The CPU kernels' loops are vectorized (kernels/elementwise.cpp is compiled
// with -fno-trapping-math -fno-math-errno, and the ternary rows are
// specialised by which operands are broadcast): each output must still be bit
// for bit the per-element formula of kernels/elementwise_ops.h, evaluated
// here one element at a time, on inputs that include the special values.
template <class T>
void check_elementwise_kernels_bitwise() {
  using L = std::numeric_limits<T>;
  std::vector<T> x = {T(0), -T(0), T(1), T(-1), T(0.5), T(-0.5), T(2.5), T(-3), L::infinity(), -L::infinity(),
                      L::quiet_NaN(), L::denorm_min(), -L::denorm_min(), L::min(), L::max(), -L::max(), T(1e-3)};
  const Tensor r = random_tensor({1003}, 77, DType::f64, Device::cpu(), 3.0);
  for (double v : r.to_vector()) x.push_back(static_cast<T>(v));
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<T> y(x.size()), z(x.size()), out(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[(i * 7 + 3) % x.size()], z[i] = x[(i * 13 + 5) % x.size()];
  auto same = [](T a, T b) { return std::memcmp(&a, &b, sizeof a) == 0; };

  const T a = T(-0.75), b = T(0.8), c = T(-5);
  const std::vector<UnaryOp> unary_ops = {
      UnaryOp::neg,  UnaryOp::exp,      UnaryOp::log,     UnaryOp::sqrt,    UnaryOp::rsqrt,      UnaryOp::square,
      UnaryOp::pow,  UnaryOp::abs,      UnaryOp::sign,    UnaryOp::clamp,   UnaryOp::softplus,   UnaryOp::sigmoid,
      UnaryOp::relu, UnaryOp::leaky_relu, UnaryOp::affine, UnaryOp::leaky_relu_slope, UnaryOp::in_range,
      UnaryOp::nan_to_num, UnaryOp::acos, UnaryOp::cos, UnaryOp::sin};
  for (UnaryOp op : unary_ops) {
    INFO("unary op " << int(op));
    cpu::unary<T>(op, x.data(), out.data(), n, a, b, c);
    int64_t bad = 0;
    dispatch_unary(op, [&](auto tag) {
      constexpr UnaryOp O = decltype(tag)::value;
      for (size_t i = 0; i < x.size(); ++i) bad += !same(out[i], unary_fn<O>(x[i], a, b, c));
    });
    CHECK(bad == 0);
  }

  Dims d;
  d.ndim = 1, d.size[0] = n;
  Strides dense, scalar;
  dense.v[0] = 1;
  for (BinaryOp op : {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div, BinaryOp::eq, BinaryOp::gt}) {
    INFO("binary op " << int(op));
    int64_t bad = 0;
    dispatch_binary(op, [&](auto tag) {
      constexpr BinaryOp O = decltype(tag)::value;
      cpu::binary<T>(op, x.data(), dense, y.data(), dense, out.data(), d);
      for (size_t i = 0; i < x.size(); ++i) bad += !same(out[i], binary_fn<O>(x[i], y[i]));
      cpu::binary<T>(op, x.data(), dense, y.data() + 4, scalar, out.data(), d);
      for (size_t i = 0; i < x.size(); ++i) bad += !same(out[i], binary_fn<O>(x[i], y[4]));
    });
    CHECK(bad == 0);
  }

  // Ternary: every pattern of dense and broadcast operands, as one row (the
  // flat loop) and as rows of 17 with a column broadcast (the row loop).
  Dims d2;
  d2.ndim = 2, d2.size[0] = n / 17, d2.size[1] = 17;
  const int64_t n2 = d2.size[0] * 17;
  for (TernaryOp op : {TernaryOp::where, TernaryOp::lerp})
    for (int mask = 0; mask < 8; ++mask) {
      INFO("ternary op " << int(op) << " dense operands " << mask);
      int64_t bad = 0;
      dispatch_ternary(op, [&](auto tag) {
        constexpr TernaryOp O = decltype(tag)::value;
        const Strides& sa = mask & 1 ? dense : scalar;
        const Strides& sb = mask & 2 ? dense : scalar;
        const Strides& sc = mask & 4 ? dense : scalar;
        cpu::ternary<T>(op, x.data(), sa, y.data(), sb, z.data(), sc, out.data(), d);
        for (size_t i = 0; i < x.size(); ++i)
          bad += !same(out[i], ternary_fn<O>(x[mask & 1 ? i : 0], y[mask & 2 ? i : 0], z[mask & 4 ? i : 0]));
        // [n/17, 17]: a dense operand walks both dims, a broadcast one is a column [n/17, 1].
        Strides rows_dense, column;
        rows_dense.v[0] = 17, rows_dense.v[1] = 1, column.v[0] = 1;
        cpu::ternary<T>(op, x.data(), mask & 1 ? rows_dense : column, y.data(), mask & 2 ? rows_dense : column,
                        z.data(), mask & 4 ? rows_dense : column, out.data(), d2);
        for (int64_t i = 0; i < n2; ++i) {
          const size_t row = static_cast<size_t>(i / 17), e = static_cast<size_t>(i);
          bad += !same(out[e], ternary_fn<O>(x[mask & 1 ? e : row], y[mask & 2 ? e : row], z[mask & 4 ? e : row]));
        }
      });
      CHECK(bad == 0);
    }
}

TEST_CASE("elementwise CPU kernels equal the per-element formulas bit for bit, special values included",
          "[elementwise]") {
  check_elementwise_kernels_bitwise<float>();
  check_elementwise_kernels_bitwise<double>();
}
