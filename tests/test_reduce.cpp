// Reductions: values against loops, every dim pattern (adjacent, split,
// keepdim, all), gradients of first and second order, CUDA against CPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>

#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Fn;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

// Reference: reduce a [2,3,4,5] tensor over `dims` with plain loops.
std::vector<double> loop_reduce(const Tensor& x, const std::vector<int64_t>& dims, bool take_max, bool average) {
  const Shape s = x.shape();
  auto v = x.to_vector();
  Shape keep = s;
  for (auto d : dims) keep[static_cast<size_t>(d)] = 1;
  std::vector<double> out(static_cast<size_t>(shape_numel(keep)), take_max ? -INFINITY : 0.0);
  int64_t count = shape_numel(s) / shape_numel(keep);
  for (int64_t i = 0; i < shape_numel(s); ++i) {
    int64_t rem = i, o = 0, mul = 1;
    std::vector<int64_t> c(s.size());
    for (int k = static_cast<int>(s.size()) - 1; k >= 0; --k) {
      c[k] = rem % s[k];
      rem /= s[k];
    }
    for (int k = static_cast<int>(s.size()) - 1; k >= 0; --k) {
      o += (keep[k] == 1 ? 0 : c[k]) * mul;
      mul *= keep[k];
    }
    double& acc = out[static_cast<size_t>(o)];
    acc = take_max ? std::max(acc, v[static_cast<size_t>(i)]) : acc + v[static_cast<size_t>(i)];
  }
  if (average)
    for (auto& e : out) e /= static_cast<double>(count);
  return out;
}

const std::vector<std::vector<int64_t>> kDimSets = {{0}, {1}, {3}, {1, 2}, {2, 3}, {0, 2}, {0, 2, 3}, {1, 3}, {0, 1, 2, 3}};

}  // namespace

TEST_CASE("sum, mean and max reduce any set of dims", "[reduce]") {
  Tensor x = random_tensor({2, 3, 4, 5}, 1);
  for (const auto& dims : kDimSets) {
    for (bool keepdim : {false, true}) {
      INFO("dims size " << dims.size() << " first " << dims[0] << " keepdim " << keepdim);
      Tensor s = sum(x, dims, keepdim), m = mean(x, dims, keepdim), mx = max(x, dims, keepdim);
      Shape keep = x.shape();
      for (auto d : dims) keep[static_cast<size_t>(d)] = 1;
      CHECK(shape_numel(s.shape()) == shape_numel(keep));
      if (keepdim) CHECK(s.shape() == keep);
      else CHECK(s.dim() == x.dim() - static_cast<int64_t>(dims.size()));
      auto near = [](const std::vector<double>& a, const std::vector<double>& b) {
        for (size_t i = 0; i < a.size(); ++i)
          if (std::fabs(a[i] - b[i]) > 1e-12 * (1 + std::fabs(b[i]))) return false;
        return a.size() == b.size();
      };
      CHECK(near(s.to_vector(), loop_reduce(x, dims, false, false)));
      CHECK(near(m.to_vector(), loop_reduce(x, dims, false, true)));
      CHECK(near(mx.to_vector(), loop_reduce(x, dims, true, false)));
    }
  }
  CHECK(sum(x, {-1}).shape() == Shape{2, 3, 4});
  CHECK(sum(x).dim() == 0);
  REQUIRE_THROWS_WITH(sum(x, {4}), Catch::Contains("sum") && Catch::Contains("out of range"));
  REQUIRE_THROWS_WITH(sum(x, {1, 1}), Catch::Contains("twice"));
}

TEST_CASE("reductions: first- and second-order gradients", "[reduce][grad]") {
  Tensor x = random_tensor({2, 3, 4}, 2).requires_grad_();
  for (const std::vector<int64_t>& dims : std::vector<std::vector<int64_t>>{{0}, {1}, {0, 2}, {}}) {
    INFO("ndims " << dims.size());
    // Squared so the second derivative is not trivially zero.
    Fn fs = [&](const std::vector<Tensor>& v) { return square(sum(v[0], dims, true)); };
    Fn fm = [&](const std::vector<Tensor>& v) { return square(mean(v[0], dims)); };
    Fn fx = [&](const std::vector<Tensor>& v) { return square(max(v[0], dims)); };
    for (const Fn& f : {fs, fm, fx}) {
      auto g1 = gradcheck(f, {x});
      INFO(g1.message);
      CHECK(g1.ok);
      auto g2 = gradgradcheck(f, {x});
      INFO(g2.message);
      CHECK(g2.ok);
    }
  }
}

TEST_CASE("max shares the gradient among ties", "[reduce]") {
  Tensor x = Tensor::from_vector({1, 3, 3, 2}, {4}, DType::f64).requires_grad_();
  auto g = grad({max(x)}, {x})[0].to_vector();
  CHECK(g == std::vector<double>{0, 0.5, 0.5, 0});
}

TEST_CASE("sum_to folds broadcast dims back", "[reduce]") {
  Tensor y = random_tensor({2, 3, 4}, 3);
  auto s = sum_to(y, {3, 1});
  CHECK(s.shape() == Shape{3, 1});
  auto want = sum(y, {0, 2}).to_vector();
  auto got = s.to_vector();
  for (size_t i = 0; i < 3; ++i) CHECK(got[i] == Approx(want[i]));
}

