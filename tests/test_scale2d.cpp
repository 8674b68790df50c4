// upscale2d (nearest) and downscale2d (box): values against loops written from
// PGGAN's definitions (reshape-and-tile, avg_pool), each the other's adjoint,
// first- and second-order gradients, the fused resampling convolutions against
// the separate resampling and convolution they stand for, errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <limits>

#include "engine/ops/scale2d.h"
#include "models/fused_resample.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::random_tensor;

namespace {

std::vector<double> naive_upscale(const Tensor& x, int f) {
  const int64_t P = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
  const std::vector<double> v = x.to_vector();
  std::vector<double> out;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < H * f; ++i)
      for (int64_t j = 0; j < W * f; ++j) out.push_back(v[size_t((p * H + i / f) * W + j / f)]);
  return out;
}

std::vector<double> naive_downscale(const Tensor& x, int f) {
  const int64_t P = x.size(0) * x.size(1), H = x.size(2) / f, W = x.size(3) / f;
  const std::vector<double> v = x.to_vector();
  std::vector<double> out;
  for (int64_t p = 0; p < P; ++p)
    for (int64_t i = 0; i < H; ++i)
      for (int64_t j = 0; j < W; ++j) {
        double s = 0;
        for (int a = 0; a < f; ++a)
          for (int b = 0; b < f; ++b) s += v[size_t((p * H * f + i * f + a) * W * f + j * f + b)];
        out.push_back(s / (f * f));
      }
  return out;
}

Shape up_shape(const Tensor& x, int f) { return {x.size(0), x.size(1), x.size(2) * f, x.size(3) * f}; }
Shape down_shape(const Tensor& x, int f) { return {x.size(0), x.size(1), x.size(2) / f, x.size(3) / f}; }

double dot(const Tensor& a, const Tensor& b) { return sum(mul(a, b)).item(); }

}  // namespace

TEST_CASE("upscale2d repeats every value over a block; downscale2d takes the block mean", "[scale2d]") {
  uint64_t seed = 1;
  for (int f : {1, 2, 3, 4, 8}) {
    INFO("factor " << f);
    const Tensor x = random_tensor({2, 3, 3, 5}, seed++);
    const Tensor up = upscale2d(x, f);
    CHECK(up.shape() == up_shape(x, f));
    CHECK(up.to_vector() == naive_upscale(x, f));
    CHECK(allclose(upscale2d(x, f, -0.5), up * -0.5, 1e-15, 0).ok);
    const Tensor big = random_tensor({2, 3, 4 * f, 2 * f}, seed++);
    const Tensor down = downscale2d(big, f);
    CHECK(down.shape() == down_shape(big, f));
    CHECK(allclose(down, Tensor::from_vector(naive_downscale(big, f), down.shape(), DType::f64), 1e-14, 1e-15).ok);
    CHECK(allclose(downscale2d(big, f, 3.0), down * 3.0, 1e-14, 1e-15).ok);
    CHECK(allclose(downscale2d(big.to(DType::f32), f), down, 1e-6, 1e-6).ok);
    // The box mean of a nearest upscale gives the input back.
    CHECK(allclose(downscale2d(up, f), x, 1e-14, 1e-15).ok);
  }
}

TEST_CASE("upscale2d and downscale2d are adjoint up to f^2", "[scale2d]") {
  for (int f : {2, 4}) {
    const Tensor x = random_tensor({2, 2, 3, 4}, 10 + f), y = random_tensor({2, 2, 3 * f, 4 * f}, 20 + f);
    CHECK(dot(upscale2d(x, f), y) == Approx(f * f * dot(x, downscale2d(y, f))).epsilon(1e-12));
  }
}

TEST_CASE("upscale2d and downscale2d: first- and second-order gradients", "[scale2d][grad]") {
  for (int f : {2, 3}) {
    INFO("factor " << f);
    const Tensor x = random_tensor({2, 2, 2, 3}, 30 + f).requires_grad_();
    check_first_and_second_order([f](const std::vector<Tensor>& v) { return upscale2d(v[0], f, 0.7); }, {x});
    // Squared, so the second derivative is not identically zero.
    check_first_and_second_order([f](const std::vector<Tensor>& v) { return square(upscale2d(v[0], f)); }, {x});
    const Tensor big = random_tensor({2, 2, 2 * f, 3 * f}, 40 + f).requires_grad_();
    check_first_and_second_order([f](const std::vector<Tensor>& v) { return downscale2d(v[0], f, 1.3); }, {big});
    check_first_and_second_order([f](const std::vector<Tensor>& v) { return square(downscale2d(v[0], f)); }, {big});
  }
}

TEST_CASE("upscale2d and downscale2d reject bad arguments with a clear message", "[scale2d]") {
  const Tensor x = random_tensor({1, 2, 6, 6}, 50, DType::f32);
  REQUIRE_THROWS_WITH(downscale2d(x, 4), Catch::Contains("downscale2d") && Catch::Contains("multiples of 4"));
  REQUIRE_THROWS_WITH(upscale2d(x, 0), Catch::Contains("factor must be at least 1"));
  REQUIRE_THROWS_WITH(upscale2d(random_tensor({2, 6}, 51)), Catch::Contains("x must be [N, C, H, W]"));
}

