// Noise injection: values, the three noise modes, first and second order by
// finite differences, golden values from PyTorch, errors, CUDA against CPU.
#include <catch2/catch.hpp>
#include <cmath>

#include "engine/io/safetensors.h"
#include "engine/ops/noise.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::large_case_runs;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

TEST_CASE("add_noise broadcasts noise over channels and strength over planes", "[noise]") {
  Tensor x = random_tensor({2, 3, 4, 5}, 1), noise = random_tensor({2, 1, 4, 5}, 2);
  Tensor s = Tensor::scalar(0.7, DType::f64), sc = random_tensor({3}, 3);
  const auto xv = x.to_vector(), nv = noise.to_vector(), scv = sc.to_vector();
  const auto y = add_noise(x, noise, s).to_vector(), yc = add_noise(x, noise, sc).to_vector();
  bool ok = true;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t n = i / 60, c = (i / 20) % 3, p = i % 20;
    const double nz = nv[static_cast<size_t>(n * 20 + p)];
    ok = ok && std::fabs(y[static_cast<size_t>(i)] - (xv[static_cast<size_t>(i)] + 0.7 * nz)) < 1e-14;
    ok = ok && std::fabs(yc[static_cast<size_t>(i)] - (xv[static_cast<size_t>(i)] + scv[static_cast<size_t>(c)] * nz)) <
                   1e-14;
  }
  CHECK(ok);
}

TEST_CASE("noise_bias_act equals bias_act of add_noise for every activation", "[noise]") {
  Tensor x = random_tensor({2, 3, 4, 5}, 4, DType::f32), noise = random_tensor({1, 1, 4, 5}, 5, DType::f32);
  Tensor s = random_tensor({3}, 6, DType::f32), b = random_tensor({3}, 7, DType::f32);
  for (const char* act : {"linear", "relu", "lrelu", "tanh", "sigmoid", "elu", "selu", "softplus", "swish"})
    for (std::optional<double> clamp : {std::optional<double>(), std::optional<double>(0.5)}) {
      INFO(act);
      const BiasActSpec spec = bias_act_spec(act, std::nullopt, std::nullopt, clamp);
      CHECK(
          allclose(noise_bias_act(x, noise, s, b, spec), bias_act(add_noise(x, noise, s), b, 1, spec), 1e-6, 1e-6).ok);
    }
}

TEST_CASE("noise modes: random from the generator, a constant buffer, or none", "[noise]") {
  Tensor x = random_tensor({3, 2, 4, 4}, 8);
  Generator g1(42), g2(42);
  Tensor r = make_noise(x, NoiseMode::random, &g1);
  CHECK(r.shape() == Shape{3, 1, 4, 4});
  CHECK(allclose(r, randn({3, 1, 4, 4}, g2, DType::f64), 0, 0).ok);
  Tensor buf = random_tensor({4, 4}, 9);
  Tensor k = make_noise(x, NoiseMode::constant, nullptr, buf);
  CHECK(k.shape() == Shape{1, 1, 4, 4});
  Tensor s = Tensor::scalar(0.3, DType::f64);
  CHECK(allclose(add_noise(x, k, s), add(x, mul(s, k)), 1e-14, 1e-14).ok);
  CHECK_FALSE(make_noise(x, NoiseMode::none).defined());
  Tensor b = random_tensor({2}, 10);
  CHECK(allclose(noise_bias_act(x, Tensor(), s, b, bias_act_spec("lrelu")), bias_act(x, b, 1, "lrelu"), 0, 0).ok);
  REQUIRE_THROWS_WITH(make_noise(x, NoiseMode::random), Catch::Contains("generator"));
  REQUIRE_THROWS_WITH(make_noise(x, NoiseMode::constant, nullptr, random_tensor({3, 4}, 1)), Catch::Contains("buffer"));
  // As many values in another shape: refused, not taken by its count.
  REQUIRE_THROWS_WITH(make_noise(random_tensor({1, 1, 1, 9}, 2), NoiseMode::constant, nullptr, random_tensor({3, 3}, 1)),
                      Catch::Contains("make_noise") && Catch::Contains("a buffer of [1, 9]") && Catch::Contains("got [3, 3]"));
  CHECK(make_noise(x, NoiseMode::constant, nullptr, random_tensor({1, 1, 4, 4}, 3)).shape() == Shape{1, 1, 4, 4});
}

TEST_CASE("noise: first- and second-order gradients", "[noise][grad]") {
  Tensor x = random_tensor({2, 3, 2, 3}, 11).requires_grad_();
  Tensor noise = random_tensor({2, 1, 2, 3}, 12).requires_grad_();
  Tensor s = Tensor::scalar(0.8, DType::f64).requires_grad_();
  Tensor sc = random_tensor({3}, 13).requires_grad_();
  Tensor b = random_tensor({3}, 14).requires_grad_();
  for (const Tensor& strength : {s, sc}) {
    Fn plain = [](const std::vector<Tensor>& v) { return square(add_noise(v[0], v[1], v[2])); };
    for (const char* act : {"linear", "lrelu", "tanh", "swish", "softplus"})
      for (std::optional<double> clamp : {std::optional<double>(), std::optional<double>(0.6)}) {
        INFO(act << " strength " << shape_str(strength.shape()));
        const BiasActSpec spec = bias_act_spec(act, std::nullopt, std::nullopt, clamp);
        Fn fused = [spec](const std::vector<Tensor>& v) {
          return square(noise_bias_act(v[0], v[1], v[2], v[3], spec));
        };
        for (const Fn& f : {plain, fused}) {
          auto g1 = gradcheck(f, {x, noise, strength, b});
          INFO(g1.message);
          CHECK(g1.ok);
          auto g2 = gradgradcheck(f, {x, noise, strength, b});
          INFO(g2.message);
          CHECK(g2.ok);
        }
      }
  }
}

