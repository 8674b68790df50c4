// conv2d, conv_transpose2d and conv2d_weight_grad: first- and second-order
// gradient checks over strides, padding, groups and odd sizes; the R1-style
// composite from the foundation issue; golden values from PyTorch
// (tools/fixtures/make_conv_golden.py); argument errors; CUDA (cuDNN) against the CPU;
// oneDNN (float32 CPU) against the im2col + OpenBLAS reference.
#include <catch2/catch.hpp>

#include <climits>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>

#include "engine/allocator.h"
#include "engine/io/safetensors.h"
#include "kernels/conv2d.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

struct ConvCase {
  Shape x, w;
  Conv2dParams p;
  int out_pad_h = 0, out_pad_w = 0;  // conv_transpose2d only
};

std::string describe(const ConvCase& c) {
  std::ostringstream os;
  os << "x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.p.stride_h << "x" << c.p.stride_w
     << " pad " << c.p.pad_h << "x" << c.p.pad_w << " groups " << c.p.groups << " output_padding " << c.out_pad_h
     << "x" << c.out_pad_w;
  return os.str();
}

Conv2dParams params(int sh, int sw, int ph, int pw, int groups) {
  Conv2dParams p;
  p.stride_h = sh;
  p.stride_w = sw;
  p.pad_h = ph;
  p.pad_w = pw;
  p.groups = groups;
  return p;
}

// conv2d cases: x [N, Cin, H, W], w [Cout, Cin/groups, kh, kw]. Small: every
// element costs two forward passes in a finite-difference check.
const std::vector<ConvCase> kConvCases = {
    {{2, 2, 5, 5}, {3, 2, 3, 3}, params(1, 1, 0, 0, 1)},
    {{1, 4, 5, 6}, {4, 2, 3, 3}, params(2, 2, 1, 1, 2)},  // stride 2, odd input, groups 2
    {{2, 2, 6, 5}, {2, 2, 2, 3}, params(2, 1, 1, 0, 1)},  // per-axis stride and padding
    {{1, 3, 4, 4}, {3, 1, 3, 3}, params(1, 1, 1, 1, 3)},  // depthwise
    {{2, 3, 3, 3}, {2, 3, 1, 1}, params(1, 1, 0, 0, 1)},  // 1x1
};

// conv_transpose2d cases: x [N, Cin, H, W], w [Cin, Cout/groups, kh, kw].
const std::vector<ConvCase> kTransposeCases = {
    {{2, 2, 3, 3}, {2, 3, 3, 3}, params(1, 1, 0, 0, 1)},
    {{1, 4, 3, 4}, {4, 1, 3, 3}, params(2, 2, 1, 1, 2), 1, 1},  // stride 2, output padding, groups 2
    {{2, 2, 3, 2}, {2, 2, 2, 3}, params(2, 1, 0, 1, 1), 1, 0},  // per-axis
    {{1, 3, 4, 3}, {3, 2, 3, 3}, params(3, 2, 1, 0, 1), 2, 1},  // output padding 2 with stride 3
};

double max_abs(const Tensor& t) {
  double m = 0;
  for (double v : t.to_vector()) m = std::max(m, std::fabs(v));
  return m;
}

Tensor leaf(const Shape& s, uint64_t seed) { return random_tensor(s, seed).requires_grad_(); }

// The output of conv2d for case c (what conv2d_weight_grad's gy must look like).
Shape conv_out_shape(const ConvCase& c) {
  return {c.x[0], c.w[0], (c.x[2] + 2 * c.p.pad_h - c.w[2]) / c.p.stride_h + 1,
          (c.x[3] + 2 * c.p.pad_w - c.w[3]) / c.p.stride_w + 1};
}

}  // namespace

TEST_CASE("conv2d gradients match finite differences", "[conv]") {
  for (const ConvCase& c : kConvCases) {
    INFO(describe(c));
    const Conv2dParams p = c.p;
    const auto chk = gradcheck([p](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], p); },
                               {leaf(c.x, 1), leaf(c.w, 2)});
    INFO(chk.message);
    CHECK(chk.ok);
  }
}

TEST_CASE("conv_transpose2d gradients match finite differences", "[conv]") {
  for (const ConvCase& c : kTransposeCases) {
    INFO(describe(c));
    const Conv2dParams p = c.p;
    const int oh = c.out_pad_h, ow = c.out_pad_w;
    const auto chk = gradcheck(
        [p, oh, ow](const std::vector<Tensor>& in) { return conv_transpose2d(in[0], in[1], p, oh, ow); },
        {leaf(c.x, 3), leaf(c.w, 4)});
    INFO(chk.message);
    CHECK(chk.ok);
  }
}

