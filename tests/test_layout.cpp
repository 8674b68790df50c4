// Layout ops: permute, transpose, expand, slice, concat, reshape views and
// their gradients (first and second order), CUDA against CPU.
#include <catch2/catch.hpp>

#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

TEST_CASE("permute and transpose move elements", "[layout]") {
  Tensor x = random_tensor({2, 3, 4}, 1);
  Tensor y = permute(x, {2, 0, 1});
  REQUIRE(y.shape() == Shape{4, 2, 3});
  auto vx = x.to_vector(), vy = y.to_vector();
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) CHECK(vy[(k * 2 + i) * 3 + j] == vx[(i * 3 + j) * 4 + k]);
  CHECK(transpose(x, 0, -1).shape() == Shape{4, 3, 2});
  REQUIRE_THROWS_WITH(permute(x, {0, 0, 1}), Catch::Contains("permute") && Catch::Contains("repeated"));
}

TEST_CASE("slice, concat and expand", "[layout]") {
  Tensor x = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {2, 5}, DType::f64);
  CHECK(slice(x, 1, 1, 5, 2).to_vector() == std::vector<double>{1, 3, 6, 8});
  CHECK(slice(x, 1, -2, 100).to_vector() == std::vector<double>{3, 4, 8, 9});
  CHECK(slice(x, 0, 1, 2).shape() == Shape{1, 5});
  Tensor c = concat({x, slice(x, 1, 0, 1)}, 1);
  CHECK(c.shape() == Shape{2, 6});
  CHECK(c.to_vector() == std::vector<double>{0, 1, 2, 3, 4, 0, 5, 6, 7, 8, 9, 5});
  Tensor e = expand(Tensor::from_vector({1, 2}, {2, 1}, DType::f64), {3, 2, 2});
  CHECK(e.to_vector() == std::vector<double>{1, 1, 2, 2, 1, 1, 2, 2, 1, 1, 2, 2});
  REQUIRE_THROWS_WITH(concat({x, random_tensor({3, 5}, 1)}, 1), Catch::Contains("concat") && Catch::Contains("[3, 5]"));
  REQUIRE_THROWS_WITH(expand(x, {3, 5}), Catch::Contains("expand"));
}

TEST_CASE("reshape is a view sharing storage", "[layout]") {
  Tensor x = random_tensor({2, 6}, 2);
  Tensor y = x.reshape({3, -1});
  CHECK(y.shape() == Shape{3, 4});
  CHECK(y.raw() == x.raw());
  REQUIRE_THROWS_WITH(x.reshape({5, -1}), Catch::Contains("reshape"));
}

TEST_CASE("layout ops: first- and second-order gradients", "[layout][grad]") {
  Tensor a = random_tensor({2, 3, 4}, 3).requires_grad_();
  Tensor b = random_tensor({2, 2, 4}, 4).requires_grad_();
  Tensor c = random_tensor({3, 1}, 5).requires_grad_();
  const std::vector<std::pair<const char*, Fn>> fns = {
      {"permute", [](const std::vector<Tensor>& v) { return square(permute(v[0], {1, 2, 0})); }},
      {"reshape", [](const std::vector<Tensor>& v) { return square(v[0].reshape({4, 6})) * 0.5; }},
      {"slice", [](const std::vector<Tensor>& v) { return square(slice(v[0], 2, 1, 4, 2)); }},
      {"concat", [](const std::vector<Tensor>& v) { return square(concat({v[0], v[1]}, 1)); }},
      {"expand", [](const std::vector<Tensor>& v) { return square(expand(v[2], {2, 3, 4})) * v[0]; }},
      {"slice_backward", [](const std::vector<Tensor>& v) { return square(slice_backward(v[1], {2, 5, 4}, 1, 1, 5, 2)); }},
  };
  for (const auto& [name, f] : fns) {
    INFO(name);
    auto g1 = gradcheck(f, {a, b, c});
    INFO(g1.message);
    CHECK(g1.ok);
    auto g2 = gradgradcheck(f, {a, b, c});
    INFO(g2.message);
    CHECK(g2.ok);
  }
}

TEST_CASE("layout ops on cuda match the cpu", "[layout][cuda]") {
  const Device gpu = Device::cuda(0);
  for (const Shape& s : std::vector<Shape>{{1, 1, 1, 1}, {2, 3, 5, 7}, {3, 17, 9, 33}}) {
    Tensor x = random_tensor(s, 7, DType::f32), xg = x.to(gpu);
    auto same = [](const Tensor& a, const Tensor& b) { return allclose(a, b, 0, 0).ok; };
    CHECK(same(permute(xg, {0, 2, 3, 1}), permute(x, {0, 2, 3, 1})));
    CHECK(same(slice(xg, 2, 1, s[2], 2), slice(x, 2, 1, s[2], 2)));
    CHECK(same(concat({xg, xg * 2.0}, 1), concat({x, x * 2.0}, 1)));
    CHECK(same(expand(slice(xg, 1, 0, 1), s), expand(slice(x, 1, 0, 1), s)));
    CHECK(same(xg.to(DType::f64).to(DType::f32), x));
  }
}