TEST_CASE("fused resampling convs equal resampling and convolving separately", "[scale2d]") {
  uint64_t seed = 60;
  for (int k : {1, 3, 5}) {
    INFO("kernel " << k);
    const Tensor w = random_tensor({4, 3, k, k}, seed++);
    Conv2dParams same;
    same.pad_h = same.pad_w = k / 2;
    // four_shift_sum against its definition.
    const Tensor w4 = four_shift_sum(w);
    REQUIRE(w4.shape() == Shape{4, 3, k + 1, k + 1});
    const std::vector<double> wv = w.to_vector(), w4v = w4.to_vector();
    auto at = [&](int64_t o, int64_t i, int64_t a, int64_t b) {
      return a < 0 || b < 0 || a >= k || b >= k ? 0.0 : wv[size_t(((o * 3 + i) * k + a) * k + b)];
    };
    for (int64_t o = 0; o < 4; ++o)
      for (int64_t i = 0; i < 3; ++i)
        for (int64_t a = 0; a <= k; ++a)
          for (int64_t b = 0; b <= k; ++b)
            CHECK(w4v[size_t(((o * 3 + i) * (k + 1) + a) * (k + 1) + b)] ==
                  Approx(at(o, i, a, b) + at(o, i, a - 1, b) + at(o, i, a, b - 1) + at(o, i, a - 1, b - 1)));
    // Fused == separate, borders included. The transposed conv (the adjoint of
    // a correlation) applies the kernel flipped.
    const Tensor x = random_tensor({2, 3, 5, 4}, seed++);
    CHECK(allclose(upscale2d_conv2d(x, w), conv2d(upscale2d(x, 2), flip(w, {2, 3}), same), 1e-12, 1e-12).ok);
    const Tensor xe = random_tensor({2, 3, 6, 8}, seed++);
    CHECK(allclose(conv2d_downscale2d(xe, w), downscale2d(conv2d(xe, w, same), 2), 1e-12, 1e-12).ok);
  }
}

TEST_CASE("fused resampling convs: first- and second-order gradients in x and w", "[scale2d][grad]") {
  const Tensor x = random_tensor({2, 2, 3, 3}, 70).requires_grad_();
  const Tensor xe = random_tensor({2, 2, 4, 4}, 71).requires_grad_();
  const Tensor w = random_tensor({3, 2, 3, 3}, 72).requires_grad_();
  check_first_and_second_order([](const std::vector<Tensor>& v) { return square(upscale2d_conv2d(v[0], v[1])); },
                               {x, w});
  check_first_and_second_order([](const std::vector<Tensor>& v) { return square(conv2d_downscale2d(v[0], v[1])); },
                               {xe, w});
}

TEST_CASE("upscale2d and downscale2d on cuda match the cpu", "[scale2d][cuda]") {
  const Device gpu = Device::cuda(0);
  struct Case {
    Shape x;
    int f;
  };
  // Small planes, odd sizes, a large factor (an image shrunk to 4x4) and a large tensor.
  const std::vector<Case> cases = {{{1, 1, 1, 1}, 2}, {{2, 3, 5, 7}, 2}, {{3, 2, 4, 4}, 3},
                                   {{2, 3, 4, 4}, 64}, {{8, 64, 32, 32}, 2}};
  uint64_t seed = 80;
  for (const Case& c : cases) {
    INFO(shape_str(c.x) << " factor " << c.f);
    const Tensor x = random_tensor(c.x, seed++, DType::f32);
    const Shape us = {c.x[0], c.x[1], c.x[2] * c.f, c.x[3] * c.f};
    // NaNs in the cached block the output will reuse: an unwritten element fails.
    const Tensor xd = x.to(gpu);
    full(us, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
    CHECK(upscale2d(xd, c.f, 0.5).to(Device::cpu()).to_vector() == upscale2d(x, c.f, 0.5).to_vector());
    const Tensor big = random_tensor(us, seed++, DType::f32), bigd = big.to(gpu);
    full(c.x, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
    const Check ck = allclose(downscale2d(bigd, c.f, 1.5), downscale2d(big, c.f, 1.5), 1e-5, 1e-6);
    INFO(ck.message);
    CHECK(ck.ok);
    // Backwards, which run the other op, on the GPU as well.
    Tensor xg = x.to(gpu).requires_grad_(), xc = x.detach().requires_grad_();
    const Tensor gy = random_tensor(us, seed++, DType::f32);
    // Each gradient element sums f^2 values in the kernel's order: the
    // rounding grows with the factor (4096 terms at 64).
    const Check cg = allclose(grad({upscale2d(xg, c.f)}, {xg}, {gy.to(gpu)})[0], grad({upscale2d(xc, c.f)}, {xc}, {gy})[0],
                              1e-5, 1e-5 * c.f);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}