TEST_CASE("conv2d_weight_grad gradients match finite differences", "[conv]") {
  for (const ConvCase& c : kConvCases) {
    INFO(describe(c));
    const Conv2dParams p = c.p;
    const Shape ws = c.w;
    const auto chk = gradcheck(
        [p, ws](const std::vector<Tensor>& in) { return conv2d_weight_grad(in[0], in[1], ws, p); },
        {leaf(c.x, 5), leaf(conv_out_shape(c), 6)});
    INFO(chk.message);
    CHECK(chk.ok);
  }
}

TEST_CASE("conv2d and conv_transpose2d second-order gradients match finite differences", "[conv]") {
  // Squared outputs make every first-order gradient depend on both operands,
  // so the check runs through the backward of each backward.
  for (const ConvCase& c : kConvCases) {
    INFO("conv2d " << describe(c));
    const Conv2dParams p = c.p;
    const auto chk = gradgradcheck([p](const std::vector<Tensor>& in) { return square(conv2d(in[0], in[1], p)); },
                                   {leaf(c.x, 7), leaf(c.w, 8)});
    INFO(chk.message);
    CHECK(chk.ok);
  }
  for (const ConvCase& c : kTransposeCases) {
    INFO("conv_transpose2d " << describe(c));
    const Conv2dParams p = c.p;
    const int oh = c.out_pad_h, ow = c.out_pad_w;
    const auto chk = gradgradcheck(
        [p, oh, ow](const std::vector<Tensor>& in) { return square(conv_transpose2d(in[0], in[1], p, oh, ow)); },
        {leaf(c.x, 9), leaf(c.w, 10)});
    INFO(chk.message);
    CHECK(chk.ok);
  }
  for (const ConvCase& c : {kConvCases[1], kConvCases[2]}) {
    INFO("conv2d_weight_grad " << describe(c));
    const Conv2dParams p = c.p;
    const Shape ws = c.w;
    const auto chk = gradgradcheck(
        [p, ws](const std::vector<Tensor>& in) { return square(conv2d_weight_grad(in[0], in[1], ws, p)); },
        {leaf(c.x, 11), leaf(conv_out_shape(c), 12)});
    INFO(chk.message);
    CHECK(chk.ok);
  }
}

TEST_CASE("R1 penalty through two convolutions has the right weight gradients", "[conv]") {
  // f(x) = sum(conv(lrelu(conv(x, w1)), w2)); r1(w1, w2) = sum(square(df/dx)),
  // the gradient formed with create_graph. gradcheck differentiates r1 with
  // respect to both weights and compares with central differences.
  const Tensor x = random_tensor({2, 2, 7, 7}, 20);
  const Conv2dParams p1 = params(1, 1, 1, 1, 1), p2 = params(2, 2, 0, 0, 1);  // 7x7 -> 7x7 -> 3x3
  auto r1 = [x, p1, p2](const std::vector<Tensor>& w) {
    GradModeGuard on(true);
    Tensor xi = x.detach().requires_grad_();
    Tensor f = sum(conv2d(leaky_relu(conv2d(xi, w[0], p1), 0.2), w[1], p2));
    Tensor gx = grad({f}, {xi}, {}, true, true)[0];
    return sum(square(gx));
  };
  const auto chk = gradcheck(r1, {leaf({3, 2, 3, 3}, 21), leaf({2, 3, 3, 3}, 22)});
  INFO(chk.message);
  CHECK(chk.ok);
}

namespace {

// Runs the CPU float32 convolutions through one implementation while alive.
class ConvImplGuard {
 public:
  explicit ConvImplGuard(cpu::ConvImpl impl) : prev_(cpu::conv_impl()) { cpu::set_conv_impl(impl); }
  ~ConvImplGuard() { cpu::set_conv_impl(prev_); }

 private:
  cpu::ConvImpl prev_;
};

// The CPU implementations this build has: the reference, and oneDNN where
// built (with the weight gradient through the reference, and through oneDNN).
std::vector<cpu::ConvImpl> cpu_impls() {
  std::vector<cpu::ConvImpl> v{cpu::ConvImpl::reference};
  if (cpu::onednn_available()) v.insert(v.end(), {cpu::ConvImpl::onednn, cpu::ConvImpl::onednn_all});
  return v;
}

const char* impl_name(cpu::ConvImpl i) {
  return i == cpu::ConvImpl::onednn ? "oneDNN" : i == cpu::ConvImpl::onednn_all ? "oneDNN, every pass" : "reference";
}

}  // namespace

