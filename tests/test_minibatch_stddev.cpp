// minibatch_stddev and its gradient op minibatch_stddev_grad: values against a
// loop written from the definition and against the gradient composed from
// engine ops, golden values from the official MinibatchStdLayer in PyTorch,
// first- and second-order gradients, argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/minibatch_stddev.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::large_case_runs;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

// Sample n's group is {n' : n' % M == n % M}, M = N / G (official reshape [G, M, ...]).
std::vector<double> naive_mbstd(const Tensor& x, int64_t group_size, int64_t F) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t G = std::min(group_size, N), M = N / G, c = C / F;
  const std::vector<double> v = x.to_vector();
  auto at = [&](int64_t n, int64_t ch, int64_t i) { return v[size_t((n * C + ch) * H * W + i)]; };
  std::vector<double> out;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t i = 0; i < C * H * W; ++i) out.push_back(v[size_t(n * C * H * W + i)]);
    for (int64_t f = 0; f < F; ++f) {
      double s = 0;
      for (int64_t ch = f * c; ch < (f + 1) * c; ++ch)
        for (int64_t i = 0; i < H * W; ++i) {
          double mu = 0, var = 0;
          for (int64_t n2 = n % M; n2 < N; n2 += M) mu += at(n2, ch, i) / double(G);
          for (int64_t n2 = n % M; n2 < N; n2 += M) var += (at(n2, ch, i) - mu) * (at(n2, ch, i) - mu) / double(G);
          s += std::sqrt(var + 1e-8);
        }
      for (int64_t i = 0; i < H * W; ++i) out.push_back(s / double(c * H * W));
    }
  }
  return out;
}

struct Case {
  Shape x;
  int64_t group, channels;
};
const std::vector<Case> kCases = {{{8, 6, 3, 3}, 4, 2}, {{4, 3, 2, 2}, 8, 1}, {{6, 4, 3, 2}, 2, 4},
                                  {{1, 2, 2, 2}, 4, 1}, {{4, 4, 1, 1}, 1, 2}, {{6, 3, 2, 3}, 3, 3}};

// minibatch_stddev's gradient composed from engine ops, as it was written
// before the fused kernel.
Tensor composed_grad(const Tensor& x, const Tensor& g, int64_t group_size, int64_t F) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t G = std::min(group_size, N), M = N / G, c = C / F;
  const Tensor gs = sum(sum(slice(g, 1, C, C + F), {2, 3}).reshape({G, M, F}), {0}, true).reshape({1, M, F, 1, 1, 1});
  const Tensor xr = x.reshape({G, M, F, c, H, W});
  const Tensor dev = sub(xr, mean(xr, {0}, true));
  const Tensor sd = sqrt(affine(mean(square(dev), {0}, true), 1.0, 1e-8));
  const Tensor gx = mul(div(dev, sd), affine(gs, 1.0 / double(G * c * H * W), 0.0));
  return add(slice(g, 1, 0, C), gx.reshape({N, C, H, W}));
}

Shape out_shape(const Case& c) { return {c.x[0], c.x[1] + c.channels, c.x[2], c.x[3]}; }

}  // namespace

TEST_CASE("minibatch_stddev matches a loop written from the definition", "[minibatch_stddev]") {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++);
    const Tensor y = minibatch_stddev(x, c.group, c.channels);
    CHECK(y.shape() == Shape{c.x[0], c.x[1] + c.channels, c.x[2], c.x[3]});
    const Tensor want = Tensor::from_vector(naive_mbstd(x, c.group, c.channels), y.shape(), DType::f64);
    CHECK(allclose(y, want, 1e-12, 1e-12).ok);
    CHECK(allclose(minibatch_stddev(x.to(DType::f32), c.group, c.channels), want, 1e-5, 1e-6).ok);
  }
  // A group of one has zero spread: the appended map is sqrt(eps).
  const Tensor y1 = minibatch_stddev(random_tensor({3, 2, 2, 2}, 9), 1, 1);
  for (double v : slice(y1, 1, 2, 3).to_vector()) CHECK(v == Approx(std::sqrt(1e-8)).epsilon(1e-12));
}

TEST_CASE("minibatch_stddev matches the official reference (PyTorch golden values)", "[minibatch_stddev]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/gan_golden_a.bin");
  for (const auto& [name, group, channels] :
       std::vector<std::tuple<std::string, int64_t, int64_t>>{{"mbstd_g4f2", 4, 2}, {"mbstd_gN", 8, 1}}) {
    INFO(name);
    Tensor x = g.at(name + ".x");
    x.requires_grad_();
    const Tensor y = minibatch_stddev(x, group, channels);
    const Check cy = allclose(y, g.at(name + ".y"), 1e-12, 1e-12);
    INFO(cy.message);
    CHECK(cy.ok);
    const Check cg = allclose(grad({y}, {x}, {g.at(name + ".gy")})[0], g.at(name + ".gx"), 1e-10, 1e-12);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("minibatch_stddev: first- and second-order gradients", "[minibatch_stddev][grad]") {
  uint64_t seed = 20;
  for (const Case& c : std::vector<Case>{{{4, 4, 2, 2}, 2, 2}, {{3, 2, 2, 1}, 4, 1}, {{4, 3, 1, 2}, 4, 3}}) {
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++).requires_grad_();
    const Fn fn = [&](const std::vector<Tensor>& v) { return minibatch_stddev(v[0], c.group, c.channels); };
    check_first_and_second_order(fn, {x});
  }
}

