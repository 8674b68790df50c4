// Helpers of the tests that compare against committed PyTorch fixtures
// (tests/data/, written by the tools/make_*_fixtures.py scripts).
#pragma once
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
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

}  // namespace gf::test
