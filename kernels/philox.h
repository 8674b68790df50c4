// Philox 4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as
// easy as 1, 2, 3", SC 2011) and the maps from its output words to uniform
// and normal floats, shared by the CPU reference and the CUDA kernel.
//
// The same (key, counter) must give the same float bits on both sides, so
// nothing here calls a libm or CUDA math function whose last bit may differ:
// - uniforms are exact integer -> float conversions;
// - log and sincos(2*pi*u) are our own: exact range reduction by bit
//   manipulation, then polynomials;
// - every product that meets a sum is written as an explicit fma, so there is
//   nothing left for a compiler to contract one way on the host and another on
//   the device; the remaining single operations (*, /, sqrt) are IEEE
//   correctly rounded on both (on the device through the _rn intrinsics, so
//   --use_fast_math cannot change them). Host code must not be built with
//   -ffast-math (reassociation would change the values).
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels/common.h"

namespace gf::philox {

struct Words {
  uint32_t v[4];
};

GF_HD inline uint32_t mulhi(uint32_t a, uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<uint32_t>((static_cast<uint64_t>(a) * b) >> 32);
#endif
}

// The block cipher: 10 rounds, key bumped between rounds (Random123's
// philox4x32_R with R = 10).
GF_HD inline Words philox4x32_10(Words ctr, uint32_t k0, uint32_t k1) {
  constexpr uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += W0;
      k1 += W1;
    }
    const uint32_t hi0 = mulhi(M0, ctr.v[0]), lo0 = M0 * ctr.v[0];
    const uint32_t hi1 = mulhi(M1, ctr.v[2]), lo1 = M1 * ctr.v[2];
    ctr = Words{{hi1 ^ ctr.v[1] ^ k0, lo1, hi0 ^ ctr.v[3] ^ k1, lo0}};
  }
  return ctr;
}

// The engine's stream: key = the seed's two halves, counter = a 64-bit block
// index in the low two words.
GF_HD inline Words block(uint64_t seed, uint64_t counter) {
  return philox4x32_10(Words{{static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0u, 0u}},
                       static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
}

// ---- IEEE single operations, correctly rounded on host and device ----
namespace detail {
GF_HD inline float fma_rn(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
  return __fmaf_rn(a, b, c);
#else
  return std::fma(a, b, c);
#endif
}
GF_HD inline float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
GF_HD inline float add_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
GF_HD inline float div_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
GF_HD inline float sqrt_rn(float a) {
#if defined(__CUDA_ARCH__)
  return __fsqrt_rn(a);
#else
  return std::sqrt(a);
#endif
}
GF_HD inline uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
#endif
}
GF_HD inline float bits_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
#endif
}
}  // namespace detail

// Uniform in [0, 1): the top 24 bits scaled by 2^-24 (exact).
GF_HD inline float uniform01(uint32_t x) { return detail::mul_rn(static_cast<float>(x >> 8), 0x1p-24f); }
// Uniform in (0, 1]: the same grid shifted by one step, so log never sees 0.
GF_HD inline float uniform01_open_low(uint32_t x) {
  return detail::mul_rn(static_cast<float>((x >> 8) + 1u), 0x1p-24f);
}