TEST_CASE("minibatch_stddev rejects bad arguments with a clear message", "[minibatch_stddev]") {
  const Tensor x = random_tensor({6, 4, 2, 2}, 5, DType::f32);
  REQUIRE_THROWS_WITH(minibatch_stddev(x, 4, 1),
                      Catch::Contains("minibatch_stddev") && Catch::Contains("batch 6 is not divisible by the group size 4"));
  REQUIRE_THROWS_WITH(minibatch_stddev(x, 2, 3), Catch::Contains("channels 4 are not divisible by num_channels 3"));
  REQUIRE_THROWS_WITH(minibatch_stddev(x, 0, 1), Catch::Contains("group_size must be >= 1"));
  REQUIRE_THROWS_WITH(minibatch_stddev(x, 2, 0), Catch::Contains("num_channels must be >= 1"));
  REQUIRE_THROWS_WITH(minibatch_stddev(x.reshape({6, 16}), 2, 1), Catch::Contains("[N, C, H, W]"));
  // 0 channels: the official reshape refuses them (the result was all NaN).
  REQUIRE_THROWS_WITH(minibatch_stddev(zeros({2, 0, 2, 2}), 2, 1), Catch::Contains("[2, 0, 2, 2] has no channels"));
}

TEST_CASE("minibatch_stddev on cuda matches the cpu", "[minibatch_stddev][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<Case> cases = {{{1, 3, 4, 4}, 4, 1},   {{4, 513, 4, 4}, 4, 1}, {{32, 512, 4, 4}, 4, 1},
                                   {{6, 130, 5, 7}, 3, 2}, {{8, 64, 33, 17}, 2, 4}, {{32, 16, 64, 64}, 4, 1}};
  uint64_t seed = 70;
  for (const Case& c : cases) {
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++, DType::f32);
    const Tensor want = minibatch_stddev(x, c.group, c.channels), xd = x.to(gpu);
    const Check ck = allclose(minibatch_stddev(xd, c.group, c.channels), want, 1e-5, 1e-6);
    INFO(ck.message);
    CHECK(ck.ok);
    Tensor xg = x.to(gpu).requires_grad_(), xc = x.detach().requires_grad_();
    const Tensor gy = random_tensor(want.shape(), seed++, DType::f32);
    const Check cg = allclose(grad({minibatch_stddev(xg, c.group, c.channels)}, {xg}, {gy.to(gpu)})[0],
                              grad({minibatch_stddev(xc, c.group, c.channels)}, {xc}, {gy})[0], 1e-4, 1e-5);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("minibatch_stddev_grad matches the gradient composed from ops", "[minibatch_stddev]") {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++), g = random_tensor(out_shape(c), seed++);
    const Tensor want = composed_grad(x, g, c.group, c.channels);
    const Check c64 = allclose(minibatch_stddev_grad(x, g, c.group, c.channels), want, 1e-12, 1e-13);
    INFO(c64.message);
    CHECK(c64.ok);
    const Check c32 =
        allclose(minibatch_stddev_grad(x.to(DType::f32), g.to(DType::f32), c.group, c.channels), want, 1e-5, 1e-6);
    INFO(c32.message);
    CHECK(c32.ok);
  }
  // With zero gradient on the appended channels, dx is the pass-through slice.
  const Tensor x = random_tensor({4, 4, 2, 2}, 120);
  const Tensor g = concat({random_tensor({4, 4, 2, 2}, 121), zeros({4, 1, 2, 2}, DType::f64)}, 1);
  CHECK(minibatch_stddev_grad(x, g, 2, 1).to_vector() == slice(g, 1, 0, 4).to_vector());
}

TEST_CASE("minibatch_stddev_grad: first- and second-order gradients in x and g", "[minibatch_stddev][grad]") {
  uint64_t seed = 130;
  for (const Case& c : std::vector<Case>{{{4, 4, 2, 2}, 2, 2}, {{3, 2, 2, 1}, 4, 1}, {{4, 3, 1, 2}, 4, 3}}) {
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++).requires_grad_();
    const Tensor g = random_tensor(out_shape(c), seed++).requires_grad_();
    const Fn fn = [&](const std::vector<Tensor>& v) { return minibatch_stddev_grad(v[0], v[1], c.group, c.channels); };
    check_first_and_second_order(fn, {x, g});
  }
}

