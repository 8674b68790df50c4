// modulated_conv2d: the fused and unfused paths against each other and against
// a per-sample conv2d with explicitly modulated weights, golden values from the
// official code in PyTorch, first- and second-order gradients in x, weight and
// styles, argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <limits>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/modulated_conv2d.h"
#include "engine/ops/upfirdn2d.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

struct Config {
  int kernel, up, down, padding;
  bool demodulate, flip_weight;
};

ModConv2dParams params(const Config& c, bool fused) {
  ModConv2dParams p;
  p.demodulate = c.demodulate, p.up = c.up, p.down = c.down, p.padding = c.padding;
  p.flip_weight = c.flip_weight, p.fused = fused;
  return p;
}

std::string describe(const Config& c) {
  return "kernel " + std::to_string(c.kernel) + " up " + std::to_string(c.up) + " down " + std::to_string(c.down) +
         " padding " + std::to_string(c.padding) + " demodulate " + std::to_string(c.demodulate) + " flip_weight " +
         std::to_string(c.flip_weight);
}

// Every resampling path of conv2d_resample, with and without demodulation.
std::vector<Config> all_configs() {
  std::vector<Config> out;
  for (bool demod : {true, false}) {
    out.push_back({3, 1, 1, 1, demod, true});
    out.push_back({3, 2, 1, 1, demod, true});
    out.push_back({3, 1, 2, 1, demod, true});
    out.push_back({1, 1, 1, 0, demod, true});
    out.push_back({1, 2, 1, 0, demod, true});
    out.push_back({1, 1, 2, 0, demod, true});
  }
  out.push_back({3, 1, 1, 1, true, false});
  out.push_back({3, 2, 1, 1, true, false});
  out.push_back({3, 1, 2, 1, true, false});
  out.push_back({3, 1, 1, -1, true, true});  // negative padding: the generic crop-then-convolve path
  out.push_back({3, 2, 2, 1, true, true});   // up and down: transposed conv, filter, then decimate
  return out;
}

struct Inputs {
  Tensor x, weight, styles;
};

Inputs make_inputs(int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t w, int k, uint64_t seed,
                   DType t = DType::f64) {
  // Styles near 1, as StyleGAN2's affine layers initialize them (bias 1).
  return {random_tensor({n, cin, h, w}, seed, t), random_tensor({cout, cin, k, k}, seed + 1, t),
          random_tensor({n, cin}, seed + 2, t, Device::cpu(), 0.5) + 1.0};
}

}  // namespace

TEST_CASE("modulated_conv2d: fused and unfused paths agree, values and gradients", "[modulated_conv2d]") {
  const Tensor f = setup_filter({1, 3, 3, 1}, false, DType::f64);
  uint64_t seed = 1;
  for (const Config& c : all_configs()) {
    INFO(describe(c));
    Inputs in = make_inputs(2, 3, 4, 6, 5, c.kernel, seed += 3);
    for (Tensor* t : {&in.x, &in.weight, &in.styles}) t->requires_grad_();
    const Tensor yf = modulated_conv2d(in.x, in.weight, in.styles, f, params(c, true));
    const Tensor yu = modulated_conv2d(in.x, in.weight, in.styles, f, params(c, false));
    REQUIRE(yf.shape() == yu.shape());
    const int64_t up = c.up, down = c.down;
    // With 'same' padding the official resampling scales the size by up / down (rounding down).
    if (c.padding == c.kernel / 2) CHECK(yf.shape() == (Shape{2, 4, 6 * up / down, 5 * up / down}));
    const Check cy = allclose(yf, yu, 1e-10, 1e-12);
    INFO(cy.message);
    CHECK(cy.ok);
    const Tensor gy = random_tensor(yf.shape(), seed);
    const auto gf_ = grad({yf}, {in.x, in.weight, in.styles}, {gy});
    const auto gu = grad({yu}, {in.x, in.weight, in.styles}, {gy});
    for (size_t k = 0; k < 3; ++k) {
      const Check cg = allclose(gf_[k], gu[k], 1e-10, 1e-12);
      INFO("gradient " << k << ": " << cg.message);
      CHECK(cg.ok);
    }
    // float32 runs the same kernels: it matches float64 to float rounding.
    const Tensor y32 = modulated_conv2d(in.x.detach().to(DType::f32), in.weight.detach().to(DType::f32),
                                        in.styles.detach().to(DType::f32), f.to(DType::f32), params(c, true));
    CHECK(allclose(y32.to(DType::f64), yf.detach(), 1e-4, 1e-5).ok);
  }
}

