// pixel_norm and its gradient op pixel_norm_grad: values against a loop over
// every dim and against the gradient composed from engine ops, golden values
// from the official normalize_2nd_moment in PyTorch, first- and second-order
// gradients, argument errors, CUDA vs CPU, and the CPU kernels bit for bit
// against their scalar formulas.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/ops/pixel_norm.h"
#include "kernels/pixel_norm.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

// x [A, B, C] normalized over `dim` with plain loops.
std::vector<double> naive_pixel_norm(const Tensor& x, int dim, double eps) {
  const Shape s = x.shape();
  const std::vector<double> v = x.to_vector();
  std::vector<double> out(v.size());
  const int64_t st[3] = {s[1] * s[2], s[2], 1};
  for (int64_t a = 0; a < s[0]; ++a)
    for (int64_t b = 0; b < s[1]; ++b)
      for (int64_t c = 0; c < s[2]; ++c) {
        const int64_t base = a * st[0] + b * st[1] + c * st[2] - (dim == 0 ? a : dim == 1 ? b : c) * st[dim];
        double ss = 0;
        for (int64_t k = 0; k < s[size_t(dim)]; ++k) ss += v[size_t(base + k * st[dim])] * v[size_t(base + k * st[dim])];
        const size_t i = size_t(a * st[0] + b * st[1] + c);
        out[i] = v[i] / std::sqrt(ss / double(s[size_t(dim)]) + eps);
      }
  return out;
}

// pixel_norm's gradient composed from engine ops, as it was written before
// the fused kernel: s * (g - y * mean(g * y)), y = x * s.
Tensor composed_grad(const Tensor& x, const Tensor& g, int64_t dim, double eps) {
  const Tensor s = rsqrt(affine(mean(square(x), {dim}, true), 1.0, eps));
  const Tensor y = mul(x, s);
  return mul(s, sub(g, mul(y, mean(mul(g, y), {dim}, true))));
}

const std::vector<std::pair<Shape, int>> kGradCases = {{{2, 3, 4, 5}, 1}, {{2, 3, 4, 5}, 3}, {{2, 3, 4, 5}, 0},
                                                       {{3, 5}, 1},       {{1, 7}, 1},       {{4, 1, 3}, 1}};

}  // namespace

TEST_CASE("pixel_norm matches a loop over any dim", "[pixel_norm]") {
  const Tensor x = random_tensor({3, 4, 5}, 1);
  for (int dim : {0, 1, 2}) {
    INFO("dim " << dim);
    const Tensor want = Tensor::from_vector(naive_pixel_norm(x, dim, 1e-8), x.shape(), DType::f64);
    CHECK(allclose(pixel_norm(x, dim), want, 1e-13, 1e-14).ok);
    CHECK(allclose(pixel_norm(x.to(DType::f32), dim), want, 1e-6, 1e-6).ok);
    // Unit second moment along dim.
    const Tensor ms = mean(square(pixel_norm(x, dim)), {dim});
    CHECK(allclose(ms, ones_like(ms), 1e-5, 0).ok);  // ms / (ms + eps)
  }
  CHECK(pixel_norm(x, -1).to_vector() == pixel_norm(x, 2).to_vector());
  // eps keeps a zero vector finite.
  CHECK(pixel_norm(zeros({2, 4}, DType::f64)).to_vector() == std::vector<double>(8, 0.0));
  const Tensor big_eps = Tensor::from_vector({3, 4}, {1, 2}, DType::f64);
  CHECK(pixel_norm(big_eps, 1, 0.5).to_vector()[0] == Approx(3 / std::sqrt(12.5 + 0.5)));
}