TEST_CASE("conv2d and conv_transpose2d match PyTorch golden values", "[conv]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/conv_golden.bin");
  for (const cpu::ConvImpl impl : cpu_impls()) {
    const ConvImplGuard guard(impl);
    INFO("CPU convolutions: " << impl_name(impl));
    int cases = 0;
    for (const auto& kv : g) {
      const std::string& key = kv.first;
      const size_t dot = key.rfind(".params");
      if (dot == std::string::npos || dot + 7 != key.size()) continue;
      const std::string name = key.substr(0, dot);
      const bool transposed = name.rfind("conv_transpose2d", 0) == 0;
      const auto pv = kv.second.to_vector();
      REQUIRE(pv.size() == 7);
      const Conv2dParams p = params(int(pv[0]), int(pv[1]), int(pv[2]), int(pv[3]), int(pv[4]));
      Tensor x = g.at(name + ".x").detach().requires_grad_(), w = g.at(name + ".w").detach().requires_grad_();
      const bool f32 = x.dtype() == DType::f32;
      const double rtol = f32 ? 1e-4 : 1e-10, atol = f32 ? 1e-5 : 1e-12;
      INFO(name << ": x " << x.desc() << ", w " << w.desc());
      Tensor y = transposed ? conv_transpose2d(x, w, p, int(pv[5]), int(pv[6])) : conv2d(x, w, p);
      const auto grads = grad({y}, {x, w}, {g.at(name + ".gy")});
      const char* what[] = {"y", "dx", "dw"};
      const Tensor got[] = {y, grads[0], grads[1]};
      for (int i = 0; i < 3; ++i) {
        const auto chk = allclose(got[i], g.at(name + "." + what[i]), rtol, atol);
        INFO(what[i] << ": " << chk.message);
        CHECK(chk.ok);
      }
      ++cases;
    }
    CHECK(cases >= 8);
  }
}

TEST_CASE("conv ops on an empty batch give empty outputs and a zero weight gradient", "[conv]") {
  const Tensor x = random_tensor({0, 2, 5, 5}, 1), w = random_tensor({4, 2, 3, 3}, 2);
  const Tensor y = conv2d(x, w);
  CHECK(y.shape() == Shape{0, 4, 3, 3});
  CHECK(conv_transpose2d(y, w).shape() == Shape{0, 2, 5, 5});
  const Tensor gw = conv2d_weight_grad(x, y, w.shape());
  REQUIRE(gw.shape() == w.shape());
  for (double v : gw.to_vector()) CHECK(v == 0.0);
}

