#include "kernels/random.h"

#include <algorithm>

#include "kernels/parallel.h"
#include "kernels/philox.h"

namespace gf::cpu {
namespace {

template <bool kNormal, class T>
void fill(T* out, int64_t n, uint64_t seed, uint64_t offset) {
  const int64_t blocks = (n + 3) / 4;
  parallel_for(blocks, blocks > 4096, [&](int64_t b) {
    float v[4];
    philox::values4<kNormal>(seed, offset + static_cast<uint64_t>(b), v);
    const int64_t m = std::min<int64_t>(4, n - 4 * b);  // the last block may be partial
    for (int64_t k = 0; k < m; ++k) out[4 * b + k] = static_cast<T>(v[k]);
  });
}

}  // namespace

template <class T>
void philox_fill(RandomDist dist, T* out, int64_t n, uint64_t seed, uint64_t offset) {
  if (dist == RandomDist::normal)
    fill<true>(out, n, seed, offset);
  else
    fill<false>(out, n, seed, offset);
}

template void philox_fill<float>(RandomDist, float*, int64_t, uint64_t, uint64_t);
template void philox_fill<double>(RandomDist, double*, int64_t, uint64_t, uint64_t);

}  // namespace gf::cpu
