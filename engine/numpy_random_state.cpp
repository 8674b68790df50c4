#include "engine/numpy_random_state.h"

#include <cmath>
#include <utility>

#include "engine/error.h"

namespace gf {

double NumpyRandomState::random_sample() {
  const uint32_t a = mt_() >> 5, b = mt_() >> 6;
  return (a * 67108864.0 + b) / 9007199254740992.0;
}

double NumpyRandomState::randn() {
  if (has_gauss_) {
    has_gauss_ = false;
    return gauss_;
  }
  double x1, x2, r2;
  do {
    x1 = 2.0 * random_sample() - 1.0;
    x2 = 2.0 * random_sample() - 1.0;
    r2 = x1 * x1 + x2 * x2;
  } while (r2 >= 1.0 || r2 == 0.0);
  const double f = std::sqrt(-2.0 * std::log(r2) / r2);
  gauss_ = f * x1;
  has_gauss_ = true;
  return f * x2;
}

std::vector<double> NumpyRandomState::randn(size_t n) {
  std::vector<double> v(n);
  for (double& x : v) x = randn();
  return v;
}

uint64_t NumpyRandomState::random_interval(uint64_t max) {
  if (max == 0) return 0;
  uint64_t mask = max;
  for (int shift = 1; shift <= 32; shift *= 2) mask |= mask >> shift;
  uint64_t j;
  if (max <= 0xffffffffull) {
    do j = mt_() & mask; while (j > max);
  } else {
    do {
      const uint64_t high = mt_();
      j = ((high << 32) | mt_()) & mask;
    } while (j > max);
  }
  return j;
}

int64_t NumpyRandomState::randint(int64_t low, int64_t high) {
  GF_CHECK(high > low, "randint", "needs high > low, got [" << low << ", " << high << ")");
  return low + static_cast<int64_t>(random_interval(static_cast<uint64_t>(high) - static_cast<uint64_t>(low) - 1));
}

void NumpyRandomState::shuffle(std::vector<int64_t>& v) {
  for (size_t i = v.size() > 0 ? v.size() - 1 : 0; i > 0; --i)
    std::swap(v[i], v[static_cast<size_t>(random_interval(i))]);
}

}  // namespace gf
