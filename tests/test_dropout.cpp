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