TEST_CASE("minibatch_stddev's second-order gradient keeps float32 accuracy where sd is small", "[minibatch_stddev]") {
  // R1 differentiates D's input gradient, so this is what the R1 gradient of
  // every weight below the layer goes through. In groups of 2 the exact x part
  // is w * eps / (var + eps) / sd: tiny where the pair is spread, large where
  // sd nears sqrt(eps). Normal inputs (Philox seed 5), two members per group:
  // formed naively in float32 the result was 1.1e-2 off (rounding along the
  // group mean, divided by sd); PyTorch's autograd of the official layer is
  // 2.4e-5 off, ganforge now 5.5e-6 (relative to the largest value).
  Generator rng(5);
  const Tensor x64 = randn({2, 8, 4, 4}, rng, DType::f64), g64 = randn({2, 9, 4, 4}, rng, DType::f64);
  const Tensor h64 = randn({2, 8, 4, 4}, rng, DType::f64);
  std::vector<double> r[2];
  int k = 0;
  for (DType dt : {DType::f64, DType::f32}) {
    Tensor x = x64.to(dt).requires_grad_(true);
    const Tensor first = grad({sum(mul(minibatch_stddev(x, 2, 1), g64.to(dt)))}, {x}, {}, true, true)[0];
    r[k++] = grad({sum(mul(first, h64.to(dt)))}, {x})[0].to_vector();
  }
  double diff = 0, scale = 0;
  for (size_t i = 0; i < r[0].size(); ++i) {
    diff = std::max(diff, std::abs(r[0][i] - r[1][i]));
    scale = std::max(scale, std::abs(r[0][i]));
  }
  INFO("float32 against float64: max |a - b| " << diff << ", max |b| " << scale);
  CHECK(diff < 1e-4 * scale);
}

TEST_CASE("minibatch_stddev_grad rejects bad arguments with a clear message", "[minibatch_stddev]") {
  const Tensor x = random_tensor({4, 4, 2, 2}, 140, DType::f32), g = random_tensor({4, 5, 2, 2}, 141, DType::f32);
  REQUIRE_THROWS_WITH(minibatch_stddev_grad(x, g, 2, 2), Catch::Contains("minibatch_stddev_grad") &&
                                                             Catch::Contains("does not match the output [4, 6, 2, 2]"));
  REQUIRE_THROWS_WITH(minibatch_stddev_grad(x, g.to(DType::f64), 2, 1), Catch::Contains("different dtypes"));
  REQUIRE_THROWS_WITH(minibatch_stddev_grad(x, g, 3, 1),
                      Catch::Contains("batch 4 is not divisible by the group size 3"));
  REQUIRE_THROWS_WITH(minibatch_stddev_grad(x.reshape({4, 16}), g, 2, 1), Catch::Contains("[N, C, H, W]"));
}

TEST_CASE("minibatch_stddev_grad on cuda matches the cpu", "[minibatch_stddev][cuda]") {
  const Device gpu = Device::cuda(0);
  // Batch 1, odd channel counts and pixel grids, group sums longer than a block (G * H * W > 256).
  // On the emulator the large {32, 16, 64, 64} is left out (large_case_runs):
  // {8, 64, 33, 17} has group sums longer than a block too.
  const std::vector<Case> cases = {{{1, 3, 4, 4}, 4, 1},    {{1, 5, 1, 1}, 1, 5},      {{4, 513, 4, 4}, 4, 1},
                                   {{32, 512, 4, 4}, 4, 1}, {{6, 130, 5, 7}, 3, 2},    {{32, 16, 64, 64}, 4, 1},
                                   {{9, 7, 3, 3}, 3, 7},    {{8, 64, 33, 17}, 2, 4}};
  uint64_t seed = 150;
  size_t large = 0;
  for (const Case& c : cases) {
    if (!large_case_runs(shape_numel(c.x), large, 2)) continue;
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++, DType::f32), g = random_tensor(out_shape(c), seed++, DType::f32);
    const Tensor want = minibatch_stddev_grad(x, g, c.group, c.channels), xd = x.to(gpu), gd = g.to(gpu);
    const Check ck = allclose(minibatch_stddev_grad(xd, gd, c.group, c.channels), want, 1e-4, 1e-5);
    INFO(ck.message);
    CHECK(ck.ok);
    // Its backward (engine ops around the kernel) on the GPU as well.
    Tensor xg = x.to(gpu).requires_grad_(), gg = g.to(gpu).requires_grad_();
    Tensor xc = x.detach().requires_grad_(), gc = g.detach().requires_grad_();
    const Tensor h = random_tensor(c.x, seed++, DType::f32);
    const auto dg = grad({minibatch_stddev_grad(xg, gg, c.group, c.channels)}, {xg, gg}, {h.to(gpu)});
    const auto dc = grad({minibatch_stddev_grad(xc, gc, c.group, c.channels)}, {xc, gc}, {h});
    for (size_t i = 0; i < 2; ++i) {
      const Check cg = allclose(dg[i], dc[i], 1e-3, 1e-4);
      INFO("input " << i << ": " << cg.message);
      CHECK(cg.ok);
    }
  }
}
