// batch_norm: training mode (batch statistics, running-stat updates) and eval
// mode against torch's F.batch_norm (golden values), the fused backward
// against the one composed of ops, finite-difference gradients, argument
// errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <limits>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/batch_norm.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

const io::TensorMap& golden() {
  static const io::TensorMap g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/psp_ops_golden.bin");
  return g;
}

void expect_close(const Tensor& a, const Tensor& b, double rtol, double atol, const std::string& what) {
  const Check c = allclose(a, b, rtol, atol);
  INFO(what << ": " << c.message);
  CHECK(c.ok);
}

}  // namespace

TEST_CASE("batch_norm matches torch in training and eval mode (golden values)", "[batch_norm]") {
  const auto& g = golden();
  for (const std::string name : {"bn2d", "bn1d", "bn1d3"}) {
    for (const std::string mode : {"train", "eval"}) {
      INFO(name << " " << mode);
      Tensor x = g.at(name + ".x").clone().requires_grad_(), w = g.at(name + ".w").clone().requires_grad_();
      Tensor b = g.at(name + ".b").clone().requires_grad_();
      const Tensor rm = g.at(name + ".rm0").clone(), rv = g.at(name + ".rv0").clone();
      const std::string k = name + "." + mode;
      const Tensor y = batch_norm(x, w, b, rm, rv, mode == "train");
      expect_close(y, g.at(k + ".y"), 1e-12, 1e-12, "y");
      // Running stats: updated with momentum 0.1 and the unbiased variance in training, untouched in eval.
      expect_close(rm, g.at(k + ".rm"), 1e-12, 1e-14, "running_mean");
      expect_close(rv, g.at(k + ".rv"), 1e-12, 1e-14, "running_var");
      const auto gr = grad({y}, {x, w, b}, {g.at(k + ".gy")});
      expect_close(gr[0], g.at(k + ".gx"), 1e-10, 1e-12, "dx");
      expect_close(gr[1], g.at(k + ".gw"), 1e-10, 1e-12, "dweight");
      expect_close(gr[2], g.at(k + ".gb"), 1e-10, 1e-12, "dbias");
    }
    INFO(name << " without affine or running stats");
    Tensor x = g.at(name + ".x").clone().requires_grad_();
    const Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
    expect_close(y, g.at(name + ".plain.y"), 1e-12, 1e-12, "y");
    expect_close(grad({y}, {x}, {g.at(name + ".plain.gy")})[0], g.at(name + ".plain.gx"), 1e-10, 1e-12, "dx");
  }
}

TEST_CASE("batch_norm in float32 keeps the statistics of a large offset", "[batch_norm]") {
  // Values around 1000 with unit spread: one-pass sums of squares would lose the variance.
  const Tensor x64 = random_tensor({8, 3, 6, 6}, 1) + 1000.0;
  const Tensor y = batch_norm(x64.to(DType::f32), Tensor(), Tensor(), Tensor(), Tensor(), true);
  expect_close(y, batch_norm(x64, Tensor(), Tensor(), Tensor(), Tensor(), true), 1e-3, 1e-3, "float32 vs float64");
  const Tensor m = mean(y.to(DType::f64), {0, 2, 3}), v = mean(square(y.to(DType::f64)), {0, 2, 3});
  CHECK(allclose(m, zeros_like(m), 0, 1e-4).ok);
  CHECK(allclose(v, ones_like(v), 1e-4, 0).ok);
}

TEST_CASE("batch_norm: first-order gradients, and the fused backward equals the composed one", "[batch_norm][grad]") {
  uint64_t seed = 20;
  for (const Shape& s : std::vector<Shape>{{3, 4, 3, 2}, {5, 3}, {2, 3, 4}, {1, 2, 3, 3}})
    for (bool training : {true, false}) {
      INFO(shape_str(s) << (training ? " training" : " eval"));
      const int64_t c = s[1];
      const Tensor x = random_tensor(s, seed++).requires_grad_();
      const Tensor w = (random_tensor({c}, seed++) * 0.5 + 1.0).detach().requires_grad_();
      const Tensor b = random_tensor({c}, seed++).requires_grad_();
      const Tensor rm = random_tensor({c}, seed++), rv = abs(random_tensor({c}, seed++)) + 0.5;
      // Running stats change on every training call; gradcheck evaluates many times, so fresh copies each call.
      const Fn fn = [&](const std::vector<Tensor>& v) {
        return batch_norm(v[0], v[1], v[2], rm.clone(), rv.clone(), training);
      };
      const Check c1 = gradcheck(fn, {x, w, b});
      INFO(c1.message);
      CHECK(c1.ok);
      // create_graph records the composed backward; its values must equal the fused kernels'.
      const Tensor gy = random_tensor(s, seed++);
      const auto fused = grad({fn({x, w, b})}, {x, w, b}, {gy});
      const auto composed = grad({fn({x, w, b})}, {x, w, b}, {gy}, true);
      for (size_t i = 0; i < 3; ++i) expect_close(fused[i], composed[i], 1e-10, 1e-12, "input " + std::to_string(i));
      // The composed backward recomputes the statistics from x, so second order is exact too.
      const Check c2 = gradgradcheck(fn, {x, w, b});
      INFO(c2.message);
      CHECK(c2.ok);
    }
}

