#include "kernels/upfirdn2d.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <vector>

#include "kernels/parallel.h"
#include "kernels/upfirdn2d_blocks.h"
#include "kernels/upfirdn2d_plane.h"

namespace gf::cpu {
namespace {

using upfirdn2d_impl::kMaxPhases;
using upfirdn2d_impl::Phase;
using upfirdn2d_impl::PlaneJob;

// The phases of one axis: `lead` zero samples before the input (enough that
// the first output's first tap lands at >= 0), n_out outputs, f taps.
int axis_phases(Phase* ph, int up, int down, int pad0, int lead, int n_out, int f) {
  const int period = up / std::gcd(up, down);  // o and o + period share their taps
  const int n = std::min(period, n_out);
  for (int p = 0; p < n; ++p) {
    Phase& c = ph[p];
    const int u0 = p * down - pad0 + lead * up;  // >= 0 in the padded plane
    c.first = p;
    c.step = period;
    c.count = (n_out - p + period - 1) / period;
    c.t0 = upfirdn2d_first_tap(u0, up);
    c.taps = c.t0 < f ? (f - c.t0 + up - 1) / up : 0;
    c.i0 = (u0 + c.t0) / up;
    c.i_step = period * down / up;
  }
  return n;
}

// Whether this CPU runs the AVX2 blocks.
bool use_avx2() {
#ifdef GF_UPFIRDN2D_AVX2
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

}  // namespace

// The terms and the order of upfirdn2d_point (the definition the CUDA kernel
// uses), made fast without changing them:
// - Each plane is first copied into a scratch plane with zero rows and
//   columns on every side, so every output reads whole taps: a tap that the
//   point form skips (it falls before or after the input) here adds
//   0 * tap, which leaves the running sum's bits unchanged (the sum starts at
//   +0 and can never become -0, and x + (+-0) = x).
// - Outputs fall into classes, one per (y phase, x phase) of the
//   upsampling, that read the same taps, each walking the input with a fixed
//   step along both axes, and run in blocks of 4 rows by 2 vectors of
//   columns whose sums stay in vector registers across all taps
//   (kernels/upfirdn2d_blocks.h; 32-byte vectors where the CPU has AVX2).
// Results are bit-identical to the point form (tested). Planes run in
// parallel; the scratch plane is per thread and only grows.
template <class T>
void upfirdn2d_blocks(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain, bool avx2) {
  const int in_h = static_cast<int>(d.in_h), in_w = static_cast<int>(d.in_w);
  const int out_h = static_cast<int>(d.out_h), out_w = static_cast<int>(d.out_w);
  const int period_x = d.up_x / std::gcd(d.up_x, d.down_x), period_y = d.up_y / std::gcd(d.up_y, d.down_y);
  // The point form, output by output.
  auto point_form = [&] {
    parallel_for(d.planes * out_h, d.planes * out_h * out_w > 16384, [&](int64_t py) {
      const int64_t p = py / out_h;
      const int oy = static_cast<int>(py % out_h);
      for (int ox = 0; ox < out_w; ++ox)
        y[(p * out_h + oy) * out_w + ox] = static_cast<T>(gain) * upfirdn2d_point(x, f, d, p, oy, ox);
    });
  };
  if (period_x > kMaxPhases || period_y > kMaxPhases) {
    point_form();  // unusual ratios
    return;
  }
  const int ntaps = d.f_h * d.f_w;
  T tap_buf[64];  // taps[ty][tx], flipped unless d.flip
  std::vector<T> tap_vec(ntaps > 64 ? ntaps : 0);
  T* taps = ntaps > 64 ? tap_vec.data() : tap_buf;
  for (int ty = 0; ty < d.f_h; ++ty)
    for (int tx = 0; tx < d.f_w; ++tx)
      taps[ty * d.f_w + tx] = f[(d.flip ? ty : d.f_h - 1 - ty) * d.f_w + (d.flip ? tx : d.f_w - 1 - tx)];

  // Zero rows and columns: lead_* before the input (so the first output's
  // first tap lands at >= 0), and after it up to the last tap of the last
  // output, plus 2 AVX2 vectors along x (the stride-2 block reads past its
  // last input).
  const int lead_x = d.pad_x0 > 0 ? (d.pad_x0 + d.up_x - 1) / d.up_x : 0;
  const int lead_y = d.pad_y0 > 0 ? (d.pad_y0 + d.up_y - 1) / d.up_y : 0;
  const int64_t last_x = (int64_t(out_w - 1) * d.down_x - d.pad_x0 + int64_t(lead_x) * d.up_x + d.f_w - 1) / d.up_x;
  const int64_t last_y = (int64_t(out_h - 1) * d.down_y - d.pad_y0 + int64_t(lead_y) * d.up_y + d.f_h - 1) / d.up_y;
  const int64_t width = std::max<int64_t>(last_x + 1, lead_x + in_w) + 2 * (32 / sizeof(T));
  const int64_t height = std::max<int64_t>(last_y + 1, lead_y + in_h);
  // The scratch spans the pads, however far they reach: a negative pad offset
  // by a positive one (-1e9 and 1e9) asked for gigabytes to produce a few
  // outputs. Past a few times the planes' own size, the point form, which
  // skips the zeros (its bits are the same).
  if (width * height > 4 * (int64_t(in_h) * in_w + int64_t(out_h) * out_w) + 65536) {
    point_form();
    return;
  }

  PlaneJob<T> job;
  job.taps = taps;
  job.f_w = d.f_w, job.up_x = d.up_x, job.up_y = d.up_y, job.out_w = out_w;
  job.width = width;
  job.nx = axis_phases(job.phx, d.up_x, d.down_x, d.pad_x0, lead_x, out_w, d.f_w);
  job.ny = axis_phases(job.phy, d.up_y, d.down_y, d.pad_y0, lead_y, out_h, d.f_h);
  job.gain = static_cast<T>(gain);

  // One plane, through this thread's scratch plane.
  auto run_plane = [&](int64_t p) {
    thread_local std::vector<T> scratch;
    const size_t need = static_cast<size_t>(width * height);
    if (scratch.size() < need) scratch.resize(need);
    T* padded = scratch.data();
    const T* plane = x + p * d.in_h * d.in_w;
    std::fill(padded, padded + lead_y * width, T(0));
    for (int iy = 0; iy < in_h; ++iy) {
      T* row = padded + (lead_y + iy) * width;
      std::fill(row, row + lead_x, T(0));
      std::memcpy(row + lead_x, plane + int64_t(iy) * in_w, sizeof(T) * in_w);
      std::fill(row + lead_x + in_w, row + width, T(0));
    }
    std::fill(padded + (lead_y + in_h) * width, padded + height * width, T(0));
    T* y_plane = y + p * d.out_h * d.out_w;
#ifdef GF_UPFIRDN2D_AVX2
    if (avx2) {
      upfirdn2d_impl::plane_avx2(job, padded, y_plane);
      return;
    }
#endif
    upfirdn2d_impl::plane_outputs<T, 16>(job, padded, y_plane);
  };
  parallel_for(d.planes, d.planes * out_h * out_w > 16384, run_plane);
}

template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain) {
  upfirdn2d_blocks(x, f, y, d, gain, use_avx2());
}

template <class T>
void upfirdn2d_portable(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain) {
  upfirdn2d_blocks(x, f, y, d, gain, false);
}

template void upfirdn2d<float>(const float*, const float*, float*, const UpFirDn2dDesc&, double);
template void upfirdn2d<double>(const double*, const double*, double*, const UpFirDn2dDesc&, double);
template void upfirdn2d_portable<float>(const float*, const float*, float*, const UpFirDn2dDesc&, double);
template void upfirdn2d_portable<double>(const double*, const double*, double*, const UpFirDn2dDesc&, double);

}  // namespace gf::cpu
