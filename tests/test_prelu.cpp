// prelu: golden values from torch's F.prelu, gradients to second order,
// argument errors, CUDA vs CPU, and the CPU kernel bit for bit against the
// scalar formula.
#include <catch2/catch.hpp>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/ops/prelu.h"
#include "kernels/prelu.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::random_tensor;

TEST_CASE("prelu matches torch (golden values)", "[prelu]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/psp_ops_golden.bin");
  Tensor x = g.at("prelu.x").clone().requires_grad_(), a = g.at("prelu.a").clone().requires_grad_();
  const Tensor y = prelu(x, a);
  CHECK(allclose(y, g.at("prelu.y"), 1e-14, 1e-15).ok);
  const auto gr = grad({y}, {x, a}, {g.at("prelu.gy")});
  CHECK(allclose(gr[0], g.at("prelu.gx"), 1e-14, 1e-15).ok);
  const Check ca = allclose(gr[1], g.at("prelu.ga"), 1e-12, 1e-14);
  INFO(ca.message);
  CHECK(ca.ok);
}

TEST_CASE("prelu: per-channel and shared slopes, gradients", "[prelu][grad]") {
  const Tensor x = Tensor::from_vector({-2, 3, -1, 0.5, 4, -3}, {1, 2, 3}, DType::f64);
  const Tensor a = Tensor::from_vector({0.25, -0.5}, {2}, DType::f64);
  CHECK(prelu(x, a).to_vector() == std::vector<double>{-0.5, 3, -0.25, 0.5, 4, 1.5});
  CHECK(prelu(x, Tensor::from_vector({0.1}, {1}, DType::f64)).to_vector()[0] == Approx(-0.2));
  uint64_t seed = 5;
  for (const auto& [s, c] : std::vector<std::pair<Shape, int64_t>>{{{2, 3, 4, 3}, 3}, {{4, 5}, 5}, {{2, 3, 4}, 1}}) {
    INFO(shape_str(s) << " slopes " << c);
    const Tensor xs = random_tensor(s, seed++).requires_grad_(), as = random_tensor({c}, seed++).requires_grad_();
    const Fn fn = [](const std::vector<Tensor>& v) { return prelu(v[0], v[1]); };
    check_first_and_second_order(fn, {xs, as});
  }
}

// The backward selects each side's gradient (torch's prelu backward), so a
// NaN or inf from above, or an infinite slope, stays on its own side; the
// 0/1-mask form made a.grad NaN here (0 * NaN) and x.grad NaN (0 * inf).
TEST_CASE("prelu's gradients keep NaN and inf on their own side, as torch", "[prelu][grad]") {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const Tensor x = Tensor::from_vector({1, -1, 2, -3}, {2, 2}, DType::f64).requires_grad_();
  Tensor a = Tensor::from_vector({0.25}, {1}, DType::f64).requires_grad_();
  const Tensor g = Tensor::from_vector({nan, 1, inf, 1}, {2, 2}, DType::f64);
  auto gr = grad({prelu(x, a)}, {x, a}, {g});
  CHECK(gr[1].item() == -4);  // -1 + -3, the positive side's NaN and inf left out
  CHECK(std::isnan(gr[0].to_vector()[0]));
  CHECK(gr[0].to_vector()[1] == 0.25);
  // An infinite slope on a channel whose x is positive: that x's gradient is 1, not NaN.
  const Tensor xc = Tensor::from_vector({1, -1}, {1, 2}, DType::f64).requires_grad_();
  const Tensor slopes = Tensor::from_vector({inf, 0.5}, {2}, DType::f64);
  CHECK(grad({prelu(xc, slopes)}, {xc}, {Tensor::from_vector({1, 1}, {1, 2}, DType::f64)})[0].to_vector() ==
        std::vector<double>{1, 0.5});
}

TEST_CASE("prelu rejects bad slopes with a clear message", "[prelu]") {
  const Tensor x = random_tensor({2, 3, 4, 4}, 3, DType::f32);
  REQUIRE_THROWS_WITH(prelu(x, ones({4})), Catch::Contains("prelu") && Catch::Contains("[1] or [3]"));
  REQUIRE_THROWS_WITH(prelu(x, ones({3}, DType::f64)), Catch::Contains("different dtypes"));
}

