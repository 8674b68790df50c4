// adaptive_avg_pool2d and max_pool2d: golden values from torch, torch's bin
// rule checked against a loop (188 -> 112 among others), the 1x1 strided max
// pool as a strided slice, gradients (the adjoint pairs to second order),
// argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/pool2d.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::gradcheck;
using gf::test::random_tensor;

namespace {

const io::TensorMap& golden() {
  static const io::TensorMap g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/psp_ops_golden.bin");
  return g;
}

void check_golden(const std::string& key, const std::function<Tensor(const Tensor&)>& f) {
  INFO(key);
  const auto& g = golden();
  Tensor x = g.at(key + ".x").clone().requires_grad_();
  const Tensor y = f(x);
  const Check cy = allclose(y, g.at(key + ".y"), 1e-13, 1e-14);
  INFO(cy.message);
  CHECK(cy.ok);
  const Check cg = allclose(grad({y}, {x}, {g.at(key + ".gy")})[0], g.at(key + ".gx"), 1e-13, 1e-14);
  INFO(cg.message);
  CHECK(cg.ok);
}

MaxPool2dParams mp(int k, int s, int p) {
  MaxPool2dParams m;
  m.kernel_h = m.kernel_w = k;
  m.stride_h = m.stride_w = s;
  m.pad_h = m.pad_w = p;
  return m;
}

}  // namespace

TEST_CASE("adaptive_avg_pool2d matches torch (golden values)", "[pool2d]") {
  check_golden("aap_16_7", [](const Tensor& x) { return adaptive_avg_pool2d(x, 7, 7); });
  check_golden("aap_11x13_5x4", [](const Tensor& x) { return adaptive_avg_pool2d(x, 5, 4); });
  check_golden("aap_47_28", [](const Tensor& x) { return adaptive_avg_pool2d(x, 28, 28); });
  check_golden("aap_6_1", [](const Tensor& x) { return adaptive_avg_pool2d(x, 1, 1); });
  check_golden("aap_5_8", [](const Tensor& x) { return adaptive_avg_pool2d(x, 8, 8); });
}

TEST_CASE("adaptive_avg_pool2d follows torch's bins: 188 -> 112 and exact divisions", "[pool2d]") {
  // ID loss: a 188x188 face crop pooled to 112x112; bins of 2 or 3 rows that overlap.
  const Tensor x = random_tensor({1, 2, 188, 188}, 1);
  const Tensor y = adaptive_avg_pool2d(x, 112, 112);
  const auto xv = x.to_vector(), yv = y.to_vector();
  double worst = 0;
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t i = 0; i < 112; ++i)
      for (int64_t j = 0; j < 112; ++j) {
        const int64_t y0 = i * 188 / 112, y1 = ((i + 1) * 188 + 111) / 112;
        const int64_t x0 = j * 188 / 112, x1 = ((j + 1) * 188 + 111) / 112;
        double s = 0;
        for (int64_t r = y0; r < y1; ++r)
          for (int64_t c = x0; c < x1; ++c) s += xv[size_t((p * 188 + r) * 188 + c)];
        worst = std::max(worst, std::fabs(s / double((y1 - y0) * (x1 - x0)) - yv[size_t((p * 112 + i) * 112 + j)]));
      }
  CHECK(worst < 1e-14);
  // pSp's resize_outputs: 1024 -> 256 is exactly 4x4 box averaging.
  const Tensor z = random_tensor({1, 1, 16, 16}, 2);
  const Tensor box = mean(z.reshape({1, 1, 4, 4, 4, 4}), {3, 5});
  CHECK(allclose(adaptive_avg_pool2d(z, 4, 4), box, 1e-14, 1e-15).ok);
}

