// Ascending sort of float32 values by their bits, in O(n): radix passes over
// keys that order as the floats do (a negative value's bits all flipped, a
// positive one's sign bit set). Up to 2^16 values (in the L2 cache): least-
// significant digit first, 4 passes of 8 bits; more: one pass on the top 11
// bits (sign, exponent, 2 mantissa bits) into buckets that fit the cache,
// each then sorted by 3 LSD passes of 7 bits. The digit counts of a set of
// passes are taken in one read; a pass whose digit is the same for every
// value is skipped. -0 sorts before +0; a NaN after +inf or before -inf by
// its sign bit. PGGAN's SWD sorts 2^21 projections per direction with it
// (metrics/sliced_wasserstein.cpp): about 6x std::sort's speed there
// (bench/bench_pggan_metrics.cpp).
#pragma once
#include <cstdint>

namespace gf::cpu {

// Sorts v[0, n) in place, using tmp[0, n) as scratch (its contents are
// overwritten). One thread.
void radix_sort_floats(float* v, float* tmp, int64_t n);

}  // namespace gf::cpu
