// The CPU upfirdn2d's work on one plane once it sits in a zero-padded
// scratch plane: what kernels/upfirdn2d.cpp (which pads the planes and picks
// the build) hands to the blocks of kernels/upfirdn2d_blocks.h, built both
// for any x86-64 / other target and, in kernels/upfirdn2d_avx2.cpp, with
// AVX2. Internal to those files.
#pragma once
#include <cstdint>

namespace gf::cpu::upfirdn2d_impl {

// The outputs along one axis that read the same taps: o = first + j * step
// for j in [0, count), output j reading padded inputs i0 + j * i_step + k for
// k = 0..taps-1 against filter taps t0 + k * up (one phase of the upsampling).
struct Phase {
  int first = 0, count = 0, step = 1;
  int64_t i0 = 0;
  int i_step = 1, t0 = 0, taps = 0;
};

constexpr int kMaxPhases = 16;  // up / gcd(up, down) of them per axis

// One call's plane geometry: the padded plane is `width` elements a row; taps
// [f_h][f_w] are flipped unless the call's flip (so always correlated).
template <class T>
struct PlaneJob {
  const T* taps = nullptr;
  int f_w = 1, up_x = 1, up_y = 1, out_w = 0;
  int64_t width = 0;
  int nx = 0, ny = 0;
  Phase phx[kMaxPhases], phy[kMaxPhases];
  T gain = 1;
};

// GCC on x86-64 builds the AVX2 blocks (its target pragma); the portable
// kernel calls them where the CPU has AVX2.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GF_UPFIRDN2D_AVX2 1
// Every output of one plane: padded (job.width per row) -> y_plane [out_h, out_w].
template <class T>
void plane_avx2(const PlaneJob<T>& job, const T* padded, T* y_plane);
#endif

}  // namespace gf::cpu::upfirdn2d_impl