TEST_CASE("noise matches PyTorch (golden values)", "[noise][golden]") {
  auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/gan_golden_b.bin");
  Tensor x = g.at("noise.x").requires_grad_(), noise = g.at("noise.noise").requires_grad_();
  Tensor s = g.at("noise.strength").requires_grad_(), sc = g.at("noise.strength_c").requires_grad_();
  Tensor b = g.at("noise.b").requires_grad_();
  auto check = [&](const std::string& k, const Tensor& y, const std::vector<std::pair<std::string, Tensor>>& in) {
    INFO(k);
    CHECK(allclose(y, g.at(k + ".y"), 1e-12, 1e-12).ok);
    std::vector<Tensor> ts;
    for (const auto& p : in) ts.push_back(p.second);
    auto grads = gf::grad({y}, ts, {g.at(k + ".gy")});
    for (size_t i = 0; i < in.size(); ++i) {
      auto c = allclose(grads[i], g.at(k + ".d" + in[i].first), 1e-12, 1e-12);
      INFO(in[i].first << ": " << c.message);
      CHECK(c.ok);
    }
  };
  check("noise.scalar", add_noise(x, noise, s), {{"x", x}, {"noise", noise}, {"strength", s}});
  check("noise.channel", add_noise(x, noise, sc), {{"x", x}, {"noise", noise}, {"strength", sc}});
  check("noise.fused", noise_bias_act(x, noise, s, b, bias_act_spec("lrelu", std::nullopt, std::nullopt, 1.0)),
        {{"x", x}, {"noise", noise}, {"strength", s}, {"b", b}});
}

TEST_CASE("noise rejects bad shapes with clear errors", "[noise]") {
  Tensor x = random_tensor({2, 3, 4, 4}, 15), s = Tensor::scalar(1.0, DType::f64);
  REQUIRE_THROWS_WITH(add_noise(x, random_tensor({2, 3, 4, 4}, 16), s), Catch::Contains("noise [2, 3, 4, 4] must be [2 or 1, 1, 4, 4]"));
  REQUIRE_THROWS_WITH(add_noise(random_tensor({1, 3, 4, 4}, 15), random_tensor({1, 3, 4, 4}, 16), s),
                      Catch::Contains("must be [1, 1, 4, 4]"));
  REQUIRE_THROWS_WITH(add_noise(x, random_tensor({2, 1, 4, 4}, 16), random_tensor({4}, 17)),
                      Catch::Contains("strength [4] must be a scalar or [3]"));
  REQUIRE_THROWS_WITH(noise_bias_act(x, random_tensor({2, 1, 4, 4}, 16), s, random_tensor({2}, 18), BiasActSpec{}),
                      Catch::Contains("bias [2] must be [3]"));
  REQUIRE_THROWS_WITH(add_noise(random_tensor({3, 4}, 19), random_tensor({3, 4}, 20), s),
                      Catch::Contains("[N, C, H, W]"));
}

TEST_CASE("noise on cuda matches the cpu", "[noise][cuda]") {
  const Device gpu = Device::cuda(0);
  size_t large = 0;
  for (const Shape& s :
       {Shape{1, 1, 1, 1}, Shape{1, 3, 5, 7}, Shape{2, 257, 3, 3}, Shape{32, 512, 8, 8}, Shape{3, 129, 33, 31}})
    for (bool shared : {false, true})
      for (bool per_channel : {false, true})
        for (const char* act : {"linear", "lrelu", "swish"}) {
          if (!large_case_runs(shape_numel(s), large, 5)) continue;
          INFO(shape_str(s) << " shared " << shared << " per_channel " << per_channel << " " << act);
          Tensor x = random_tensor(s, 21, DType::f32),
                 noise = random_tensor({shared ? 1 : s[0], 1, s[2], s[3]}, 22, DType::f32);
          Tensor st = per_channel ? random_tensor({s[1]}, 23, DType::f32) : Tensor::scalar(0.4, DType::f32);
          Tensor b = random_tensor({s[1]}, 24, DType::f32), w = random_tensor(s, 25, DType::f32);
          const BiasActSpec spec = bias_act_spec(act, std::nullopt, std::nullopt, 0.9);
          auto run = [&](Device d) {
            std::vector<Tensor> in{x.to(d).requires_grad_(), noise.to(d).requires_grad_(), st.to(d).requires_grad_(),
                                   b.to(d).requires_grad_()};
            Tensor y = noise_bias_act(in[0], in[1], in[2], in[3], spec);
            auto g = gf::grad({y}, in, {w.to(d)});
            g.insert(g.begin(), y);
            return g;
          };
          auto c = run(Device::cpu()), gd = run(gpu);
          for (size_t k = 0; k < c.size(); ++k) {
            auto r = allclose(gd[k], c[k], 1e-4, 1e-5 * (k >= 2 ? std::sqrt(double(x.numel())) : 1.0));
            INFO("output " << k << ": " << r.message);
            CHECK(r.ok);
          }
        }
}