TEST_CASE("max_pool2d matches torch (golden values); 1x1 stride 2 is a strided slice", "[pool2d]") {
  check_golden("mp_3s2p1", [](const Tensor& x) { return max_pool2d(x, mp(3, 2, 1)); });
  check_golden("mp_3s2p0", [](const Tensor& x) { return max_pool2d(x, mp(3, 2, 0)); });
  check_golden("mp_1s2", [](const Tensor& x) { return max_pool2d(x, mp(1, 2, 0)); });
  check_golden("mp_2s2", [](const Tensor& x) { return max_pool2d(x, mp(2, 2, 0)); });
  const Tensor x = random_tensor({2, 3, 9, 8}, 3);
  CHECK(max_pool2d(x, mp(1, 2, 0)).to_vector() == slice(slice(x, 2, 0, 9, 2), 3, 0, 8, 2).to_vector());
  // Ties: the first maximum gets the whole gradient.
  Tensor t = ones({1, 1, 2, 2}, DType::f64).requires_grad_();
  const Tensor gt = grad({max_pool2d(t, mp(2, 2, 0))}, {t}, {full({1, 1, 1, 1}, 5.0, DType::f64)})[0];
  CHECK(gt.to_vector() == std::vector<double>{5, 0, 0, 0});
  // Several NaNs in a window: the last one in row-major order takes the gradient, as torch's
  // kernels keep it (val > maxval || isnan(val)).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Tensor n = Tensor::from_vector({nan, 1, nan, 2}, {1, 1, 2, 2}, DType::f64).requires_grad_();
  const Tensor y = max_pool2d(n, mp(2, 2, 0));
  CHECK(std::isnan(y.item()));
  CHECK(grad({y}, {n}, {full({1, 1, 1, 1}, 5.0, DType::f64)})[0].to_vector() == std::vector<double>{0, 0, 5, 0});
}

TEST_CASE("pooling gradients: adaptive pairs to second order, max pool first order", "[pool2d][grad]") {
  uint64_t seed = 10;
  for (const auto& [s, o] : std::vector<std::pair<Shape, Shape>>{
           {{1, 2, 7, 6}, {3, 4}}, {{2, 1, 5, 5}, {5, 5}}, {{1, 1, 3, 4}, {5, 7}}, {{1, 2, 4, 4}, {1, 1}}}) {
    INFO(shape_str(s) << " -> " << shape_str(o));
    const Tensor x = random_tensor(s, seed++).requires_grad_();
    const Fn f = [o = o](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], o[0], o[1]); };
    check_first_and_second_order(f, {x});
    const Tensor g = random_tensor({s[0], s[1], o[0], o[1]}, seed++).requires_grad_();
    const Fn fb = [s = s](const std::vector<Tensor>& v) { return adaptive_avg_pool2d_backward(v[0], s[2], s[3]); };
    check_first_and_second_order(fb, {g});
  }
  for (const auto& [k, st, p] : std::vector<std::tuple<int, int, int>>{{3, 2, 1}, {3, 2, 0}, {1, 2, 0}, {2, 1, 1}}) {
    INFO("max pool " << k << " stride " << st << " pad " << p);
    // Distinct values spaced well beyond the finite-difference step: no ties, no switching maxima.
    std::vector<double> v(2 * 3 * 7 * 6);
    for (size_t i = 0; i < v.size(); ++i) v[i] = double((i * 37) % v.size()) * 0.01;
    const Tensor x = Tensor::from_vector(v, {2, 3, 7, 6}, DType::f64).requires_grad_();
    const Fn f = [m = mp(k, st, p)](const std::vector<Tensor>& in) { return max_pool2d(in[0], m); };
    const Check c = gradcheck(f, {x});
    INFO(c.message);
    CHECK(c.ok);
    // The gradient's gradient in g is a gather at the maxima: check it by finite differences in g.
    const Tensor gg = random_tensor(max_pool2d(x, mp(k, st, p)).shape(), seed++).requires_grad_();
    const Fn fb = [x, m = mp(k, st, p)](const std::vector<Tensor>& in) { return max_pool2d_backward(x.detach(), in[0], m); };
    const Check cb = gradcheck(fb, {gg});
    INFO(cb.message);
    CHECK(cb.ok);
  }
}

