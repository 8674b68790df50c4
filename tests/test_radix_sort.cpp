// kernels/radix_sort.h: the same order as std::sort on every kind of float32
// value, below and above the size where it switches to a first MSD pass.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "kernels/radix_sort.h"

namespace {

std::vector<uint32_t> bits_of(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * sizeof(float));
  return b;
}

// Radix-sorted v against std::sort's order, bit for bit: a stable sort by
// value with -0 before +0 (which compare equal), the order the radix keys
// give them.
void check_sorts(std::vector<float> v) {
  std::vector<float> want = v, tmp(v.size(), 123.0f);
  std::stable_sort(want.begin(), want.end(), [](float a, float b) {
    return a < b || (a == 0 && b == 0 && std::signbit(a) && !std::signbit(b));
  });
  gf::cpu::radix_sort_floats(v.data(), tmp.data(), int64_t(v.size()));
  CHECK(bits_of(v) == bits_of(want));
}

}  // namespace

TEST_CASE("radix_sort_floats orders as std::sort", "[radix_sort]") {
  std::mt19937 rng(5);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> special = {0.0f, -0.0f, inf, -inf, std::numeric_limits<float>::denorm_min(),
                                      -std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                                      -std::numeric_limits<float>::max(), 1.0f, -1.0f};
  // Sizes through the in-cache LSD sort (<= 2^16) and the MSD pass above it.
  for (const int64_t n : {0, 1, 2, 3, 1000, 65536, 65537, 300000}) {
    INFO("n " << n);
    std::normal_distribution<float> normal(0.0f, 7.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = normal(rng);
    for (size_t i = 0; i < v.size() && i < special.size(); ++i) v[i * 97 % v.size()] = special[i];
    check_sorts(v);
    // Many equal values, and all in one MSD bucket (one exponent, the same top mantissa bits).
    for (float& x : v) x = float(rng() % 5);
    check_sorts(v);
    for (float& x : v) x = 1.0f + float(rng() % 1000000) * 1e-7f;
    check_sorts(v);
    // Every value the same: every pass skipped.
    std::fill(v.begin(), v.end(), -2.5f);
    check_sorts(v);
  }
}

TEST_CASE("radix_sort_floats puts a NaN by its sign bit, past the infinities", "[radix_sort]") {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  std::vector<float> v = {1.0f, nan, -inf, -nan, inf, -3.0f}, tmp(v.size());
  gf::cpu::radix_sort_floats(v.data(), tmp.data(), int64_t(v.size()));
  CHECK((std::isnan(v[0]) && std::signbit(v[0])));
  CHECK(v[1] == -inf);
  CHECK(v[2] == -3.0f);
  CHECK(v[3] == 1.0f);
  CHECK(v[4] == inf);
  CHECK((std::isnan(v[5]) && !std::signbit(v[5])));
  // The same through the first MSD pass (more than 2^16 values).
  std::vector<float> big(100000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = float(int64_t(i * 7919 % 100000) - 50000);
  big[17] = nan;
  big[99] = -nan;
  big[5000] = inf;
  std::vector<float> scratch(big.size());
  gf::cpu::radix_sort_floats(big.data(), scratch.data(), int64_t(big.size()));
  CHECK((std::isnan(big.front()) && std::signbit(big.front())));
  CHECK((std::isnan(big.back()) && !std::signbit(big.back())));
  CHECK(big[big.size() - 2] == inf);
  CHECK(std::is_sorted(big.begin() + 1, big.end() - 1));
}