TEST_CASE("modulated_conv2d equals a per-sample conv2d with modulated, demodulated weights", "[modulated_conv2d]") {
  // The definition written out: sample n convolves with
  // w[o,i] = weight[o,i] * styles[n,i] / sqrt(sum_{i,kh,kw} (weight * styles)^2 + 1e-8).
  const Inputs in = make_inputs(3, 5, 4, 7, 6, 3, 11);
  for (bool demod : {true, false}) {
    ModConv2dParams p;
    p.demodulate = demod, p.padding = 1;
    const Tensor y = modulated_conv2d(in.x, in.weight, in.styles, Tensor(), p);
    for (int64_t n = 0; n < 3; ++n) {
      Tensor w = in.weight * slice(in.styles, 0, n, n + 1).reshape({1, 5, 1, 1});
      if (demod) w = w * rsqrt(sum(square(w), {1, 2, 3}, true) + 1e-8);
      Conv2dParams cp;
      cp.pad_h = cp.pad_w = 1;
      const Check ck = allclose(slice(y, 0, n, n + 1), conv2d(slice(in.x, 0, n, n + 1), w, cp), 1e-12, 1e-12);
      INFO("demodulate " << demod << " sample " << n << ": " << ck.message);
      CHECK(ck.ok);
    }
  }
  // Demodulation makes the output invariant to the scale of a sample's styles
  // (up to the 1e-8 under the square root).
  ModConv2dParams p;
  p.padding = 1;
  const Tensor y1 = modulated_conv2d(in.x, in.weight, in.styles, Tensor(), p);
  const Tensor y2 = modulated_conv2d(in.x, in.weight, in.styles * 7.0, Tensor(), p);
  CHECK(allclose(y1, y2, 1e-8, 1e-10).ok);
}

TEST_CASE("modulated_conv2d matches the official code (PyTorch golden values)", "[modulated_conv2d]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/modconv_golden.bin");
  const Tensor f = g.at("f");
  // name, kernel, up, down, padding, demodulate, flip_weight (tools/fixtures/make_modconv_golden.py)
  const std::vector<std::pair<std::string, Config>> cases = {
      {"up1_k3", {3, 1, 1, 1, true, true}},          {"up2_k3", {3, 2, 1, 1, true, true}},
      {"down2_k3", {3, 1, 2, 1, true, true}},        {"up2_k3_noflip", {3, 2, 1, 1, false, false}},
      {"up1_k1_nodemod", {1, 1, 1, 0, false, true}}, {"up2_k1", {1, 2, 1, 0, true, true}},
      {"down2_k1", {1, 1, 2, 0, true, true}},        {"crop_k3", {3, 1, 1, -1, true, true}},
  };
  for (const auto& [name, c] : cases)
    for (bool fused : {true, false}) {
      INFO(name << (fused ? " fused" : " unfused"));
      Tensor x = g.at(name + ".x"), w = g.at(name + ".weight"), s = g.at(name + ".styles");
      for (Tensor* t : {&x, &w, &s}) t->requires_grad_();
      const Tensor y = modulated_conv2d(x, w, s, f, params(c, fused));
      const Check cy = allclose(y, g.at(name + ".y"), 1e-10, 1e-12);
      INFO(cy.message);
      CHECK(cy.ok);
      const auto grads = grad({y}, {x, w, s}, {g.at(name + ".gy")});
      const char* keys[] = {".gx", ".gweight", ".gstyles"};
      for (size_t k = 0; k < 3; ++k) {
        const Check cg = allclose(grads[k], g.at(name + keys[k]), 1e-10, 1e-12);
        INFO(keys[k] << ": " << cg.message);
        CHECK(cg.ok);
      }
    }
}

TEST_CASE("modulated_conv2d: first- and second-order gradients in x, weight and styles",
          "[modulated_conv2d][grad]") {
  const Tensor f = setup_filter({1, 3, 3, 1}, false, DType::f64);
  uint64_t seed = 200;
  std::vector<std::pair<Config, bool>> runs;
  for (const Config& c : all_configs()) runs.push_back({c, true});
  for (const Config& c : {Config{3, 1, 1, 1, true, true}, Config{3, 2, 1, 1, true, true},
                          Config{3, 1, 2, 1, true, true}})
    runs.push_back({c, false});
  for (const auto& [c, fused] : runs) {
    INFO(describe(c) << (fused ? " fused" : " unfused"));
    Inputs in = make_inputs(2, 3, 4, 5, 5, c.kernel, seed += 3);
    for (Tensor* t : {&in.x, &in.weight, &in.styles}) t->requires_grad_();
    const ModConv2dParams p = params(c, fused);
    // Squared, so the second derivative also runs the backward of the weight-gradient ops.
    const Fn fn = [&](const std::vector<Tensor>& v) { return square(modulated_conv2d(v[0], v[1], v[2], f, p)); };
    check_first_and_second_order(fn, {in.x, in.weight, in.styles});
  }
}