TEST_CASE("conv ops reject bad arguments, naming the op and the shapes", "[conv]") {
  using Catch::Matchers::Contains;
  const Tensor x = random_tensor({2, 4, 5, 5}, 1), w = random_tensor({6, 2, 3, 3}, 2);
  // rank
  REQUIRE_THROWS_WITH(conv2d(random_tensor({4, 5, 5}, 1), w), Contains("conv2d") && Contains("[4, 5, 5]"));
  REQUIRE_THROWS_WITH(conv2d(x, random_tensor({6, 4, 3}, 2)), Contains("conv2d") && Contains("[6, 4, 3]"));
  // channels and groups
  REQUIRE_THROWS_WITH(conv2d(x, w), Contains("conv2d") && Contains("groups") && Contains("[2, 4, 5, 5]") &&
                                        Contains("[6, 2, 3, 3]"));
  REQUIRE_THROWS_WITH(conv2d(x, random_tensor({5, 2, 3, 3}, 2), params(1, 1, 0, 0, 2)),
                      Contains("conv2d") && Contains("groups"));
  REQUIRE_THROWS_WITH(conv2d(random_tensor({2, 3, 5, 5}, 1), random_tensor({3, 1, 3, 3}, 2), params(1, 1, 0, 0, 2)),
                      Contains("conv2d") && Contains("[2, 3, 5, 5]"));
  // strides, padding, groups that make no sense
  REQUIRE_THROWS_WITH(conv2d(x, w, params(0, 1, 0, 0, 2)), Contains("conv2d") && Contains("stride"));
  REQUIRE_THROWS_WITH(conv2d(x, w, params(1, -2, 0, 0, 2)), Contains("conv2d") && Contains("stride"));
  REQUIRE_THROWS_WITH(conv2d(x, w, params(1, 1, -1, 0, 2)), Contains("conv2d") && Contains("padding"));
  REQUIRE_THROWS_WITH(conv2d(x, w, params(1, 1, 0, 0, 0)), Contains("conv2d") && Contains("groups"));
  // A pad near INT_MAX: twice it overflowed int and acted as -1 (a wrong-sized
  // output, silently); it is too large for the kernels.
  REQUIRE_THROWS_WITH(conv2d(ones({1, 1, 10, 10}), ones({1, 1, 3, 3}), params(1, 1, INT_MAX, 0, 1)),
                      Contains("conv2d") && Contains("int range"));
  REQUIRE_THROWS_WITH(conv2d(ones({1, 1, 10, 10}), ones({1, 1, 3, 3}), params(1, 1, 1 << 30, 0, 1)),
                      Contains("conv2d") && Contains("int range"));
  // With a stride as large the output is small, but the kernels' index of the padded input overflowed int.
  REQUIRE_THROWS_WITH(conv2d(ones({1, 1, 10, 10}), ones({1, 1, 3, 3}), params(INT_MAX, 1, INT_MAX, 0, 1)),
                      Contains("conv2d") && Contains("int range"));
  // output smaller than one pixel
  REQUIRE_THROWS_WITH(conv2d(x, random_tensor({6, 2, 7, 3}, 2), params(1, 1, 0, 0, 2)),
                      Contains("conv2d") && Contains("output size") && Contains("[6, 2, 7, 3]"));
  // dtype mismatch
  REQUIRE_THROWS_AS(conv2d(x, random_tensor({6, 2, 3, 3}, 2, DType::f32), params(1, 1, 0, 0, 2)), gf::Error);

  const Tensor wt = random_tensor({4, 3, 3, 3}, 3);
  REQUIRE_THROWS_WITH(conv_transpose2d(x, random_tensor({5, 3, 3, 3}, 3)),
                      Contains("conv_transpose2d") && Contains("[5, 3, 3, 3]"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, params(2, 2, 0, 0, 1), 2, 0),
                      Contains("conv_transpose2d") && Contains("output padding"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, params(1, 1, 0, 0, 1), 1, 0),
                      Contains("conv_transpose2d") && Contains("output padding"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, params(1, 1, 4, 4, 1)),
                      Contains("conv_transpose2d") && Contains("output size"));
  REQUIRE_THROWS_WITH(conv_transpose2d(x, wt, params(1, 1, 0, 0, 3)),
                      Contains("conv_transpose2d") && Contains("groups"));

  REQUIRE_THROWS_WITH(conv2d_weight_grad(x, random_tensor({2, 6, 4, 3}, 4), {6, 2, 3, 3}, params(1, 1, 0, 0, 2)),
                      Contains("conv2d_weight_grad") && Contains("[2, 6, 4, 3]"));
  REQUIRE_THROWS_WITH(conv2d_weight_grad(x, random_tensor({2, 6, 3, 3}, 4), {6, 3, 3}),
                      Contains("conv2d_weight_grad") && Contains("[6, 3, 3]"));
}

namespace {

// Each op's output and its gradients for a fixed upstream gradient, on device d.
std::vector<Tensor> op_and_grads(const std::string& op, const ConvCase& c, DType t, Device d) {
  Tensor a, b;
  if (op == "conv2d_weight_grad") {
    a = random_tensor(c.x, 31, t).to(d).requires_grad_();
    b = random_tensor(conv_out_shape(c), 32, t).to(d).requires_grad_();
  } else {
    a = random_tensor(c.x, 31, t).to(d).requires_grad_();
    b = random_tensor(c.w, 32, t).to(d).requires_grad_();
  }
  Tensor y = op == "conv2d"             ? conv2d(a, b, c.p)
             : op == "conv_transpose2d" ? conv_transpose2d(a, b, c.p, c.out_pad_h, c.out_pad_w)
                                        : conv2d_weight_grad(a, b, c.w, c.p);
  const auto g = grad({y}, {a, b}, {random_tensor(y.shape(), 33, t, d)});
  return {y, g[0], g[1]};
}

void compare_cuda_with_cpu(const std::string& op, const std::vector<ConvCase>& sweep) {
  for (const ConvCase& c : sweep)
    for (DType t : {DType::f32, DType::f64}) {
      INFO(op << " " << describe(c) << " " << dtype_name(t));
      const auto cpu = op_and_grads(op, c, t, Device::cpu());
      const auto gpu = op_and_grads(op, c, t, Device::cuda(0));
      const double tol = t == DType::f32 ? 1e-4 : 1e-10;
      const char* what[] = {"output", "grad 0", "grad 1"};
      for (size_t i = 0; i < 3; ++i) {
        // Absolute tolerance relative to the largest value: cuDNN's Winograd
        // and FFT algorithms err in proportion to it, not to each element.
        const auto chk = allclose(gpu[i].to(Device::cpu()), cpu[i], tol, tol * max_abs(cpu[i]));
        INFO(what[i] << ": " << chk.message);
        CHECK(chk.ok);
      }
    }
}

// Odd sizes, batch 1, channel counts that are not multiples of 8.
const std::vector<ConvCase> kCudaConvSweep = {
    {{1, 3, 17, 13}, {5, 3, 3, 3}, params(1, 1, 1, 1, 1)},
    {{3, 6, 15, 15}, {9, 2, 3, 3}, params(2, 2, 1, 1, 3)},
    {{2, 12, 9, 11}, {12, 1, 3, 3}, params(1, 1, 1, 1, 12)},
    {{1, 7, 20, 19}, {11, 7, 1, 1}, params(1, 1, 0, 0, 1)},
    {{4, 10, 8, 8}, {6, 5, 4, 4}, params(2, 2, 1, 1, 2)},
    {{2, 33, 7, 5}, {17, 33, 5, 3}, params(1, 2, 2, 1, 1)},
};
const std::vector<ConvCase> kCudaTransposeSweep = {
    {{1, 5, 8, 7}, {5, 3, 3, 3}, params(2, 2, 1, 1, 1), 1, 1},
    {{3, 6, 5, 9}, {6, 3, 4, 4}, params(2, 2, 1, 1, 2), 0, 1},
    {{2, 9, 6, 6}, {9, 1, 3, 3}, params(1, 1, 1, 1, 3)},
    {{1, 11, 4, 5}, {11, 7, 3, 2}, params(3, 2, 0, 1, 1), 2, 0},
};

}  // namespace

