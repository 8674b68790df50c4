// Adam against the textbook (torch.optim.Adam) update computed with plain
// loops, its state round trip through a .bin, and the EMA of G.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <unistd.h>

#include "engine/module.h"
#include "tests/testing.h"
#include "train/adam.h"
#include "train/ema.h"

using namespace gf;

namespace {

// loss = sum(a * (p - c)^2), gradient 2a(p - c).
const std::vector<double> kA = {0.5, 2.0, 1.0, 3.0}, kC = {1.0, -2.0, 0.25, 4.0};

void quadratic_backward(const Tensor& p) {
  const Tensor a = Tensor::from_vector(kA, {4}, p.dtype()), c = Tensor::from_vector(kC, {4}, p.dtype());
  backward(sum(a * square(p - c)));
}

// torch.optim.Adam, written out for one parameter vector.
std::vector<std::vector<double>> reference_trajectory(std::vector<double> p, const AdamOptions& o, int steps) {
  std::vector<double> m(p.size(), 0.0), v(p.size(), 0.0);
  std::vector<std::vector<double>> out;
  for (int t = 1; t <= steps; ++t) {
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = 2 * kA[i] * (p[i] - kC[i]);
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(o.beta1, t));
      const double v_hat = v[i] / (1 - std::pow(o.beta2, t));
      p[i] -= o.lr * m_hat / (std::sqrt(v_hat) + o.eps);
    }
    out.push_back(p);
  }
  return out;
}

struct Tiny : Module {
  Tensor& w;
  Tensor& b;
  Tensor& avg;
  explicit Tiny(double base)
      : w(param("w", Tensor::from_vector({base, base + 1, base + 2}, {3}))),
        b(param("b", Tensor::from_vector({-base}, {1}))),
        avg(buffer("avg", Tensor::from_vector({base * 10, base * 20}, {2}))) {}
};

}  // namespace

TEST_CASE("Adam follows torch.optim.Adam's trajectory", "[optim]") {
  const std::vector<double> p0 = {0.0, 1.0, -1.0, 2.0};
  // Defaults, the official StyleGAN2 betas (0, 0.99), and a large eps where it
  // matters relative to sqrt(v_hat).
  for (AdamOptions o : {AdamOptions{}, AdamOptions{0.0025, 0.0, 0.99, 1e-8}, AdamOptions{0.1, 0.5, 0.9, 0.5}}) {
    INFO("lr " << o.lr << " betas " << o.beta1 << ", " << o.beta2 << " eps " << o.eps);
    Tensor p = Tensor::from_vector(p0, {4}, DType::f64).requires_grad_();
    Adam adam({{"p", p}}, o);
    const auto want = reference_trajectory(p0, o, 3);
    for (int t = 0; t < 3; ++t) {
      adam.zero_grad();
      quadratic_backward(p);
      adam.step();
      const auto got = p.to_vector();
      for (size_t i = 0; i < 4; ++i) CHECK(got[i] == Approx(want[static_cast<size_t>(t)][i]).epsilon(1e-12).margin(1e-15));
    }
    CHECK(adam.state_dict().at("p.step").item() == 3);
    CHECK(p.is_leaf());
  }
}

TEST_CASE("Adam skips parameters without a gradient, like torch", "[optim]") {
  Tensor p = Tensor::from_vector({0.0, 1.0, -1.0, 2.0}, {4}, DType::f64).requires_grad_();
  Tensor q = Tensor::from_vector({5.0}, {1}, DType::f64).requires_grad_();
  Adam adam({{"p", p}, {"q", q}}, AdamOptions{});
  quadratic_backward(p);
  adam.step();
  CHECK(q.to_vector() == std::vector<double>{5.0});
  const auto state = adam.state_dict();
  CHECK(state.count("p.exp_avg") == 1);
  CHECK(state.count("q.exp_avg") == 0);  // no state before the first gradient

  adam.zero_grad();
  CHECK_FALSE(p.grad().defined());
  CHECK_THROWS_AS(Adam({{"p", p}, {"p", p}}, AdamOptions{}), Error);
}

