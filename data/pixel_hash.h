#pragma once
// The hash of one image's pixels that a dataset's keys are built from: the
// resume key (train/checkpoint_state.h) chains it over every item, the
// metrics' dataset key (metrics/stats_cache.h) over the items they read.
// Defined here (not std::hash) so that a checkpoint's key reads the same on
// every build.

#include <cstddef>
#include <cstdint>

namespace gf {

// FNV-1a 64 over 8-byte little-endian words (the tail bytewise), each step
// folded with its high half: a multiply carries a change only upward, so
// without the fold two changes in words' top bytes could cancel (0x80 at
// bytes 7 and 15 did). About 8x the bytewise speed. Not for adversaries.
uint64_t pixel_hash(const uint8_t* p, size_t n);

}  // namespace gf