TEST_CASE("pixel_norm matches the official reference (PyTorch golden values)", "[pixel_norm]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/gan_golden_a.bin");
  for (const std::string name : {"pn_nchw", "pn_z"}) {
    INFO(name);
    Tensor x = g.at(name + ".x");
    x.requires_grad_();
    const Tensor y = pixel_norm(x, 1);
    const Check cy = allclose(y, g.at(name + ".y"), 1e-12, 1e-12);
    INFO(cy.message);
    CHECK(cy.ok);
    const Check cg = allclose(grad({y}, {x}, {g.at(name + ".gy")})[0], g.at(name + ".gx"), 1e-10, 1e-12);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("pixel_norm: first- and second-order gradients", "[pixel_norm][grad]") {
  const Tensor x4 = random_tensor({2, 3, 2, 2}, 2).requires_grad_();
  const Tensor z = random_tensor({3, 5}, 3).requires_grad_();
  for (const auto& [x, dim] : std::vector<std::pair<Tensor, int>>{{x4, 1}, {x4, 3}, {z, 1}, {z, 0}}) {
    INFO(shape_str(x.shape()) << " dim " << dim);
    const Fn fn = [dim = dim](const std::vector<Tensor>& v) { return pixel_norm(v[0], dim); };
    check_first_and_second_order(fn, {x});
  }
}

TEST_CASE("pixel_norm rejects bad arguments with a clear message", "[pixel_norm]") {
  const Tensor x = random_tensor({2, 3}, 4, DType::f32);
  REQUIRE_THROWS_WITH(pixel_norm(x, 2), Catch::Contains("pixel_norm") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(pixel_norm(x, 1, -1.0), Catch::Contains("eps must be non-negative"));
}

TEST_CASE("pixel_norm on cuda matches the cpu", "[pixel_norm][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<std::pair<Shape, int>> cases = {
      {{1, 512}, 1},      {{32, 512}, 1},   {{3, 513}, 1},        {{7, 33}, 0},         {{1, 3, 7, 5}, 1},
      {{5, 130, 3, 3}, 1}, {{2, 512, 4, 4}, 1}, {{4, 16, 9, 9}, -1}, {{32, 512, 16, 16}, 1}};
  uint64_t seed = 50;
  for (const auto& [s, dim] : cases) {
    INFO(shape_str(s) << " dim " << dim);
    const Tensor x = random_tensor(s, seed++, DType::f32);
    const Tensor want = pixel_norm(x, dim), xd = x.to(gpu);
    const Check ck = allclose(pixel_norm(xd, dim), want, 1e-5, 1e-6);
    INFO(ck.message);
    CHECK(ck.ok);
    Tensor xg = x.to(gpu).requires_grad_(), xc = x.detach().requires_grad_();
    const Tensor gy = random_tensor(s, seed++, DType::f32);
    const Check cg = allclose(grad({pixel_norm(xg, dim)}, {xg}, {gy.to(gpu)})[0],
                              grad({pixel_norm(xc, dim)}, {xc}, {gy})[0], 1e-4, 1e-5);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("pixel_norm_grad matches the gradient composed from ops", "[pixel_norm]") {
  uint64_t seed = 10;
  for (const auto& [s, dim] : kGradCases)
    for (double eps : {1e-8, 0.5}) {
      INFO(shape_str(s) << " dim " << dim << " eps " << eps);
      const Tensor x = random_tensor(s, seed++), g = random_tensor(s, seed++);
      const Tensor want = composed_grad(x, g, dim, eps);
      const Check c64 = allclose(pixel_norm_grad(x, g, dim, eps), want, 1e-12, 1e-13);
      INFO(c64.message);
      CHECK(c64.ok);
      const Check c32 = allclose(pixel_norm_grad(x.to(DType::f32), g.to(DType::f32), dim, eps), want, 1e-5, 1e-6);
      INFO(c32.message);
      CHECK(c32.ok);
    }
  // The normalized vector's own direction has no gradient: J x = eps * s^3 x, ~0.
  const Tensor x = random_tensor({4, 6}, 30);
  CHECK(allclose(pixel_norm_grad(x, x, 1), zeros_like(x), 0, 1e-7).ok);
}

TEST_CASE("pixel_norm_grad: first- and second-order gradients in x and g", "[pixel_norm][grad]") {
  uint64_t seed = 40;
  for (const auto& [s, dim] : kGradCases) {
    INFO(shape_str(s) << " dim " << dim);
    const Tensor x = random_tensor(s, seed++).requires_grad_(), g = random_tensor(s, seed++).requires_grad_();
    const Fn fn = [dim = dim](const std::vector<Tensor>& v) { return pixel_norm_grad(v[0], v[1], dim); };
    check_first_and_second_order(fn, {x, g});
  }
}

TEST_CASE("pixel_norm_grad rejects bad arguments with a clear message", "[pixel_norm]") {
  const Tensor x = random_tensor({2, 3}, 5, DType::f32);
  REQUIRE_THROWS_WITH(pixel_norm_grad(x, random_tensor({3, 2}, 6, DType::f32)),
                      Catch::Contains("pixel_norm_grad") && Catch::Contains("does not match x"));
  REQUIRE_THROWS_WITH(pixel_norm_grad(x, x.to(DType::f64)), Catch::Contains("different dtypes"));
  REQUIRE_THROWS_WITH(pixel_norm_grad(x, x, 2), Catch::Contains("pixel_norm_grad") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(pixel_norm_grad(x, x, 1, -1.0), Catch::Contains("eps must be non-negative"));
}

TEST_CASE("pixel_norm_grad on cuda matches the cpu", "[pixel_norm][cuda]") {
  const Device gpu = Device::cuda(0);
  // Rows (inner 1) of 2, 512 and 513 elements; column tiles with inner not a multiple of 32.
  const std::vector<std::pair<Shape, int>> cases = {
      {{1, 512}, 1},       {{32, 512}, 1},      {{3, 513}, 1},        {{5, 2}, 1},           {{7, 33}, 0},
      {{1, 3, 7, 5}, 1},   {{5, 130, 3, 3}, 1}, {{2, 512, 4, 4}, 1}, {{4, 16, 9, 9}, -1},  {{1, 31, 1, 33}, 1},
      {{32, 512, 16, 16}, 1}};
  uint64_t seed = 60;
  for (const auto& [s, dim] : cases) {
    INFO(shape_str(s) << " dim " << dim);
    const Tensor x = random_tensor(s, seed++, DType::f32), g = random_tensor(s, seed++, DType::f32);
    const Tensor want = pixel_norm_grad(x, g, dim), xd = x.to(gpu), gd = g.to(gpu);
    const Check ck = allclose(pixel_norm_grad(xd, gd, dim), want, 1e-4, 1e-5);
    INFO(ck.message);
    CHECK(ck.ok);
    // Its backward (engine ops around the kernel) on the GPU as well.
    Tensor xg = x.to(gpu).requires_grad_(), gg = g.to(gpu).requires_grad_();
    Tensor xc = x.detach().requires_grad_(), gc = g.detach().requires_grad_();
    const Tensor h = random_tensor(s, seed++, DType::f32);
    const auto dg = grad({pixel_norm_grad(xg, gg, dim)}, {xg, gg}, {h.to(gpu)});
    const auto dc = grad({pixel_norm_grad(xc, gc, dim)}, {xc, gc}, {h});
    for (size_t i = 0; i < 2; ++i) {
      const Check cg = allclose(dg[i], dc[i], 1e-3, 1e-4);
      INFO("input " << i << ": " << cg.message);
      CHECK(cg.ok);
    }
  }
}

// kernels/pixel_norm.cpp is compiled with -fno-math-errno so the loops over
// 1/sqrt vectorize (CMakeLists.txt): y and dx must still be bit for bit the
// scalar formulas evaluated here one column at a time, with the kernel's
// order of operations (sums in double over r in ascending order; s = 1 /
// sqrt(ss / r + eps); y = x * s; dx = s * g - (gx * s * s * s / r) * x), on
// inputs with NaN, infinities, signed zeros, denormals and an all-zero
// column (eps 0 makes its s infinite), for a single column (z), a row length
// that is not a whole number of tiles and a vector tail, and a size past the
// kernel's threshold for threads.
template <class T>
void check_pixel_norm_kernels_bitwise() {
  using L = std::numeric_limits<T>;
  const std::vector<T> special = {T(0), -T(0), T(3), L::infinity(), -L::infinity(), L::quiet_NaN(),
                                  L::denorm_min(), -L::denorm_min(), L::min(), L::max()};
  // Any NaN equals any NaN: which NaN operand an operation returns follows
  // its operand order, and for a commutative * or + that order is the
  // compiler's. Every other value, signed zeros included, must match in bits.
  auto same = [](T a, T b) { return (a != a && b != b) || std::memcmp(&a, &b, sizeof a) == 0; };
  struct Case {
    int64_t outer, r, inner;
  };
  for (const Case k : {Case{5, 37, 1}, Case{3, 9, 70}, Case{2, 64, 300}})
    for (double eps : {1e-8, 0.0}) {
      INFO("outer " << k.outer << " r " << k.r << " inner " << k.inner << " eps " << eps);
      const int64_t n = k.outer * k.r * k.inner;
      const std::vector<double> rx = random_tensor({n}, 21, DType::f64, Device::cpu(), 2.0).to_vector();
      const std::vector<double> rg = random_tensor({n}, 22, DType::f64, Device::cpu(), 2.0).to_vector();
      std::vector<T> x(static_cast<size_t>(n)), g(x.size()), y(x.size()), dx(x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        // Sparse specials (about one column in three stays finite); column 1 of each outer index is all zero.
        x[i] = i % 53 == 7 ? special[(i / 53) % special.size()] : static_cast<T>(rx[i]);
        g[i] = i % 41 == 3 ? special[(i / 41) % special.size()] : static_cast<T>(rg[i]);
        if (static_cast<int64_t>(i) % k.inner == (k.inner > 1 ? 1 : 0) && (static_cast<int64_t>(i) / k.inner / k.r) % 2)
          x[i] = i % 2 ? -T(0) : T(0);
      }
      cpu::pixel_norm<T>(x.data(), y.data(), k.outer, k.r, k.inner, eps);
      cpu::pixel_norm_grad<T>(x.data(), g.data(), dx.data(), k.outer, k.r, k.inner, eps);
      int64_t bad_y = 0, bad_dx = 0;
      for (int64_t o = 0; o < k.outer; ++o)
        for (int64_t c = 0; c < k.inner; ++c) {
          const size_t at = static_cast<size_t>(o * k.r * k.inner + c), step = static_cast<size_t>(k.inner);
          double ss = 0, gx = 0;
          for (int64_t j = 0; j < k.r; ++j) {
            const double xv = x[at + j * step];
            ss += xv * xv;
            gx += xv * g[at + j * step];
          }
          const double s = 1.0 / std::sqrt(ss / static_cast<double>(k.r) + eps);
          const double m = gx * (s * s * s / static_cast<double>(k.r));
          for (int64_t j = 0; j < k.r; ++j) {
            const size_t e = at + j * step;
            bad_y += !same(y[e], static_cast<T>(x[e] * s));
            bad_dx += !same(dx[e], static_cast<T>(s * g[e] - m * x[e]));
          }
        }
      CHECK(bad_y == 0);
      CHECK(bad_dx == 0);
    }
}

TEST_CASE("pixel_norm CPU kernels equal the scalar formulas bit for bit, special values included", "[pixel_norm]") {
  check_pixel_norm_kernels_bitwise<float>();
  check_pixel_norm_kernels_bitwise<double>();
}