TEST_CASE("Adam state round-trips through a .bin bit for bit", "[optim]") {
  const std::vector<double> p0 = {0.0, 1.0, -1.0, 2.0};
  const AdamOptions o{0.01, 0.0, 0.99, 1e-8};
  Tensor p = Tensor::from_vector(p0, {4}).requires_grad_();
  Adam adam({{"p", p}}, o);
  for (int t = 0; t < 2; ++t) {
    adam.zero_grad();
    quadratic_backward(p);
    adam.step();
  }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("gf_test_adam_" + std::to_string(::getpid()) + ".bin")).string();
  io::save_safetensors(path, adam.state_dict());
  const io::TensorMap loaded = io::load_safetensors(path);
  std::filesystem::remove(path);

  Tensor p2 = Tensor::from_vector(p.to_vector(), {4}).requires_grad_();
  Adam resumed({{"p", p2}}, o);
  resumed.load_state_dict(loaded);
  for (Adam* a : {&adam, &resumed}) {
    a->zero_grad();
    quadratic_backward(a == &adam ? p : p2);
    a->step();
  }
  CHECK(p.to_vector() == p2.to_vector());  // exact
  const auto s1 = adam.state_dict(), s2 = resumed.state_dict();
  for (const char* k : {"p.exp_avg", "p.exp_avg_sq", "p.step"}) CHECK(s1.at(k).to_vector() == s2.at(k).to_vector());

  // Bad state is refused before anything changes.
  io::TensorMap extra = loaded;
  extra["other.exp_avg"] = zeros({4});
  CHECK_THROWS_AS(resumed.load_state_dict(extra), Error);
  io::TensorMap misshapen = loaded;
  misshapen["p.exp_avg"] = zeros({5});
  CHECK_THROWS_AS(resumed.load_state_dict(misshapen), Error);
  // A negative second moment made the next step's sqrt NaN (a damaged file).
  io::TensorMap negative = loaded;
  negative["p.exp_avg_sq"] = Tensor::from_vector({0.5, -1e-3, 0.25, 1}, {4});
  CHECK_THROWS_WITH(resumed.load_state_dict(negative), Catch::Contains("p.exp_avg_sq holds -0.001 at flat index 1"));
  CHECK(resumed.state_dict().at("p.step").item() == 3);
}

TEST_CASE("EMA: the official beta and lerp toward G", "[optim]") {
  // 0.5 ** (batch / (ema_kimg * 1000)), the ramp-up shortening it early on.
  CHECK(ema_beta(10.0, std::nullopt, 0, 32) == Approx(std::pow(0.5, 32.0 / 10000.0)));
  CHECK(ema_beta(10.0, 0.05, 1000, 32) == Approx(std::pow(0.5, 32.0 / 50.0)));
  CHECK(ema_beta(10.0, 0.05, 10000000, 32) == Approx(std::pow(0.5, 32.0 / 10000.0)));
  CHECK(ema_beta(10.0, 0.05, 0, 32) == 0.0);  // at the start G_ema just copies G

  Tiny g(1.0), g_ema(3.0);
  ema_update(g_ema, g, 0.75);
  // g + 0.75 * (g_ema - g)
  CHECK(test::allclose(g_ema.w, Tensor::from_vector({2.5, 3.5, 4.5}, {3})).ok);
  CHECK(test::allclose(g_ema.b, Tensor::from_vector({-2.5}, {1})).ok);
  CHECK(g_ema.avg.to_vector() == g.avg.to_vector());  // buffers copied
  CHECK_FALSE(g_ema.w.grad_fn());

  struct Other : Module {
    Other() { param("w", zeros({4})); }
  } other;
  CHECK_THROWS_AS(ema_update(other, g, 0.5), Error);
}