TEST_CASE("conv2d on cuda matches the cpu", "[conv][cuda]") { compare_cuda_with_cpu("conv2d", kCudaConvSweep); }

TEST_CASE("conv_transpose2d on cuda matches the cpu", "[conv][cuda]") {
  compare_cuda_with_cpu("conv_transpose2d", kCudaTransposeSweep);
}

TEST_CASE("conv2d_weight_grad on cuda matches the cpu", "[conv][cuda]") {
  compare_cuda_with_cpu("conv2d_weight_grad", kCudaConvSweep);
}

TEST_CASE("repeated cuda convolutions allocate nothing new", "[conv][cuda]") {
  // The algorithm and workspace size are cached per shape and the workspace
  // comes from the caching allocator, so a second identical step never
  // reaches cudaMalloc.
  auto step = [] {
    for (const ConvCase& c : kCudaConvSweep) op_and_grads("conv2d", c, DType::f32, Device::cuda(0));
  };
  step();
  const size_t before = cuda_allocator(0).stats().raw_allocs;
  step();
  CHECK(cuda_allocator(0).stats().raw_allocs == before);
}

TEST_CASE("cuda convolutions are deterministic: the same call gives the same bits", "[conv][cuda]") {
  // cuDNN ranks non-deterministic algorithms (atomics) first for some
  // shapes; the plan must pass them over, or a resumed run drifts from the
  // uninterrupted one. (The emulator's stand-in offers such a candidate first
  // for every pass, so this fails there if the choice is wrong.)
  for (const char* op : {"conv2d", "conv_transpose2d", "conv2d_weight_grad"})
    for (const ConvCase& c : std::string(op) == "conv_transpose2d" ? kCudaTransposeSweep : kCudaConvSweep) {
      INFO(op << " x " << shape_str(c.x) << " w " << shape_str(c.w));
      const auto first = op_and_grads(op, c, DType::f32, Device::cuda(0));
      const auto second = op_and_grads(op, c, DType::f32, Device::cuda(0));
      for (size_t i = 0; i < first.size(); ++i) CHECK(first[i].to_vector() == second[i].to_vector());
    }
}

