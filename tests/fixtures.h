// Helpers of the tests that compare against committed PyTorch fixtures
// (tests/data/, written by the tools/fixtures/make_*_fixtures.py scripts).
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gf::test {

// A file of tests/data/.
inline std::string data_path(const std::string& name) { return std::string(GF_TEST_DATA_DIR) + "/" + name; }

// max |got - want| / max |want|: the parity measure (1e-4 in float32), one
// scale for the whole tensor. Fails the test when a value of `got` is not
// finite, the shapes differ, or `want` is all zeros.
inline double max_rel_error(const Tensor& got, const Tensor& want) {
  REQUIRE(got.shape() == want.shape());
  const std::vector<double> a = got.to_vector(), b = want.to_vector();
  double diff = 0, scale = 0;
  size_t bad = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) ++bad;
    diff = std::max(diff, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  INFO(bad << " of " << a.size() << " values not finite");
  REQUIRE(bad == 0);
  REQUIRE(scale > 0);
  return diff / scale;
}

// The hashed values of tools/reference/inception_reference.py (also used by
// vgg16_reference.py), so weights and images need not be committed:
// u_i = splitmix64(fnv1a64(key) + i) >> 40, over 2^24, in [0, 1) exactly.
inline uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001B3ull;
  return h;
}

inline double hashed_uniform(uint64_t base, uint64_t i) {
  uint64_t z = base + i + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return double(z >> 40) / double(1 << 24);
}

// hashed_images(key, shape): integer pixels 0..255, float32.
inline Tensor hashed_images(const std::string& key, const Shape& shape) {
  const uint64_t base = fnv1a64("image:" + key);
  int64_t count = 1;
  for (int64_t s : shape) count *= s;
  std::vector<double> v(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) v[size_t(i)] = std::floor(hashed_uniform(base, uint64_t(i)) * 256);
  return Tensor::from_vector(v, shape, DType::f32);
}

}  // namespace gf::test
