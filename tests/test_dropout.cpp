// dropout: identity outside training, the keep rate and scaling in training,
// the same mask on the gradient, the same mask for a seed.
#include <catch2/catch.hpp>

#include "engine/ops/dropout.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::random_tensor;

TEST_CASE("dropout zeroes about p of the values and scales the rest", "[dropout]") {
  const Tensor x = ones({20000}, DType::f64);
  Generator gen(7);
  CHECK(dropout(x, 0.4, false, gen).same(x));
  CHECK(gen.offset == 0);
  const Tensor y = dropout(x, 0.4, true, gen);
  int64_t zeros_seen = 0;
  for (double v : y.to_vector()) {
    if (v == 0) ++zeros_seen;
    else CHECK(v == Approx(1 / 0.6));
  }
  CHECK(double(zeros_seen) / 20000 == Approx(0.4).margin(0.015));
  // A seed fixes the mask; the gradient passes through the same mask.
  Generator a(3), b(3);
  Tensor xr = random_tensor({64}, 1).requires_grad_();
  const Tensor ya = dropout(xr, 0.5, true, a), yb = dropout(xr.detach(), 0.5, true, b);
  CHECK(ya.to_vector() == yb.to_vector());
  const Tensor gx = grad({sum(ya)}, {xr})[0];
  const auto gv = gx.to_vector(), yv = ya.to_vector();
  for (size_t i = 0; i < gv.size(); ++i) CHECK(gv[i] == (yv[i] == 0 ? 0.0 : 2.0));
  REQUIRE_THROWS_WITH(dropout(x, 1.0, true, gen), Catch::Contains("p must be in [0, 1)"));
}

TEST_CASE("dropout on cuda draws the cpu's mask for a seed, forward and gradient", "[dropout][cuda]") {
  const Device gpu = Device::cuda(0);
  for (const Shape& s : {Shape{1}, Shape{3, 5, 7}, Shape{2, 64, 33}}) {
    INFO(shape_str(s));
    const Tensor x = random_tensor(s, 5, DType::f32), w = random_tensor(s, 6, DType::f32);
    auto run = [&](Device d) {
      Generator gen(11);
      Tensor xd = x.to(d).requires_grad_();
      Tensor y = dropout(xd, 0.3, true, gen);
      return std::vector<Tensor>{y, grad({sum(mul(y, w.to(d)))}, {xd})[0]};
    };
    const auto c = run(Device::cpu()), g = run(gpu);
    // Philox gives both devices the same uniforms, so the same elements drop;
    // kept ones differ at most by float32 rounding of the scale.
    for (size_t k = 0; k < c.size(); ++k) {
      const auto cv = c[k].to_vector(), gv = g[k].to_vector();
      REQUIRE(cv.size() == gv.size());
      for (size_t i = 0; i < cv.size(); ++i) {
        INFO("output " << k << " element " << i);
        REQUIRE((cv[i] == 0) == (gv[i] == 0));
        CHECK(gv[i] == Approx(cv[i]).epsilon(1e-6));
      }
    }
  }
}
