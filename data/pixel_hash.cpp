#include "data/pixel_hash.h"

#include <cstring>

namespace gf {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the keys read pixels as little-endian words");

uint64_t pixel_hash(const uint8_t* p, size_t n) {
  constexpr uint64_t kOffset = 1469598103934665603ull, kPrime = 1099511628211ull;
  uint64_t h = kOffset;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ w) * kPrime;
    h ^= h >> 32;
  }
  for (; i < n; ++i) h = (h ^ p[i]) * kPrime;
  return h;
}

}  // namespace gf