TEST_CASE("modulated_conv2d rejects bad arguments with a clear message", "[modulated_conv2d]") {
  const Inputs in = make_inputs(2, 3, 4, 5, 5, 3, 7, DType::f32);
  const Tensor f = setup_filter({1, 3, 3, 1});
  ModConv2dParams p;
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, in.weight, random_tensor({2, 5}, 1, DType::f32), f, p),
                      Catch::Contains("modulated_conv2d") && Catch::Contains("styles [2, 5]") &&
                          Catch::Contains("[2, 3]") && Catch::Contains("x [2, 3, 5, 5]"));
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, random_tensor({4, 2, 3, 3}, 1, DType::f32), in.styles, f, p),
                      Catch::Contains("weight [4, 2, 3, 3]") && Catch::Contains("x [2, 3, 5, 5]"));
  p.up = 3;
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, in.weight, in.styles, f, p), Catch::Contains("up must be 1 or 2, got 3"));
  p.up = 1, p.down = 0;
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, in.weight, in.styles, f, p), Catch::Contains("down must be 1 or 2"));
  p.down = 2;
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, in.weight, in.styles, Tensor(), p),
                      Catch::Contains("needs a resample_filter"));
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x.reshape({2, 3, 25}), in.weight, in.styles, f, ModConv2dParams{}),
                      Catch::Contains("[N, Cin, H, W]"));
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, in.weight.to(DType::f64), in.styles, f, ModConv2dParams{}),
                      Catch::Contains("modulated_conv2d"));
  p.down = 2;
  REQUIRE_THROWS_WITH(modulated_conv2d(in.x, in.weight, in.styles, ones({}), p),
                      Catch::Contains("modulated_conv2d") && Catch::Contains("resample_filter must be [taps] or [fh, fw], got []"));
}

TEST_CASE("modulated_conv2d of an empty batch: an empty result on both paths, and empty gradients", "[modulated_conv2d]") {
  // The fused path's grouped conv had 0 groups ("conv2d: groups must be positive").
  const Tensor f = setup_filter({1, 3, 3, 1});
  for (bool fused : {true, false})
    for (int up : {1, 2}) {
      ModConv2dParams p;
      p.fused = fused, p.up = up, p.padding = 1;
      Tensor x = zeros({0, 3, 4, 4}).requires_grad_(), w = random_tensor({5, 3, 3, 3}, 1, DType::f32).requires_grad_();
      Tensor s = zeros({0, 3}).requires_grad_();
      const Tensor y = modulated_conv2d(x, w, s, f, p);
      INFO("fused " << fused << " up " << up);
      CHECK(y.size(0) == 0);
      CHECK(y.size(1) == 5);
      const auto g = grad({sum(y)}, {x, w, s});
      CHECK(g[0].shape() == x.shape());
      CHECK(sum(abs(g[1])).item() == 0.0);
    }
}

TEST_CASE("modulated_conv2d on cuda matches the cpu", "[modulated_conv2d][cuda]") {
  const Device gpu = Device::cuda(0);
  const Tensor f = setup_filter({1, 3, 3, 1});
  struct Shape5 {
    int64_t n, cin, cout, h, w;
  };
  const std::vector<std::pair<Shape5, Config>> cases = {
      {{1, 1, 1, 1, 1}, {3, 1, 1, 1, true, true}},     {{1, 35, 17, 7, 9}, {3, 1, 1, 1, true, true}},
      {{3, 33, 65, 5, 7}, {3, 2, 1, 1, true, true}},   {{2, 70, 3, 9, 8}, {3, 1, 2, 1, true, true}},
      {{5, 17, 3, 11, 13}, {1, 1, 1, 0, false, true}}, {{2, 40, 40, 6, 6}, {1, 2, 1, 0, true, true}},
      {{4, 64, 64, 16, 16}, {3, 1, 1, 1, true, true}}, {{2, 33, 31, 8, 8}, {3, 2, 1, 1, true, false}},
  };
  uint64_t seed = 500;
  for (const auto& [s, c] : cases)
    for (bool fused : {true, false}) {
      INFO("n " << s.n << " cin " << s.cin << " cout " << s.cout << " " << s.h << "x" << s.w << " " << describe(c)
                << (fused ? " fused" : " unfused"));
      const Inputs in = make_inputs(s.n, s.cin, s.cout, s.h, s.w, c.kernel, seed += 3, DType::f32);
      const ModConv2dParams p = params(c, fused);
      Tensor xc = in.x.detach().requires_grad_(), wc = in.weight.detach().requires_grad_(),
             sc = in.styles.detach().requires_grad_();
      const Tensor want = modulated_conv2d(xc, wc, sc, f, p);
      Tensor xg = in.x.to(gpu).requires_grad_(), wg = in.weight.to(gpu).requires_grad_(),
             sg = in.styles.to(gpu).requires_grad_();
      const Tensor got = modulated_conv2d(xg, wg, sg, f.to(gpu), p);
      const Check cy = allclose(got, want, 1e-4, 1e-4);
      INFO(cy.message);
      CHECK(cy.ok);
      const Tensor gy = random_tensor(want.shape(), seed, DType::f32);
      const auto gc = grad({want}, {xc, wc, sc}, {gy});
      const auto gg = grad({got}, {xg, wg, sg}, {gy.to(gpu)});
      for (size_t k = 0; k < 3; ++k) {
        const Check cg = allclose(gg[k], gc[k], 1e-4, 1e-4);
        INFO("gradient " << k << ": " << cg.message);
        CHECK(cg.ok);
      }
    }
}