namespace {

// float32 shapes for oneDNN against the reference: the CUDA sweeps' odd sizes,
// and the shapes StyleGAN2 trains with.
std::vector<ConvCase> onednn_conv_sweep() {
  std::vector<ConvCase> v = kCudaConvSweep;
  v.push_back({{4, 64, 8, 8}, {64, 64, 3, 3}, params(1, 1, 1, 1, 1)});    // synthesis conv, unfused
  v.push_back({{1, 128, 8, 8}, {128, 32, 3, 3}, params(1, 1, 1, 1, 4)});  // fused modulated conv: groups = batch
  v.push_back({{4, 32, 17, 17}, {64, 32, 3, 3}, params(2, 2, 0, 0, 1)});  // D: filtered, then strided
  v.push_back({{4, 1, 16, 16}, {32, 1, 1, 1}, params(1, 1, 0, 0, 1)});    // fromrgb from one channel
  v.push_back({{4, 65, 4, 4}, {64, 65, 3, 3}, params(1, 1, 1, 1, 1)});    // after minibatch stddev
  v.push_back({{2, 8, 10, 10}, {8, 8, 3, 3}, params(2, 2, 0, 0, 1)});     // stride 2 leaves the last row unread
  v.push_back({{11, 16, 8, 8}, {16, 16, 3, 3}, params(1, 1, 1, 1, 1)});   // weight gradient: 5 chunks of 2, 1 of 1
  return v;
}
std::vector<ConvCase> onednn_transpose_sweep() {
  std::vector<ConvCase> v = kCudaTransposeSweep;
  v.push_back({{1, 128, 4, 4}, {128, 32, 3, 3}, params(2, 2, 0, 0, 4)});  // fused upsampling modulated conv
  v.push_back({{4, 64, 8, 8}, {64, 32, 3, 3}, params(2, 2, 0, 0, 1)});    // unfused
  return v;
}

// The forward convolution a case's pass runs on (the transposed case: the one
// whose input has the transposed output's size).
Conv2dShape geometry(const ConvCase& c, bool transposed) {
  Conv2dShape s;
  s.n = int(c.x[0]);
  s.groups = c.p.groups, s.pad_h = c.p.pad_h, s.pad_w = c.p.pad_w, s.stride_h = c.p.stride_h, s.stride_w = c.p.stride_w;
  s.kh = int(c.w[2]), s.kw = int(c.w[3]);
  if (!transposed) {
    s.c = int(c.x[1]), s.h = int(c.x[2]), s.w = int(c.x[3]), s.k = int(c.w[0]);
    s.out_h = int(conv_out_size(s.h, s.kh, s.pad_h, s.stride_h));
    s.out_w = int(conv_out_size(s.w, s.kw, s.pad_w, s.stride_w));
  } else {
    s.k = int(c.x[1]), s.c = int(c.w[1]) * c.p.groups, s.out_h = int(c.x[2]), s.out_w = int(c.x[3]);
    s.h = (s.out_h - 1) * s.stride_h - 2 * s.pad_h + s.kh + c.out_pad_h;
    s.w = (s.out_w - 1) * s.stride_w - 2 * s.pad_w + s.kw + c.out_pad_w;
  }
  return s;
}

void compare_onednn_with_reference(const std::string& op, const std::vector<ConvCase>& sweep) {
  if (!cpu::onednn_available()) {
    CHECK_THROWS_AS(cpu::set_conv_impl(cpu::ConvImpl::onednn), std::invalid_argument);
    WARN("this build has no oneDNN: only the reference convolutions are tested");
    return;
  }
  for (const ConvCase& c : sweep) {
    INFO(op << " " << describe(c));
    const Conv2dShape s = geometry(c, op == "conv_transpose2d");
    {
      const ConvImplGuard g(cpu::ConvImpl::onednn_all);
      for (const ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_filter})
        CHECK(cpu::conv_impl_for<float>(pass, s) == cpu::ConvImpl::onednn);  // oneDNN really runs it
    }
    std::vector<Tensor> ref, dnn, again, chunks;
    {
      const ConvImplGuard g(cpu::ConvImpl::reference);
      ref = op_and_grads(op, c, DType::f32, Device::cpu());
    }
    {
      const ConvImplGuard g(cpu::ConvImpl::onednn_all);
      dnn = op_and_grads(op, c, DType::f32, Device::cpu());
      again = op_and_grads(op, c, DType::f32, Device::cpu());
    }
    {
      const ConvImplGuard g(cpu::ConvImpl::onednn);  // the default: the weight gradient in chunks of the batch
      CHECK(cpu::conv_impl_for<float>(ConvPass::backward_filter, s) == cpu::ConvImpl::onednn);
      chunks = op_and_grads(op, c, DType::f32, Device::cpu());
    }
    const char* what[] = {"output", "grad 0", "grad 1"};
    for (size_t i = 0; i < 3; ++i) {
      INFO(what[i]);
      // Another summation order: errors scale with the largest value, not each element.
      const auto chk = allclose(dnn[i], ref[i], 1e-4, 1e-5 * max_abs(ref[i]));
      INFO(chk.message);
      CHECK(chk.ok);
      const auto chk_chunks = allclose(chunks[i], ref[i], 1e-4, 1e-5 * max_abs(ref[i]));
      INFO("in chunks: " << chk_chunks.message);
      CHECK(chk_chunks.ok);
      const auto same = allclose(again[i], dnn[i], 0, 0);  // deterministic: the same bits every run
      INFO("second run: " << same.message);
      CHECK(same.ok);
    }
  }
}

}  // namespace

