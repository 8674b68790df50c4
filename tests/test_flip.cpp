// flip: element placement against index arithmetic, its gradients (first and
// second order), argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <limits>

#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

TEST_CASE("flip reverses exactly the given dims", "[flip]") {
  const Tensor x = random_tensor({2, 3, 4}, 1);
  const std::vector<double> v = x.to_vector();
  auto at = [&](int64_t a, int64_t b, int64_t c) { return v[size_t((a * 3 + b) * 4 + c)]; };
  const std::vector<std::vector<int64_t>> cases = {{0}, {1}, {2}, {0, 2}, {2, -2}, {0, 1, 2}};
  for (const std::vector<int64_t>& dims : cases) {
    INFO("dims " << dims.size() << " first " << dims[0]);
    bool rev[3] = {false, false, false};
    for (int64_t d : dims) rev[d < 0 ? d + 3 : d] = true;
    const Tensor y = flip(x, dims);
    REQUIRE(y.shape() == x.shape());
    const std::vector<double> vy = y.to_vector();
    for (int64_t a = 0; a < 2; ++a)
      for (int64_t b = 0; b < 3; ++b)
        for (int64_t c = 0; c < 4; ++c)
          CHECK(vy[size_t((a * 3 + b) * 4 + c)] == at(rev[0] ? 1 - a : a, rev[1] ? 2 - b : b, rev[2] ? 3 - c : c));
  }
  CHECK(flip(flip(x, {0, 2}), {2, 0}).to_vector() == v);       // an involution
  CHECK(flip(x, {}).to_vector() == v);                         // no dims: unchanged
  CHECK(flip(zeros({2, 0, 3}, DType::f64), {1}).numel() == 0);  // empty tensors are fine
  // A 3x3 kernel rotated by 180 degrees, the way modulated_conv2d uses it.
  const Tensor k = Tensor::from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 1, 3, 3}, DType::f32);
  CHECK(flip(k, {2, 3}).to_vector() == std::vector<double>{9, 8, 7, 6, 5, 4, 3, 2, 1});
}

TEST_CASE("flip: first- and second-order gradients", "[flip][grad]") {
  const Tensor x = random_tensor({2, 3, 2, 3}, 2).requires_grad_();
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{3}, {2, 3}, {0, 1, 3}}) {
    INFO("dims " << dims.size());
    // Squared so that the second derivative is not zero.
    const Fn fn = [dims](const std::vector<Tensor>& v) { return square(flip(v[0], dims)); };
    check_first_and_second_order(fn, {x});
  }
}

TEST_CASE("flip rejects bad arguments with a clear message", "[flip]") {
  const Tensor x = random_tensor({2, 3}, 3, DType::f32);
  REQUIRE_THROWS_WITH(flip(x, {2}), Catch::Contains("flip") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(flip(x, {1, -1}), Catch::Contains("flip") && Catch::Contains("repeated"));
}

TEST_CASE("flip on cuda matches the cpu", "[flip][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{1, 1, 1, 1}, {2, 3}}, {{1, 3, 3, 3}, {2, 3}},       {{512, 512, 3, 3}, {2, 3}}, {{3, 17, 9, 33}, {0, 3}},
      {{7}, {0}},             {{5, 1, 2, 1, 3}, {1, 2, 4}}, {{2, 3, 5, 7}, {1}}};
  uint64_t seed = 10;
  for (const auto& [s, dims] : cases) {
    INFO(shape_str(s));
    const Tensor x = random_tensor(s, seed++, DType::f32), xd = x.to(gpu);
    const Check ck = allclose(flip(xd, dims), flip(x, dims), 0, 0);
    INFO(ck.message);
    CHECK(ck.ok);
    Tensor xg = x.to(gpu).requires_grad_();
    const Tensor g = random_tensor(s, seed++, DType::f32);
    const Check cg = allclose(grad({flip(xg, dims)}, {xg}, {g.to(gpu)})[0], flip(g, dims), 0, 0);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}