TEST_CASE("whole-tensor sum, mean and max: the same bits at 1, 2 and 3 threads", "[reduce]") {
  // Long enough to be split into chunks (over 32768 elements, and not a
  // multiple of the chunk): the old split gave each thread a share and
  // combined the shares, so float64 sums changed with the count. Values of
  // many magnitudes make every order of the adds round differently.
  const int64_t n = 1000003;
  Tensor x = random_tensor({n}, 31) * exp(test::uniform_tensor({n}, 32, -12, 12));
  for (const DType t : {DType::f64, DType::f32}) {
    const Tensor xt = x.to(t);
    const Tensor grid = xt.reshape({1, n, 1});  // the [outer, r, inner] view with outer = inner = 1
    std::vector<std::vector<Tensor>> got;
    for (int threads : {1, 2, 3}) {
      test::OmpThreads scope(threads);
      got.push_back({sum(xt, {}), mean(xt, {}), max(xt, {}), sum(grid, {1})});
    }
    for (size_t i = 0; i < got[0].size(); ++i) {
      INFO(dtype_name(t) << ", result " << i);
      CHECK(test::bit_equal(got[0][i], got[1][i]));
      CHECK(test::bit_equal(got[0][i], got[2][i]));
    }
    CHECK(got[0][0].item() == Approx(sum(x, {}).item()).epsilon(1e-6));
  }
}

TEST_CASE("reductions on cuda match the cpu", "[reduce][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<std::pair<Shape, std::vector<int64_t>>> cases = {
      {{1}, {}}, {{1000003}, {}}, {{16 << 20}, {}}, {{3, 70001}, {1}}, {{70001, 3}, {0}}, {{4096, 4096}, {1}},
      {{4096, 4096}, {0}}, {{5, 7, 9}, {1}}, {{32, 512, 8, 8}, {0, 2, 3}}, {{32, 513, 5, 5}, {1}}, {{2, 3, 4, 5}, {0, 2}}};
  for (const auto& [s, dims] : cases) {
    Tensor x = random_tensor(s, 21, DType::f32);
    Tensor xg = x.to(gpu);
    INFO(shape_str(s));
    const double n = static_cast<double>(x.numel());
    // float32 sums: tolerance grows with the number of terms.
    auto c1 = allclose(sum(xg, dims), sum(x, dims), 1e-5, 1e-6 * std::sqrt(n));
    INFO(c1.message);
    CHECK(c1.ok);
    CHECK(allclose(mean(xg, dims, true), mean(x, dims, true), 1e-5, 1e-6).ok);
    CHECK(allclose(max(xg, dims), max(x, dims), 0, 0).ok);
  }
}

// torch.amax propagates a NaN; max skipped it (x > acc is false for a NaN x),
// which hid NaN logits (Inception's softmax, the PGGAN and pSp losses).
TEST_CASE("max propagates NaN wherever it sits, as torch.amax; other rows keep their maximum", "[reduce]") {
  // Rows long enough for the simd lanes and, whole, for several chunks.
  const int64_t n = 3 * 65536 + 7;
  for (DType t : {DType::f32, DType::f64})
    for (int64_t at : {int64_t(0), int64_t(5), n / 2, n - 1}) {
      INFO(dtype_name(t) << " NaN at " << at);
      std::vector<double> v(static_cast<size_t>(2 * n));
      for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 997) - 500;
      v[static_cast<size_t>(at)] = std::nan("");  // in row 0 only
      const Tensor x = Tensor::from_vector(v, {2, n}, t);
      const std::vector<double> rows = max(x, {1}).to_vector();
      CHECK(std::isnan(rows[0]));
      CHECK(rows[1] == 496);
      CHECK(std::isnan(max(x).item()));  // whole tensor: the chunked path
      const std::vector<double> cols = max(x.reshape({2, n, 1}), {0, 2}).to_vector();  // over a non-innermost dim
      CHECK(std::isnan(cols[static_cast<size_t>(at)]));
      CHECK(std::count_if(cols.begin(), cols.end(), [](double c) { return std::isnan(c); }) == 1);
      const std::vector<double> inner = max(x.reshape({1, 2, n}), {1}).to_vector();  // inner > 1: per-column accumulators
      CHECK(std::isnan(inner[static_cast<size_t>(at)]));
      CHECK(std::count_if(inner.begin(), inner.end(), [](double c) { return std::isnan(c); }) == 1);
    }
}

TEST_CASE("max on cuda propagates NaN as the cpu does", "[reduce][cuda]") {
  // NaNs in row 0 only, after its maximum and before smaller values.
  std::vector<double> v(4096 * 3);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i % 97) - 50;
  for (size_t i = 1; i < 4096; i += 5) v[i] = std::nan("");
  const Tensor x = Tensor::from_vector(v, {3, 4096}, DType::f32);
  for (const std::vector<int64_t>& dims : {std::vector<int64_t>{1}, std::vector<int64_t>{0}, std::vector<int64_t>{}}) {
    const std::vector<double> cpu = max(x, dims).to_vector(), gpu = max(x.to(Device::cuda(0)), dims).to_vector();
    REQUIRE(cpu.size() == gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) CHECK((gpu[i] == cpu[i] || (std::isnan(gpu[i]) && std::isnan(cpu[i]))));
    CHECK(std::isnan(cpu[dims == std::vector<int64_t>{0} ? 1 : 0]));  // row 0; column 1, whose row 0 is NaN; all
  }
}