TEST_CASE("conv2d through oneDNN matches the reference", "[conv]") {
  compare_onednn_with_reference("conv2d", onednn_conv_sweep());
}

TEST_CASE("conv_transpose2d through oneDNN matches the reference", "[conv]") {
  compare_onednn_with_reference("conv_transpose2d", onednn_transpose_sweep());
}

TEST_CASE("conv2d_weight_grad through oneDNN matches the reference", "[conv]") {
  compare_onednn_with_reference("conv2d_weight_grad", onednn_conv_sweep());
}

TEST_CASE("CPU convolutions and their gradients: the same bits at 1, 2 and 3 threads", "[conv]") {
  // oneDNN 2.6 splits its weight gradient's sum over the batch (or the rows)
  // by the thread count: these shapes gave other bits at 2 or 3 threads than
  // at 1 (onednn_all). By default that pass runs oneDNN on chunks of the batch
  // fixed by the shape, each on one thread, added in chunk order; the
  // reference's GEMM tiles are fixed by the shape.
  const std::vector<ConvCase> sweep = {
      {{4, 64, 32, 32}, {64, 64, 3, 3}, params(1, 1, 1, 1, 1)},
      {{16, 32, 32, 32}, {32, 32, 3, 3}, params(1, 1, 1, 1, 1)},
      {{4, 3, 32, 32}, {64, 3, 1, 1}, params(1, 1, 0, 0, 1)},
      {{1, 256, 32, 32}, {256, 64, 3, 3}, params(1, 1, 1, 1, 4)},  // fused modulated conv: batch 1, groups 4
      {{11, 16, 8, 8}, {16, 16, 3, 3}, params(1, 1, 1, 1, 1)},      // weight gradient: 5 chunks of 2, 1 of 1
  };
  for (const cpu::ConvImpl impl : cpu_impls()) {
    if (impl == cpu::ConvImpl::onednn_all) continue;  // thread-count dependent, as said
    const ConvImplGuard g(impl);
    for (const ConvCase& c : sweep) {
      if (impl == cpu::ConvImpl::onednn)  // oneDNN really runs it, in chunks
        CHECK(cpu::conv_impl_for<float>(ConvPass::backward_filter, geometry(c, false)) == cpu::ConvImpl::onednn);
      for (const std::string op : {"conv2d", "conv_transpose2d"}) {
        if (op == "conv_transpose2d" && c.p.groups > 1) continue;
        ConvCase ct = c;
        if (op == "conv_transpose2d") ct.w = {c.w[1], c.w[0], c.w[2], c.w[3]};  // [Cin, Cout, kh, kw]
        std::vector<std::vector<Tensor>> got;
        for (int threads : {1, 2, 3}) {
          test::OmpThreads scope(threads);
          got.push_back(op_and_grads(op, ct, DType::f32, Device::cpu()));
        }
        for (size_t i = 0; i < 3; ++i) {
          INFO(impl_name(impl) << ", " << op << " " << describe(ct) << ", result " << i << " (output, x, w)");
          CHECK(test::bit_equal(got[0][i], got[1][i]));
          CHECK(test::bit_equal(got[0][i], got[2][i]));
        }
      }
    }
  }
}

TEST_CASE("CPU convolutions from several host threads at once give the one-thread bits", "[conv]") {
  // A server's threads each running the networks: oneDNN's cached passes are
  // shared between them (each call binds its own pointers), so any state a
  // call left in a shared pass would show here as other bits. The shapes are
  // this test's own, so the threads also build the passes while others run;
  // they take oneDNN's blocked layouts (reorders in and out) and plain ones.
  const std::vector<ConvCase> sweep = {
      {{2, 24, 15, 11}, {24, 24, 3, 3}, params(1, 1, 1, 1, 1)},  // square: conv_transpose2d takes it too
      {{1, 40, 9, 7}, {40, 10, 3, 3}, params(1, 1, 1, 1, 4)},
      {{3, 4, 19, 13}, {4, 4, 3, 3}, params(2, 2, 1, 1, 1)},
  };
  const std::vector<std::string> ops = {"conv2d", "conv_transpose2d", "conv2d_weight_grad"};
  const auto run_all = [&] {
    std::vector<std::vector<Tensor>> out;
    for (const ConvCase& c : sweep)
      for (const std::string& op : ops) out.push_back(op_and_grads(op, c, DType::f32, Device::cpu()));
    return out;
  };
  for (const cpu::ConvImpl impl : cpu_impls()) {
    INFO(impl_name(impl));
    const ConvImplGuard g(impl);
    // Threads of 1 and 2 OpenMP threads (oneDNN's weight gradient changes
    // its bits with the count: each is held to a one-thread run at its own).
    constexpr int kThreads = 4, kRounds = 3;
    std::vector<std::vector<std::vector<Tensor>>> got(kThreads * kRounds);
    std::vector<std::string> errors(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        try {
          test::OmpThreads scope(1 + t % 2);
          for (int r = 0; r < kRounds; ++r) got[t * kRounds + r] = run_all();
        } catch (const std::exception& e) {
          errors[t] = e.what();
        }
      });
    for (std::thread& th : threads) th.join();
    std::vector<std::vector<Tensor>> alone[2];
    for (int k = 0; k < 2; ++k) {
      test::OmpThreads scope(1 + k);
      alone[k] = run_all();
    }
    for (int t = 0; t < kThreads; ++t) {
      INFO("thread " << t << ", OpenMP threads " << 1 + t % 2);
      REQUIRE(errors[t].empty());
      const auto& want = alone[t % 2];
      for (int r = 0; r < kRounds; ++r)
        for (size_t k = 0; k < want.size(); ++k)
          for (size_t i = 0; i < 3; ++i) {
            INFO(ops[k % ops.size()] << " " << describe(sweep[k / ops.size()]) << ", round " << r << ", result " << i);
            CHECK(test::bit_equal(got[t * kRounds + r][k][i], want[k][i]));
          }
    }
  }
}