TEST_CASE("batch_norm rejects bad arguments with a clear message", "[batch_norm]") {
  const Tensor x = random_tensor({2, 3, 4, 4}, 3, DType::f32), c3 = ones({3}), c4 = ones({4});
  REQUIRE_THROWS_WITH(batch_norm(x, c4, c3, c3, c3, true), Catch::Contains("weight must be [3]"));
  REQUIRE_THROWS_WITH(batch_norm(x, c3, c3, c3, Tensor(), false), Catch::Contains("running_mean and running_var"));
  REQUIRE_THROWS_WITH(batch_norm(random_tensor({1, 3}, 4, DType::f32), c3, c3, c3, c3, true),
                      Catch::Contains("more than 1 value per channel"));
  REQUIRE_THROWS_WITH(batch_norm(ones({3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                      Catch::Contains("[N, C]"));
  REQUIRE_THROWS_WITH(batch_norm(x, c3, c3, c3, c3, true, 0.1, 0.0), Catch::Contains("eps must be positive"));
  REQUIRE_THROWS_WITH(batch_norm(x, c3.to(DType::f64), c3, c3, c3, true), Catch::Contains("different dtypes"));
  // Eval with one value per channel is fine: the running stats normalize it.
  CHECK(batch_norm(random_tensor({1, 3}, 5, DType::f32), c3, c3, c3, c3, false).shape() == Shape({1, 3}));
}

TEST_CASE("batch_norm on cuda matches the cpu", "[batch_norm][cuda]") {
  const Device gpu = Device::cuda(0);
  uint64_t seed = 70;
  for (const Shape& s : std::vector<Shape>{{8, 64, 16, 16}, {3, 5, 7, 9}, {16, 512}, {2, 3, 1000}, {4, 33, 1, 1}})
    for (bool training : {true, false}) {
      INFO(shape_str(s) << (training ? " training" : " eval"));
      const int64_t c = s[1];
      const Tensor x = random_tensor(s, seed++, DType::f32) * 3.0 + 2.0;
      const Tensor w = random_tensor({c}, seed++, DType::f32) + 1.0, b = random_tensor({c}, seed++, DType::f32);
      const Tensor rm0 = random_tensor({c}, seed++, DType::f32), rv0 = abs(random_tensor({c}, seed++, DType::f32)) + 0.5;
      const Tensor rm_c = rm0.clone(), rv_c = rv0.clone(), rm_g = rm0.to(gpu), rv_g = rv0.to(gpu);
      Tensor xc = x.detach().requires_grad_(), wc = w.detach().requires_grad_(), bc = b.detach().requires_grad_();
      Tensor xg = x.to(gpu).requires_grad_(), wg = w.to(gpu).requires_grad_(), bg = b.to(gpu).requires_grad_();
      const Tensor want = batch_norm(xc, wc, bc, rm_c, rv_c, training);
      // NaNs in the cached block the output will reuse: an unwritten element fails.
      full(s, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
      const Tensor got = batch_norm(xg, wg, bg, rm_g, rv_g, training);
      expect_close(got, want, 1e-4, 1e-5, "y");
      expect_close(rm_g, rm_c, 1e-5, 1e-6, "running_mean");
      expect_close(rv_g, rv_c, 1e-5, 1e-6, "running_var");
      const Tensor gy = random_tensor(s, seed++, DType::f32);
      const auto dc = grad({want}, {xc, wc, bc}, {gy});
      full(s, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
      const auto dg = grad({got}, {xg, wg, bg}, {gy.to(gpu)});
      for (size_t i = 0; i < 3; ++i) expect_close(dg[i], dc[i], 1e-3, 1e-4, "gradient " + std::to_string(i));
    }
}