// Natural log of a positive normal float (musl's logf reduction and
// polynomial): x = 2^k m with m in [sqrt(2)/2, sqrt(2)), f = m - 1 (exact),
// s = f / (2 + f), log(m) = f - s (f - R), R = s^2 P(s^2). Error < 2 ulp.
GF_HD inline float log_pos(float x) {
  using namespace detail;
  constexpr float Lg1 = 0xaaaaaa.0p-24f, Lg2 = 0xccce13.0p-25f, Lg3 = 0x91e9ee.0p-25f, Lg4 = 0xf89e26.0p-26f;
  constexpr float ln2_hi = 0x1.62e3p-1f, ln2_lo = 0x1.2fefa2p-17f;  // ln2_hi has 17 significant bits
  uint32_t ix = float_bits(x) + (0x3f800000u - 0x3f3504f3u);  // moves the m >= sqrt(2) half up one binade
  const float k = static_cast<float>(static_cast<int>(ix >> 23) - 0x7f);
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  const float f = add_rn(bits_float(ix), -1.0f);
  const float s = div_rn(f, add_rn(2.0f, f));
  const float z = mul_rn(s, s);
  const float p = fma_rn(z, fma_rn(z, fma_rn(z, Lg4, Lg3), Lg2), Lg1);
  const float f_minus_r = fma_rn(-z, p, f);
  const float log_m = fma_rn(-s, f_minus_r, f);
  return fma_rn(k, ln2_hi, fma_rn(k, ln2_lo, log_m));
}

// cos and sin of 2*pi*u for u = j * 2^-24, j the top 24 bits of `x`. The
// quadrant comes from the top two bits of j (u * 4) and the rest is folded to
// y in [-1/2, 1/2), angle = (q + y) pi/2, exactly; then Taylor polynomials of
// sin(pi/2 y) (to y^9) and cos(pi/2 y) (to y^10), truncation < 2e-9.
GF_HD inline void sincos_2pi(uint32_t x, float* c, float* s) {
  using namespace detail;
  constexpr float S1 = 0x1.921fb6p+0f, S3 = -0x1.4abbcep-1f, S5 = 0x1.466bc6p-4f, S7 = -0x1.32d2ccp-8f,
                  S9 = 0x1.507834p-13f;
  constexpr float C2 = -0x1.3bd3ccp+0f, C4 = 0x1.03c1f0p-2f, C6 = -0x1.55d3c8p-6f, C8 = 0x1.e1f506p-11f,
                  C10 = -0x1.a6d1f2p-16f;
  const uint32_t j = x >> 8;
  const uint32_t rest = j & 0x3fffffu;      // position inside the quadrant, 22 bits
  const bool upper = rest >= 0x200000u;     // past the quadrant's middle: fold into the next one
  const uint32_t q = ((j >> 22) + (upper ? 1u : 0u)) & 3u;
  const float y = mul_rn(static_cast<float>(static_cast<int>(rest) - (upper ? 0x400000 : 0)), 0x1p-22f);
  const float y2 = mul_rn(y, y);
  const float sy = mul_rn(y, fma_rn(y2, fma_rn(y2, fma_rn(y2, fma_rn(y2, S9, S7), S5), S3), S1));
  const float cy = fma_rn(y2, fma_rn(y2, fma_rn(y2, fma_rn(y2, fma_rn(y2, C10, C8), C6), C4), C2), 1.0f);
  switch (q) {  // rotate by q quarter turns
    case 0: *c = cy; *s = sy; break;
    case 1: *c = -sy; *s = cy; break;
    case 2: *c = -cy; *s = -sy; break;
    default: *c = sy; *s = -cy; break;
  }
}

// Box-Muller on two words: radius from the first, angle from the second.
GF_HD inline void box_muller(uint32_t a, uint32_t b, float* z0, float* z1) {
  using namespace detail;
  const float r = sqrt_rn(mul_rn(-2.0f, log_pos(uniform01_open_low(a))));
  float c, s;
  sincos_2pi(b, &c, &s);
  *z0 = mul_rn(r, c);
  *z1 = mul_rn(r, s);
}

// The four values of one counter: uniforms in [0, 1) or standard normals.
template <bool kNormal>
GF_HD inline void values4(uint64_t seed, uint64_t counter, float out[4]) {
  const Words w = block(seed, counter);
  if (kNormal) {
    box_muller(w.v[0], w.v[1], &out[0], &out[1]);
    box_muller(w.v[2], w.v[3], &out[2], &out[3]);
  } else {
    for (int k = 0; k < 4; ++k) out[k] = uniform01(w.v[k]);
  }
}

}  // namespace gf::philox
