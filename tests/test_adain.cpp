// AdaIN: values against the StyleGAN1 instance norm written with engine ops,
// the fused backward kernel against autograd of those ops, first and second
// order by finite differences, golden values from PyTorch, errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/io/safetensors.h"
#include "engine/ops/adain.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

Tensor adain_composed(const Tensor& x, const Tensor& ys, const Tensor& yb) {
  const Shape s4{x.size(0), x.size(1), 1, 1};
  Tensor xc = sub(x, mean(x, {2, 3}, true));
  Tensor xn = mul(xc, rsqrt(mean(square(xc), {2, 3}, true) + 1e-8));
  return add(mul(ys.reshape(s4), xn), yb.reshape(s4));
}

}  // namespace

TEST_CASE("adain matches the StyleGAN1 instance norm and style", "[adain]") {
  for (const Shape& s : {Shape{2, 3, 5, 7}, Shape{1, 1, 1, 1}, Shape{3, 2, 1, 6}})
    for (DType t : {DType::f64, DType::f32}) {
      INFO(shape_str(s) << " " << dtype_name(t));
      Tensor x = random_tensor(s, 1, t, Device::cpu(), 3.0), ys = random_tensor({s[0], s[1]}, 2, t),
             yb = random_tensor({s[0], s[1]}, 3, t);
      auto c = allclose(adain(x, ys, yb), adain_composed(x, ys, yb), t == DType::f64 ? 1e-10 : 1e-4, 1e-5);
      INFO(c.message);
      CHECK(c.ok);
    }
  // Each plane of the normalized output has mean 0 and variance 1 (up to eps).
  Tensor x = random_tensor({2, 3, 8, 8}, 4, DType::f64, Device::cpu(), 5.0);
  Tensor one = ones({2, 3}, DType::f64), zero = zeros({2, 3}, DType::f64);
  Tensor y = adain(x, one, zero);
  CHECK(allclose(mean(y, {2, 3}), zero, 0, 1e-12).ok);
  CHECK(allclose(mean(square(y), {2, 3}), one, 1e-8, 1e-8).ok);
}

TEST_CASE("adain: the fused backward kernel equals the backward of the composed ops", "[adain][grad]") {
  Tensor x = random_tensor({2, 4, 3, 5}, 5).requires_grad_();
  Tensor ys = random_tensor({2, 4}, 6).requires_grad_(), yb = random_tensor({2, 4}, 7).requires_grad_();
  Tensor w = random_tensor(x.shape(), 8);
  auto fused = gf::grad({adain(x, ys, yb)}, {x, ys, yb}, {w});
  auto comp = gf::grad({adain_composed(x, ys, yb)}, {x, ys, yb}, {w});
  for (size_t i = 0; i < 3; ++i) {
    INFO("input " << i);
    CHECK(allclose(fused[i], comp[i], 1e-10, 1e-12).ok);
  }
}

TEST_CASE("adain: first- and second-order gradients", "[adain][grad]") {
  Tensor x = random_tensor({2, 3, 3, 2}, 9, DType::f64, Device::cpu(), 2.0).requires_grad_();
  Tensor ys = random_tensor({2, 3}, 10).requires_grad_(), yb = random_tensor({2, 3}, 11).requires_grad_();
  // Squared, so the upstream gradient depends on the inputs and second order
  // covers every path through the backward kernel's own backward.
  Fn f = [](const std::vector<Tensor>& v) { return square(adain(v[0], v[1], v[2])); };
  auto g1 = gradcheck(f, {x, ys, yb});
  INFO(g1.message);
  CHECK(g1.ok);
  auto g2 = gradgradcheck(f, {x, ys, yb});
  INFO(g2.message);
  CHECK(g2.ok);
}

TEST_CASE("adain matches PyTorch (golden values)", "[adain][golden]") {
  auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/gan_golden_b.bin");
  Tensor x = g.at("adain.x").requires_grad_(), ys = g.at("adain.ys").requires_grad_(),
         yb = g.at("adain.yb").requires_grad_();
  Tensor y = adain(x, ys, yb);
  CHECK(allclose(y, g.at("adain.y"), 1e-10, 1e-12).ok);
  auto grads = gf::grad({y}, {x, ys, yb}, {g.at("adain.gy")});
  CHECK(allclose(grads[0], g.at("adain.dx"), 1e-9, 1e-12).ok);
  CHECK(allclose(grads[1], g.at("adain.dys"), 1e-10, 1e-12).ok);
  CHECK(allclose(grads[2], g.at("adain.dyb"), 1e-10, 1e-12).ok);
}

TEST_CASE("adain rejects mismatched styles with clear errors", "[adain]") {
  Tensor x = random_tensor({2, 3, 4, 4}, 12), s = random_tensor({2, 3}, 13);
  REQUIRE_THROWS_WITH(adain(x, random_tensor({2, 4}, 14), s),
                      Catch::Contains("adain") && Catch::Contains("styles [2, 4] and [2, 3] must both be [2, 3]"));
  REQUIRE_THROWS_WITH(adain(x, s, random_tensor({1, 3}, 14)), Catch::Contains("must both be [2, 3]"));
  REQUIRE_THROWS_WITH(adain(random_tensor({2, 3, 4}, 15), s, s), Catch::Contains("[N, C, H, W]"));
}

TEST_CASE("adain on cuda matches the cpu", "[adain][cuda]") {
  const Device gpu = Device::cuda(0);
  for (const Shape& s : {Shape{1, 1, 1, 1}, Shape{1, 3, 5, 7}, Shape{2, 257, 3, 3}, Shape{32, 512, 4, 4},
                         Shape{2, 129, 33, 31}, Shape{1, 2, 256, 256}}) {
    INFO(shape_str(s));
    Tensor x = random_tensor(s, 16, DType::f32, Device::cpu(), 2.0), ys = random_tensor({s[0], s[1]}, 17, DType::f32),
           yb = random_tensor({s[0], s[1]}, 18, DType::f32), w = random_tensor(s, 19, DType::f32);
    auto run = [&](Device d) {
      std::vector<Tensor> in{x.to(d).requires_grad_(), ys.to(d).requires_grad_(), yb.to(d).requires_grad_()};
      Tensor y = adain(in[0], in[1], in[2]);
      auto g = gf::grad({y}, in, {w.to(d)});
      g.insert(g.begin(), y);
      return g;
    };
    auto c = run(Device::cpu()), gd = run(gpu);
    const double hw = static_cast<double>(s[2] * s[3]);
    for (size_t k = 0; k < c.size(); ++k) {
      auto r = allclose(gd[k], c[k], 1e-4, 1e-4 * (k >= 2 ? std::sqrt(hw) : 1.0));
      INFO("output " << k << ": " << r.message);
      CHECK(r.ok);
    }
  }
}
