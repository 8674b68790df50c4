// minibatch_stddev: values against a loop written from the definition, golden
// values from the official MinibatchStdLayer in PyTorch, first- and
// second-order gradients, argument errors, CUDA vs CPU.
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
using gf::test::Check;
using gf::test::Fn;
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
    const Check g1 = gradcheck(fn, {x});
    INFO(g1.message);
    CHECK(g1.ok);
    const Check g2 = gradgradcheck(fn, {x});
    INFO(g2.message);
    CHECK(g2.ok);
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
}

TEST_CASE("minibatch_stddev on cuda matches the cpu", "[minibatch_stddev][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<Case> cases = {{{1, 3, 4, 4}, 4, 1},   {{4, 513, 4, 4}, 4, 1}, {{32, 512, 4, 4}, 4, 1},
                                   {{6, 130, 5, 7}, 3, 2}, {{8, 64, 33, 17}, 2, 4}, {{32, 16, 64, 64}, 4, 1}};
  uint64_t seed = 70;
  for (const Case& c : cases) {
    INFO(shape_str(c.x) << " group " << c.group << " channels " << c.channels);
    const Tensor x = random_tensor(c.x, seed++, DType::f32);
    const Tensor want = minibatch_stddev(x, c.group, c.channels);
    // NaNs in the cached block the output will reuse: an unwritten element fails.
    full(want.shape(), std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
    const Check ck = allclose(minibatch_stddev(x.to(gpu), c.group, c.channels), want, 1e-5, 1e-6);
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
