// pixel_norm and its gradient op pixel_norm_grad: values against a loop over
// every dim and against the gradient composed from engine ops, golden values
// from the official normalize_2nd_moment in PyTorch, first- and second-order
// gradients, argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/pixel_norm.h"
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