TEST_CASE("repeated CPU convolutions allocate no new tensor memory", "[conv]") {
  // Columns, oneDNN's reordered tensors and its scratchpad all come from the
  // caching allocator, and oneDNN's primitives are cached per shape.
  auto step = [] {
    for (const ConvCase& c : onednn_conv_sweep()) op_and_grads("conv2d", c, DType::f32, Device::cpu());
  };
  for (const cpu::ConvImpl impl : cpu_impls()) {
    INFO(impl_name(impl));
    const ConvImplGuard g(impl);
    step();
    const size_t before = cpu_allocator().stats().raw_allocs;
    step();
    CHECK(cpu_allocator().stats().raw_allocs == before);
  }
}

namespace {

// Each op's output and gradients with x and y allowed `limit` elements per
// kernel call (so the calls run in slices of samples or groups) and without a
// limit, on device d, float64 (a sliced weight gradient sums its samples'
// slices in another order).
void compare_sliced_with_whole(const ConvCase& c, int64_t limit, Device d) {
  for (const std::string op : {"conv2d", "conv_transpose2d", "conv2d_weight_grad"}) {
    INFO(op << " " << describe(c) << " limit " << limit << " on " << d.str());
    const auto whole = op_and_grads(op, c, DType::f64, d);
    const int64_t before = set_conv_call_elements_for_test(limit);
    std::vector<Tensor> sliced;
    try {
      sliced = op_and_grads(op, c, DType::f64, d);
    } catch (...) {
      set_conv_call_elements_for_test(before);
      throw;
    }
    set_conv_call_elements_for_test(before);
    for (size_t i = 0; i < 3; ++i) {
      const auto chk = allclose(sliced[i].to(Device::cpu()), whole[i].to(Device::cpu()), 1e-12, 1e-12);
      INFO("result " << i << ": " << chk.message);
      CHECK(chk.ok);
    }
  }
}

// x [5, 6, 7, 7] (294 elements a sample) with 3 groups; conv_transpose2d
// reads the same x as its gy. A limit of 700 takes 2 samples a call (the last
// call 1); 200 takes one sample and 2 of its 3 groups a call (98 elements a
// group), then 1.
const ConvCase kSlicedCase{{5, 6, 7, 7}, {6, 2, 3, 3}, params(1, 1, 1, 1, 3)};

}  // namespace

TEST_CASE("a convolution too large for one kernel call runs in slices of samples and groups", "[conv]") {
  for (int64_t limit : {700, 200}) compare_sliced_with_whole(kSlicedCase, limit, Device::cpu());
  // One group of one sample over the limit: refused, naming the sizes.
  const int64_t before = set_conv_call_elements_for_test(90);
  CHECK_THROWS_WITH(conv2d(random_tensor(kSlicedCase.x, 1), random_tensor(kSlicedCase.w, 2), kSlicedCase.p),
                    Catch::Contains("conv2d: one group of one sample holds 98 elements, more than a convolution call takes (90)"));
  set_conv_call_elements_for_test(before);
}

TEST_CASE("a cuda convolution too large for one kernel call runs in slices of samples and groups", "[conv][cuda]") {
  for (int64_t limit : {700, 200}) compare_sliced_with_whole(kSlicedCase, limit, Device::cuda(0));
}
