// Philox RNG: the cipher against the published test vectors, our log and
// sincos against double-precision libm on every input they can receive, the
// generator's counter bookkeeping, the distributions, and CPU/GPU bit equality.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "engine/numpy_random_state.h"
#include "kernels/philox.h"
#include "tests/testing.h"

using namespace gf;

namespace {

// Index of the first element whose bits differ, or -1 when a and b are identical.
int64_t first_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(double)) != 0) return static_cast<int64_t>(i);
  return -1;
}

std::vector<double> sub_range(const std::vector<double>& v, size_t begin, size_t end) {
  return std::vector<double>(v.begin() + begin, v.begin() + end);
}

struct Moments {
  double mean = 0, var = 0, kurtosis = 0;
};
Moments moments(const std::vector<double>& v) {
  Moments m;
  for (double x : v) m.mean += x;
  m.mean /= v.size();
  double m2 = 0, m4 = 0;
  for (double x : v) {
    const double d2 = (x - m.mean) * (x - m.mean);
    m2 += d2;
    m4 += d2 * d2;
  }
  m2 /= v.size();
  m4 /= v.size();
  m.var = m2;
  m.kurtosis = m4 / (m2 * m2);
  return m;
}

// Units in the last place of float at the magnitude of v.
double ulp_of(double v) {
  const float f = std::fabs(static_cast<float>(v));
  return std::nextafter(f, INFINITY) - f;
}

}  // namespace

TEST_CASE("philox4x32_10 matches the Random123 known-answer vectors", "[random]") {
  struct Kat {
    philox::Words ctr;
    uint32_t k0, k1;
    philox::Words expect;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, 0, 0, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}}, 0xffffffff, 0xffffffff,
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}}, 0xa4093822, 0x299f31d0,
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    const philox::Words got = philox::philox4x32_10(k.ctr, k.k0, k.k1);
    for (int i = 0; i < 4; ++i) CHECK(got.v[i] == k.expect.v[i]);
  }
}

TEST_CASE("philox log is within 2 ulp on every input Box-Muller gives it", "[random]") {
  // Box-Muller takes log of (j + 1) 2^-24, j the top 24 bits of a word: all 2^24 of them.
  double worst = 0;
  for (uint32_t j = 0; j < (1u << 24); ++j) {
    const float x = philox::uniform01_open_low(j << 8);
    const double ref = std::log(static_cast<double>(x));
    if (ref == 0) {
      REQUIRE(philox::log_pos(x) == 0.0f);
      continue;
    }
    worst = std::max(worst, std::fabs(philox::log_pos(x) - ref) / ulp_of(ref));
  }
  INFO("max error " << worst << " ulp");
  CHECK(worst <= 2.0);
}

TEST_CASE("philox sincos(2 pi u) is accurate on every 24-bit angle", "[random]") {
  const double two_pi = 2 * M_PI;
  double worst = 0;
  for (uint32_t j = 0; j < (1u << 24); ++j) {
    float c, s;
    philox::sincos_2pi(j << 8, &c, &s);
    const double a = two_pi * j * 0x1p-24;
    worst = std::max({worst, std::fabs(c - std::cos(a)), std::fabs(s - std::sin(a))});
  }
  INFO("max abs error " << worst);
  CHECK(worst <= 2 * 0x1p-24);  // two ulp of 1
}

TEST_CASE("randn is deterministic for a seed and differs between seeds", "[random]") {
  Generator g1(1234), g2(1234), g3(1235), g4(1234 + (uint64_t(1) << 32));
  const auto a = randn({1000}, g1).to_vector();
  const auto b = randn({1000}, g2).to_vector();
  CHECK(first_difference(a, b) == -1);
  // Both halves of the seed are key material.
  for (Generator* other : {&g3, &g4}) {
    const auto c = randn({1000}, *other).to_vector();
    int64_t equal = 0;
    for (size_t i = 0; i < a.size(); ++i) equal += a[i] == c[i];
    CHECK(equal == 0);
  }
}

