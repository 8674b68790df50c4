// The dense products' FLOP count (engine/flop_count.h) that the benchmarks'
// FLOP/s and fractions of the GEMM rate rest on: each convolution pass and
// matrix product adds 2 x its multiply-adds, worked out here from the shapes;
// gradients count their own passes; sliced convolution calls count as the
// whole; other ops count nothing; the profiler's rows carry the count.
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>

#include "engine/autograd.h"
#include "engine/flop_count.h"
#include "engine/ops.h"
#include "engine/ops/modulated_conv2d.h"
#include "engine/ops/upfirdn2d.h"
#include "engine/profile.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::random_tensor;

namespace {

uint64_t flops_of(const std::function<void()>& f) {
  const uint64_t f0 = flop_count::total();
  f();
  return flop_count::total() - f0;
}

// One pass of the convolution x [N, C, ...] * w [K, C / groups, KH, KW] -> [N, K, OH, OW].
uint64_t conv_flops(uint64_t n, uint64_t c, uint64_t k, uint64_t oh, uint64_t ow, uint64_t groups, uint64_t kh,
                    uint64_t kw) {
  return 2 * n * k * oh * ow * (c / groups) * kh * kw;
}

// On device d, in float32 (as the networks run there).
void check_conv_counts(Device d) {
  const DType t = DType::f32;
  // 5x9 input, 3x2 kernel, stride 2x1, pad 1x0, 2 groups: out 3x8.
  Conv2dParams p;
  p.stride_h = 2;
  p.pad_h = 1;
  p.groups = 2;
  const Tensor x = random_tensor({3, 4, 5, 9}, 1, t, d).requires_grad_();
  const Tensor w = random_tensor({6, 2, 3, 2}, 2, t, d).requires_grad_();
  const uint64_t pass = conv_flops(3, 4, 6, 3, 8, 2, 3, 2);
  Tensor y;
  CHECK(flops_of([&] { y = conv2d(x, w, p); }) == pass);
  REQUIRE(y.size(2) == 3);
  REQUIRE(y.size(3) == 8);
  // The backward: the data pass and the filter pass, each the forward's work.
  CHECK(flops_of([&] { grad({sum(y)}, {x, w}); }) == 2 * pass);
  const Tensor y2 = conv2d(x, w, p);
  CHECK(flops_of([&] { grad({sum(y2)}, {x}); }) == pass);

  // The transposed convolution is the data pass of the convolution from its
  // output (4 channels) to its input (6): x [2, 6, 3, 4].
  const Tensor xt = random_tensor({2, 6, 3, 4}, 3, t, d), wt = random_tensor({6, 2, 3, 2}, 4, t, d);
  CHECK(flops_of([&] { conv_transpose2d(xt, wt, p); }) == conv_flops(2, 4, 6, 3, 4, 2, 3, 2));
}

void check_matmul_counts(Device d) {
  const DType t = DType::f32;
  const uint64_t one = 2 * 5 * 3 * 7;  // [5, 7] x [7, 3]
  const Tensor a = random_tensor({5, 7}, 7, t, d).requires_grad_(), b = random_tensor({7, 3}, 8, t, d).requires_grad_();
  Tensor y;
  CHECK(flops_of([&] { y = matmul(a, b); }) == one);
  CHECK(flops_of([&] { grad({sum(y)}, {a, b}); }) == 2 * one);
  // A batch of 4 products: batched on both sides (transposed), and over a 2-D b.
  const Tensor ab = random_tensor({4, 7, 5}, 9, t, d), bb = random_tensor({4, 3, 7}, 10, t, d);
  CHECK(flops_of([&] { matmul(ab, bb, true, true); }) == 4 * one);
  const Tensor a3 = random_tensor({4, 5, 7}, 11, t, d);
  CHECK(flops_of([&] { matmul(a3, b); }) == 4 * one);
}

}  // namespace

TEST_CASE("convolution passes count their multiply-adds", "[flop_count]") { check_conv_counts(Device::cpu()); }

TEST_CASE("matrix products count 2 M N K per batch entry", "[flop_count]") { check_matmul_counts(Device::cpu()); }

TEST_CASE("the counts on cuda are the cpu's", "[flop_count][cuda]") {
  check_conv_counts(Device::cuda(0));
  check_matmul_counts(Device::cuda(0));
}

TEST_CASE("a convolution called in slices counts as one call", "[flop_count]") {
  const Tensor x = random_tensor({4, 6, 7, 7}, 5).requires_grad_();
  const Tensor w = random_tensor({6, 3, 3, 3}, 6).requires_grad_();
  Conv2dParams p;
  p.pad_h = p.pad_w = 1;
  p.groups = 2;
  auto fwd_bwd = [&] {
    const Tensor y = conv2d(x, w, p);
    grad({sum(y)}, {x, w});
  };
  const uint64_t whole = flops_of(fwd_bwd);
  CHECK(whole == 3 * conv_flops(4, 6, 6, 7, 7, 2, 3, 3));
  // One group of one sample (6 x 49 / 2 = 147 elements) a call.
  struct Limit {
    int64_t before = set_conv_call_elements_for_test(150);
    ~Limit() { set_conv_call_elements_for_test(before); }
  } limit;
  CHECK(flops_of(fwd_bwd) == whole);
}

TEST_CASE("the fused modulated convolution counts its grouped convolution", "[flop_count]") {
  // N samples, each its own weight: one grouped pass of N groups over the
  // batch as one sample of N x Cin channels, N times one sample's convolution.
  const uint64_t n = 3, in = 4, out = 5, res = 6;
  const Tensor x = random_tensor({3, 4, 6, 6}, 12), weight = random_tensor({5, 4, 3, 3}, 13);
  const Tensor styles = random_tensor({3, 4}, 14);
  ModConv2dParams p;
  p.padding = 1;
  CHECK(flops_of([&] { modulated_conv2d(x, weight, styles, Tensor(), p); }) ==
        conv_flops(1, n * in, n * out, res, res, n, 3, 3));
  CHECK(conv_flops(1, n * in, n * out, res, res, n, 3, 3) == n * conv_flops(1, in, out, res, res, 1, 3, 3));
}

TEST_CASE("ops without dense products count nothing", "[flop_count]") {
  const Tensor x = random_tensor({2, 3, 8, 8}, 15).requires_grad_();
  const Tensor f = random_tensor({4, 4}, 16);
  CHECK(flops_of([&] {
          const Tensor y = mul(add(x, x), x);
          grad({sum(upfirdn2d(y, f))}, {x});
        }) == 0);
}

TEST_CASE("the profiler's rows carry the dense products' work", "[flop_count]") {
  const Tensor x = random_tensor({2, 3, 6, 6}, 17), w = random_tensor({4, 3, 3, 3}, 18);
  profile::start();
  {
    const profile::Phase phase("convs");
    conv2d(x, w);
    add(x, x);
  }
  profile::stop();
  const profile::Report r = profile::report();
  const uint64_t pass = conv_flops(2, 3, 4, 4, 4, 1, 3, 3);
  int convs = 0, adds = 0;
  for (const profile::Entry& e : r.ops) {
    if (e.op == "conv2d" && e.counters.flops == pass) ++convs;
    if (e.op == "add" && e.counters.flops == 0) ++adds;
  }
  CHECK(convs == 1);
  CHECK(adds == 1);
  REQUIRE(r.phases.size() == 1);
  CHECK(r.phases[0].counters.flops == pass);
}
