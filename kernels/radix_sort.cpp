#include "kernels/radix_sort.h"

#include <cstring>
#include <utility>
#include <vector>

namespace gf::cpu {
namespace {

inline uint32_t ordered_key(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u ^ ((u >> 31) != 0 ? 0xffffffffu : 0x80000000u);
}

// LSD passes over the key bits [0, bits) of src[0, n), digits of `digit`
// bits, through dst; the sorted values end in dst when `into_dst`, else in src.
void lsd(float* src, float* dst, int64_t n, int bits, int digit, bool into_dst) {
  const int buckets = 1 << digit, passes = (bits + digit - 1) / digit;
  std::vector<int64_t> start(size_t(passes) * size_t(buckets + 1), 0);
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t k = ordered_key(src[i]);
    for (int p = 0; p < passes; ++p) ++start[size_t(p * (buckets + 1) + ((k >> (digit * p)) & (buckets - 1)) + 1)];
  }
  float* from = src;
  float* to = dst;
  const uint32_t first = ordered_key(src[0]);
  for (int p = 0; p < passes; ++p) {
    int64_t* s = start.data() + size_t(p) * size_t(buckets + 1);
    if (s[((first >> (digit * p)) & (buckets - 1)) + 1] == n) continue;  // one digit: nothing would move
    for (int d = 0; d < buckets; ++d) s[d + 1] += s[d];
    for (int64_t i = 0; i < n; ++i) to[s[(ordered_key(from[i]) >> (digit * p)) & (buckets - 1)]++] = from[i];
    std::swap(from, to);
  }
  float* want = into_dst ? dst : src;
  if (from != want) std::memcpy(want, from, static_cast<size_t>(n) * sizeof(float));
}

}  // namespace

void radix_sort_floats(float* v, float* tmp, int64_t n) {
  if (n < 2) return;
  constexpr int64_t kInCache = 1 << 16;  // values whose LSD passes stay in the L2 cache
  if (n <= kInCache) return lsd(v, tmp, n, 32, 8, false);
  // Larger: one MSD pass on the top 11 bits (sign, exponent, 2 mantissa
  // bits) into buckets that fit the cache, each then sorted by LSD passes
  // over its low 21 bits, in the cache.
  constexpr int kTop = 11, kLow = 32 - kTop;
  std::vector<int64_t> start((1 << kTop) + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++start[(ordered_key(v[i]) >> kLow) + 1];
  for (int d = 0; d < (1 << kTop); ++d) start[size_t(d + 1)] += start[size_t(d)];
  std::vector<int64_t> next(start.begin(), start.end() - 1);
  for (int64_t i = 0; i < n; ++i) tmp[next[ordered_key(v[i]) >> kLow]++] = v[i];
  for (int d = 0; d < (1 << kTop); ++d) {
    const int64_t b = start[size_t(d)], m = start[size_t(d + 1)] - b;
    if (m > 1)
      lsd(tmp + b, v + b, m, kLow, 7, true);
    else if (m == 1)
      v[b] = tmp[b];
  }
}

}  // namespace gf::cpu