TEST_CASE("a generator's offset advances by ceil(n / 4) counters per call", "[random]") {
  Generator g(42);
  const auto a = randn({2, 5}, g).to_vector();  // counters 0..2, two values of counter 2 unused
  CHECK(g.offset == 3);
  const auto b = randn({10}, g).to_vector();  // counters 3..5
  CHECK(g.offset == 6);

  Generator h(42);
  const auto c = randn({24}, h).to_vector();
  CHECK(h.offset == 6);
  CHECK(first_difference(a, sub_range(c, 0, 10)) == -1);
  CHECK(first_difference(b, sub_range(c, 12, 22)) == -1);

  // Calls of whole counters split one long call exactly.
  Generator k(42);
  const auto d = randn({12}, k).to_vector();
  const auto e = randn({12}, k).to_vector();
  CHECK(first_difference(d, sub_range(c, 0, 12)) == -1);
  CHECK(first_difference(e, sub_range(c, 12, 24)) == -1);

  // The offset alone positions the stream.
  Generator m(42);
  m.offset = 3;
  CHECK(first_difference(randn({10}, m).to_vector(), b) == -1);

  // An empty tensor takes no counters.
  Generator z(42);
  CHECK(randn({0, 3}, z).numel() == 0);
  CHECK(rand({0}, z).numel() == 0);
  CHECK(z.offset == 0);
}

TEST_CASE("randn has mean 0, variance 1, kurtosis 3 and a normal distribution", "[random]") {
  const size_t n = 1000000;
  Generator g(7);
  auto v = randn({int64_t(n)}, g).to_vector();
  const Moments m = moments(v);
  // Five standard errors: sd(mean) = 1/sqrt(n), sd(var) = sqrt(2/n), sd(kurtosis) = sqrt(24/n).
  const double rn = std::sqrt(double(n));
  CHECK(std::fabs(m.mean) < 5 / rn);
  CHECK(std::fabs(m.var - 1) < 5 * std::sqrt(2.0) / rn);
  CHECK(std::fabs(m.kurtosis - 3) < 5 * std::sqrt(24.0) / rn);

  // Neighbours (the two outputs of one Box-Muller pair, and across pairs and
  // counters) are uncorrelated: sd(correlation) = 1/sqrt(n).
  double lag1 = 0;
  for (size_t i = 0; i + 1 < n; ++i) lag1 += v[i] * v[i + 1];
  CHECK(std::fabs(lag1 / (n - 1)) < 5 / rn);

  // Kolmogorov-Smirnov against the standard normal CDF, 0.1% critical value.
  std::sort(v.begin(), v.end());
  double d = 0;
  for (size_t i = 0; i < n; ++i) {
    const double cdf = 0.5 * std::erfc(-v[i] / std::sqrt(2.0));
    d = std::max({d, double(i + 1) / n - cdf, cdf - double(i) / n});
  }
  INFO("KS statistic " << d);
  CHECK(d < 1.95 / rn);
}

TEST_CASE("rand lies on the 2^-24 grid in [0, 1) with mean 1/2 and variance 1/12", "[random]") {
  const size_t n = 1000000;
  Generator g(8);
  const auto v = rand({int64_t(n)}, g).to_vector();
  for (double x : v) {
    REQUIRE(x >= 0.0);
    REQUIRE(x < 1.0);
    REQUIRE(std::ldexp(x, 24) == std::floor(std::ldexp(x, 24)));
  }
  const Moments m = moments(v);
  // sd(mean) = sqrt(1/12 / n); sd(var) = sqrt((1/80 - 1/144) / n) = sqrt(1/180 / n).
  const double rn = std::sqrt(double(n));
  CHECK(std::fabs(m.mean - 0.5) < 5 * std::sqrt(1.0 / 12) / rn);
  CHECK(std::fabs(m.var - 1.0 / 12) < 5 * std::sqrt(1.0 / 180) / rn);
}

TEST_CASE("float64 random tensors are the float32 values widened", "[random]") {
  for (bool normal : {true, false}) {
    Generator g32(99), g64(99);
    const Tensor a = normal ? randn({3, 7}, g32) : rand({3, 7}, g32);
    const Tensor b = normal ? randn({3, 7}, g64, DType::f64) : rand({3, 7}, g64, DType::f64);
    CHECK(b.dtype() == DType::f64);
    CHECK(first_difference(a.to_vector(), b.to_vector()) == -1);
    CHECK(g32.offset == g64.offset);
  }
}