TEST_CASE("pooling rejects bad arguments with a clear message", "[pool2d]") {
  const Tensor x = random_tensor({2, 3, 4, 4}, 3, DType::f32);
  REQUIRE_THROWS_WITH(adaptive_avg_pool2d(ones({3, 4, 4}), 2, 2), Catch::Contains("[N, C, H, W]"));
  REQUIRE_THROWS_WITH(adaptive_avg_pool2d(x, 0, 2), Catch::Contains("output size must be positive"));
  REQUIRE_THROWS_WITH(max_pool2d(x, mp(3, 2, 2)), Catch::Contains("padding must be between 0 and half"));
  REQUIRE_THROWS_WITH(max_pool2d(x, mp(5, 1, 0)), Catch::Contains("smaller than the 5x5 window"));
  REQUIRE_THROWS_WITH(max_pool2d(x, mp(3, 0, 0)), Catch::Contains("must be positive"));
  REQUIRE_THROWS_WITH(max_pool2d_backward(x, ones({2, 3, 3, 3}), mp(3, 2, 1)), Catch::Contains("does not match"));
}

TEST_CASE("pooling on cuda matches the cpu", "[pool2d][cuda]") {
  const Device gpu = Device::cuda(0);
  uint64_t seed = 90;
  const auto nan_fill = [&](const Shape& s) { full(s, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu); };
  for (const auto& [s, o] : std::vector<std::pair<Shape, Shape>>{
           {{4, 64, 16, 16}, {7, 7}}, {{1, 3, 188, 188}, {112, 112}}, {{2, 512, 16, 16}, {1, 1}},
           {{8, 3, 1024, 256}, {256, 64}}, {{1, 2, 5, 5}, {8, 8}}}) {
    INFO("adaptive " << shape_str(s) << " -> " << shape_str(o));
    const Tensor x = random_tensor(s, seed++, DType::f32);
    Tensor xc = x.detach().requires_grad_(), xg = x.to(gpu).requires_grad_();
    const Tensor want = adaptive_avg_pool2d(xc, o[0], o[1]);
    nan_fill(want.shape());
    const Tensor got = adaptive_avg_pool2d(xg, o[0], o[1]);
    CHECK(allclose(got, want, 1e-5, 1e-6).ok);
    const Tensor gy = random_tensor(want.shape(), seed++, DType::f32);
    const Tensor dc = grad({want}, {xc}, {gy})[0];
    nan_fill(s);
    CHECK(allclose(grad({got}, {xg}, {gy.to(gpu)})[0], dc, 1e-5, 1e-6).ok);
  }
  for (const auto& [s, k, st, p] : std::vector<std::tuple<Shape, int, int, int>>{
           {{8, 64, 128, 128}, 1, 2, 0}, {{4, 64, 33, 31}, 3, 2, 1}, {{2, 5, 9, 10}, 3, 2, 0}, {{1, 3, 6, 6}, 2, 2, 0}}) {
    INFO("max " << shape_str(s) << " k " << k << " s " << st << " p " << p);
    const Tensor x = random_tensor(s, seed++, DType::f32);
    Tensor xc = x.detach().requires_grad_(), xg = x.to(gpu).requires_grad_();
    const Tensor want = max_pool2d(xc, mp(k, st, p));
    nan_fill(want.shape());
    const Tensor got = max_pool2d(xg, mp(k, st, p));
    CHECK(allclose(got, want, 0, 0).ok);
    const Tensor gy = random_tensor(want.shape(), seed++, DType::f32);
    const Tensor dc = grad({want}, {xc}, {gy})[0];
    nan_fill(s);
    CHECK(allclose(grad({got}, {xg}, {gy.to(gpu)})[0], dc, 1e-6, 1e-7).ok);
  }
}