TEST_CASE("prelu on cuda matches the cpu", "[prelu][cuda]") {
  const Device gpu = Device::cuda(0);
  uint64_t seed = 40;
  for (const auto& [s, c] : std::vector<std::pair<Shape, int64_t>>{
           {{8, 64, 32, 32}, 64}, {{3, 5, 7, 9}, 5}, {{16, 512}, 512}, {{2, 3, 5}, 1}}) {
    INFO(shape_str(s));
    const Tensor x = random_tensor(s, seed++, DType::f32), a = random_tensor({c}, seed++, DType::f32);
    Tensor xc = x.detach().requires_grad_(), ac = a.detach().requires_grad_();
    Tensor xg = x.to(gpu).requires_grad_(), ag = a.to(gpu).requires_grad_();
    const Tensor want = prelu(xc, ac);
    full(s, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
    const Tensor got = prelu(xg, ag);
    CHECK(allclose(got, want, 1e-6, 1e-7).ok);
    const Tensor gy = random_tensor(s, seed++, DType::f32);
    const auto dc = grad({want}, {xc, ac}, {gy}), dg = grad({got}, {xg, ag}, {gy.to(gpu)});
    CHECK(allclose(dg[0], dc[0], 1e-6, 1e-7).ok);
    const Check ca = allclose(dg[1], dc[1], 1e-4, 1e-4);
    INFO(ca.message);
    CHECK(ca.ok);
  }
}

// kernels/prelu.cpp is compiled with -fno-trapping-math so its select
// vectorizes (CMakeLists.txt): every output must still be bit for bit the
// scalar formula x > 0 ? x : a * x evaluated here one element at a time, on
// inputs and slopes that include NaN, infinities, signed zeros and denormals,
// with per-channel and shared slopes, a row length that leaves a vector tail,
// and a size past the kernel's threshold for threads.
template <class T>
void check_prelu_kernel_bitwise() {
  using L = std::numeric_limits<T>;
  const std::vector<T> special = {T(0), -T(0), T(1), T(-1), T(-2.5), L::infinity(), -L::infinity(), L::quiet_NaN(),
                                  L::denorm_min(), -L::denorm_min(), L::min(), -L::min(), L::max(), -L::max()};
  const std::vector<T> slopes = {T(0.25), T(-0.5), T(0), -T(0), T(1e-30), L::infinity(), L::quiet_NaN()};
  // Any NaN equals any NaN: which NaN operand an operation returns follows
  // its operand order, and for a commutative * or + that order is the
  // compiler's. Every other value, signed zeros included, must match in bits.
  auto same = [](T a, T b) { return (a != a && b != b) || std::memcmp(&a, &b, sizeof a) == 0; };
  for (const PreluDims d : {PreluDims{3, 7, 37, true}, PreluDims{5, 7, 1, true}, PreluDims{2, 7, 2500, true},
                            PreluDims{4, 7, 33, false}}) {
    INFO("outer " << d.outer << " c " << d.c << " inner " << d.inner << " per_channel " << d.per_channel);
    const int64_t n = d.outer * d.c * d.inner;
    std::vector<double> r = random_tensor({n}, 11, DType::f64, Device::cpu(), 2.0).to_vector();
    std::vector<T> x(static_cast<size_t>(n)), y(x.size());
    for (size_t i = 0; i < x.size(); ++i) x[i] = i % 5 == 0 ? special[(i / 5) % special.size()] : static_cast<T>(r[i]);
    for (size_t s = 0; s < slopes.size(); ++s) {
      // Each pass puts every slope on some channel; a shared slope takes slopes[s].
      std::vector<T> a(static_cast<size_t>(d.c));
      for (size_t c = 0; c < a.size(); ++c) a[c] = slopes[(c + s) % slopes.size()];
      cpu::prelu<T>(x.data(), a.data(), y.data(), d);
      int64_t bad = 0;
      for (int64_t i = 0; i < n; ++i) {
        const T s_i = a[d.per_channel ? static_cast<size_t>((i / d.inner) % d.c) : 0];
        const T xi = x[static_cast<size_t>(i)];
        bad += !same(y[static_cast<size_t>(i)], xi > T(0) ? xi : s_i * xi);
      }
      CHECK(bad == 0);
    }
  }
}

TEST_CASE("prelu CPU kernel equals the scalar formula bit for bit, special values included", "[prelu]") {
  check_prelu_kernel_bitwise<float>();
  check_prelu_kernel_bitwise<double>();
}