TEST_CASE("randn cuda is bit-identical to cpu", "[random][cuda]") {
  // The second seed uses both key words; its offset makes the 64-bit counter
  // carry into its high word inside the fill.
  struct Start {
    uint64_t seed, offset;
  };
  for (Start st : {Start{0, 0}, Start{0x0123456789abcdefULL, (uint64_t(1) << 32) - 2}}) {
    for (int64_t n : {int64_t(1), int64_t(3), int64_t(4), int64_t(1000), int64_t((1 << 20) + 3)}) {
      for (DType t : {DType::f32, DType::f64}) {
        Generator gc(st.seed), gg(st.seed);
        gc.offset = gg.offset = st.offset;
        const auto cpu = randn({n}, gc, t).to_vector();
        const auto gpu = randn({n}, gg, t, Device::cuda(0)).to_vector();
        INFO("seed " << st.seed << " offset " << st.offset << " n " << n << " " << dtype_name(t));
        CHECK(first_difference(cpu, gpu) == -1);
        CHECK(gc.offset == gg.offset);
      }
    }
  }
}

TEST_CASE("rand cuda is bit-identical to cpu", "[random][cuda]") {
  for (int64_t n : {int64_t(1), int64_t(3), int64_t(4), int64_t(1000), int64_t((1 << 20) + 3)}) {
    Generator gc(5), gg(5);
    const auto cpu = rand({n}, gc).to_vector();
    const auto gpu = rand({n}, gg, DType::f32, Device::cuda(0)).to_vector();
    INFO("n " << n);
    CHECK(first_difference(cpu, gpu) == -1);
  }
}

// numpy's legacy RandomState, against numpy 1.24's own values (repr, 17
// digits: equality is bit equality). The seeds' z of tools/generate.cpp and
// the official max_size subset rest on it.
TEST_CASE("NumpyRandomState draws numpy's RandomState numbers", "[random][numpy]") {
  auto randn = [](uint32_t seed, int n) {
    NumpyRandomState rs(seed);
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) x = rs.randn();
    return v;
  };
  CHECK(randn(0, 6) == std::vector<double>{1.764052345967664, 0.4001572083672233, 0.9787379841057392,
                                           2.240893199201458, 1.8675579901499675, -0.977277879876411});
  CHECK(randn(1, 5) == std::vector<double>{1.6243453636632417, -0.6117564136500754, -0.5281717522634557,
                                           -1.0729686221561705, 0.8654076293246785});
  CHECK(randn(4294967295u, 3) == std::vector<double>{0.6484086742306527, 0.6693235306338161, -1.0805437227474493});
  // RandomState(85).randn(512), a z of z_dim 512: entries 0, 1, 255, 510, 511.
  const std::vector<double> z = randn(85, 512);
  CHECK(std::vector<double>{z[0], z[1], z[255], z[510], z[511]} ==
        std::vector<double>{0.1768507210788626, 2.3777541249700573, 1.349713725011245, 1.0266740775203607,
                            0.8217957110292099});
  NumpyRandomState u(0);
  CHECK(u.random_sample() == 0.5488135039273248);
  CHECK(u.random_sample() == 0.7151893663724195);
  CHECK(u.random_sample() == 0.6027633760716439);
  // The second value of a pair waits across other draws: randn(3), random_sample(), randn(2).
  NumpyRandomState m(7);
  std::vector<double> drawn;
  for (int i = 0; i < 3; ++i) drawn.push_back(m.randn());
  drawn.push_back(m.random_sample());
  for (int i = 0; i < 2; ++i) drawn.push_back(m.randn());
  CHECK(drawn == std::vector<double>{1.690525703800356, -0.4659373705408328, 0.0328201636785844, 0.5011204636599379,
                                     0.40751628299650783, -0.1569886595634109});
  std::vector<int64_t> v{0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  NumpyRandomState(5).shuffle(v);
  CHECK(v == std::vector<int64_t>{9, 5, 2, 4, 7, 1, 0, 8, 6, 3});
  // randint(low, high, size): 32-bit masked draws, 64-bit past 2^32 - 1, none
  // for a one-value range (the random_sample after it is the next 53 bits).
  NumpyRandomState r(1000);
  std::vector<int64_t> ints;
  for (int i = 0; i < 8; ++i) ints.push_back(r.randint(3, 13));
  for (int i = 0; i < 4; ++i) ints.push_back(r.randint(0, 5));
  for (int i = 0; i < 3; ++i) ints.push_back(r.randint(-7, int64_t(1) << 40));
  for (int i = 0; i < 2; ++i) ints.push_back(r.randint(5, 6));
  CHECK(ints == std::vector<int64_t>{6, 10, 10, 3, 4, 3, 12, 11, 1, 4, 3, 4, 811069100518, 980936832653,
                                     1003920857425, 5, 5});
  CHECK(r.random_sample() == 0.9050070872126674);
  CHECK_THROWS_WITH(r.randint(4, 4), Catch::Contains("needs high > low"));
}
