#include "kernels/upfirdn2d.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <type_traits>
#include <vector>

#include "kernels/parallel.h"

namespace gf::cpu {
namespace {

// Output columns that read the same taps: ox = first + j * step for
// j in [0, count), output j reading padded input columns ix0 + j * ix_step + k
// for k = 0..taps-1 against filter columns t0 + k * up_x.
struct ColumnClass {
  int first = 0, count = 0, step = 1;
  int64_t ix0 = 0;
  int ix_step = 1, t0 = 0, taps = 0;
};

constexpr int kMaxRows = 64;     // filter rows held on the stack
constexpr int kMaxClasses = 16;  // column classes (up_x / gcd(up_x, down_x) of them)

// B outputs of a class, the first reading input column ix of each row in
// `rows`, with those rows' taps `trows` (each already offset to the class's
// first tap), written out_step apart: the same terms in the same order per
// output as upfirdn2d_point (rows in increasing order, then taps in
// increasing order, from 0), times the gain. STEP is ix_step when known at
// compile time (1: filtering and upsampling, 2: downsampling by 2), 0
// otherwise. With a known STEP the sums stay in vector registers (GCC vector
// extensions, so any target compiles them; a multiply then an add, never
// fused, as the point form).
template <class T, int B, int STEP>
inline void column_block(const T* const* rows, const T* const* trows, int nrows, int taps, int up_x, int ix_step,
                         int64_t ix, T* out, int out_step, T g) {
  constexpr int L = 16 / sizeof(T);  // lanes of a 16-byte vector
  if constexpr (B % L == 0 && STEP >= 1 && STEP <= 2) {
    typedef T V __attribute__((vector_size(16)));
    typedef std::conditional_t<sizeof(T) == 4, int32_t, int64_t> I;
    typedef I M __attribute__((vector_size(16)));
    constexpr int NV = B / L;
    V acc[NV];
    for (int v = 0; v < NV; ++v) acc[v] = V{};
    for (int r = 0; r < nrows; ++r) {
      const T* xs = rows[r] + ix;
      const T* tr = trows[r];
      for (int k = 0; k < taps; ++k) {
        const V t = V{} + tr[k * up_x];
        for (int v = 0; v < NV; ++v) {
          V xv;
          if constexpr (STEP == 1) {
            std::memcpy(&xv, xs + v * L + k, sizeof xv);
          } else {  // the even lanes of two vectors
            V lo, hi;
            std::memcpy(&lo, xs + 2 * v * L + k, sizeof lo);
            std::memcpy(&hi, xs + 2 * v * L + L + k, sizeof hi);
            if constexpr (L == 4)
              xv = __builtin_shuffle(lo, hi, M{0, 2, 4, 6});
            else
              xv = __builtin_shuffle(lo, hi, M{0, 2});
          }
          acc[v] += xv * t;
        }
      }
    }
    for (int v = 0; v < NV; ++v)
      for (int b = 0; b < L; ++b) out[(v * L + b) * out_step] = g * acc[v][b];
  } else {
    const int step = STEP ? STEP : ix_step;
    T acc[B];
    for (int b = 0; b < B; ++b) acc[b] = 0;
    for (int r = 0; r < nrows; ++r) {
      const T* xs = rows[r] + ix;
      const T* tr = trows[r];
      for (int k = 0; k < taps; ++k) {
        const T t = tr[k * up_x];
        for (int b = 0; b < B; ++b) acc[b] += xs[b * step + k] * t;
      }
    }
    for (int b = 0; b < B; ++b) out[b * out_step] = g * acc[b];
  }
}

// Every output of a class: blocks of 8, the last one overlapping the one
// before when 8 does not divide the count (it writes the same values again),
// or, for fewer than 8, blocks of 4, then single outputs.
template <class T, int STEP>
void column_class(const T* const* rows, const T* const* trows, int nrows, const ColumnClass& c, int up_x, T* yrow,
                  T g) {
  auto block = [&](auto width, int j) {
    constexpr int B = decltype(width)::value;
    column_block<T, B, STEP>(rows, trows, nrows, c.taps, up_x, c.ix_step, c.ix0 + int64_t(j) * c.ix_step,
                             yrow + c.first + j * c.step, c.step, g);
  };
  using B8 = std::integral_constant<int, 8>;
  using B4 = std::integral_constant<int, 4>;
  using B1 = std::integral_constant<int, 1>;
  const int n = c.count;
  if (n >= 8) {
    for (int j = 0; j + 8 <= n; j += 8) block(B8{}, j);
    if (n % 8) block(B8{}, n - 8);
  } else {
    int j = 0;
    for (; j + 4 <= n; j += 4) block(B4{}, j);
    for (; j < n; ++j) block(B1{}, j);
  }
}

}  // namespace

// The terms and the order of upfirdn2d_point (the definition the CUDA kernel
// uses), made fast without changing them:
// - Each plane is first copied into a scratch plane with zero columns on
//   both sides, so every output column reads whole taps: a tap that the point
//   form skips (it falls before or after the input) here adds 0 * tap, which
//   leaves the running sum's bits unchanged (the sum starts at +0 and can
//   never become -0, and x + (+-0) = x). Rows outside the input are skipped,
//   as in the point form.
// - Output columns fall into classes that read the same taps (one per phase
//   of the upsampling), each walking the input with a fixed step, and run in
//   blocks of 8 outputs whose sums stay in vector registers across all taps.
// Results are bit-identical to the point form (tested). Planes run in
// parallel; the scratch plane is per thread and only grows.
template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain) {
  const int in_h = static_cast<int>(d.in_h), in_w = static_cast<int>(d.in_w);
  const int out_h = static_cast<int>(d.out_h), out_w = static_cast<int>(d.out_w);
  const int ux = d.up_x, dx = d.down_x;
  const int period = ux / std::gcd(ux, dx);  // ox and ox + period share their taps
  if (d.f_h > kMaxRows || period > kMaxClasses) {
    // Filters taller than any resampling filter, or unusual ratios: the point form, output by output.
    parallel_for(d.planes * out_h, d.planes * out_h * out_w > 16384, [&](int64_t py) {
      const int64_t p = py / out_h;
      const int oy = static_cast<int>(py % out_h);
      for (int ox = 0; ox < out_w; ++ox)
        y[(p * out_h + oy) * out_w + ox] = static_cast<T>(gain) * upfirdn2d_point(x, f, d, p, oy, ox);
    });
    return;
  }
  const int ntaps = d.f_h * d.f_w;
  T tap_buf[64];  // taps[ty][tx], flipped unless d.flip
  std::vector<T> tap_vec(ntaps > 64 ? ntaps : 0);
  T* taps = ntaps > 64 ? tap_vec.data() : tap_buf;
  for (int ty = 0; ty < d.f_h; ++ty)
    for (int tx = 0; tx < d.f_w; ++tx)
      taps[ty * d.f_w + tx] = f[(d.flip ? ty : d.f_h - 1 - ty) * d.f_w + (d.flip ? tx : d.f_w - 1 - tx)];

  // Zero columns: pad_l before the input (so the first output's first tap
  // lands at column >= 0), and after it up to the last tap of the last output
  // plus 2 vectors (the stride-2 block reads one vector past its last input).
  const int pad_l = d.pad_x0 > 0 ? (d.pad_x0 + ux - 1) / ux : 0;
  const int64_t last = (int64_t(out_w - 1) * dx - d.pad_x0 + int64_t(pad_l) * ux + d.f_w - 1) / ux;
  const int64_t width = std::max<int64_t>(last + 1, pad_l + in_w) + 2 * (16 / sizeof(T));

  ColumnClass cls[kMaxClasses];
  for (int ph = 0; ph < period && ph < out_w; ++ph) {
    ColumnClass& c = cls[ph];
    const int u0 = ph * dx - d.pad_x0 + pad_l * ux;  // >= 0 in the padded plane
    c.first = ph;
    c.step = period;
    c.count = (out_w - ph + period - 1) / period;
    c.t0 = upfirdn2d_first_tap(u0, ux);
    c.taps = c.t0 < d.f_w ? (d.f_w - c.t0 + ux - 1) / ux : 0;
    c.ix0 = (u0 + c.t0) / ux;
    c.ix_step = period * dx / ux;
  }
  const int nclass = std::min(period, out_w);

  const T g = static_cast<T>(gain);
  // One plane, through this thread's scratch plane.
  auto run_plane = [&](int64_t p) {
    thread_local std::vector<T> scratch;
    if (scratch.size() < static_cast<size_t>(width * in_h)) scratch.resize(static_cast<size_t>(width * in_h));
    T* padded = scratch.data();
    {
      const T* plane = x + p * d.in_h * d.in_w;
      for (int iy = 0; iy < in_h; ++iy) {
        T* row = padded + iy * width;
        std::fill(row, row + pad_l, T(0));
        std::memcpy(row + pad_l, plane + int64_t(iy) * in_w, sizeof(T) * in_w);
        std::fill(row + pad_l + in_w, row + width, T(0));
      }
      for (int oy = 0; oy < out_h; ++oy) {
        T* yrow = y + (p * out_h + oy) * out_w;
        const int uy0 = oy * d.down_y - d.pad_y0;
        const int ty0 = upfirdn2d_first_tap(uy0, d.up_y);
        // The input rows this output row reads, with their tap rows.
        const T* rows[kMaxRows];
        const T* trows[kMaxRows];
        int nrows = 0;
        for (int ty = ty0; ty < d.f_h && (uy0 + ty) / d.up_y < in_h; ty += d.up_y, ++nrows) {
          rows[nrows] = padded + int64_t((uy0 + ty) / d.up_y) * width;
          trows[nrows] = taps + ty * d.f_w;
        }
        for (int k = 0; k < nclass; ++k) {
          const ColumnClass& c = cls[k];
          if (c.taps == 0) {  // no tap lands: zero sums
            for (int j = 0; j < c.count; ++j) yrow[c.first + j * c.step] = g * T(0);
            continue;
          }
          const T* tr[kMaxRows];
          for (int r = 0; r < nrows; ++r) tr[r] = trows[r] + c.t0;
          if (c.ix_step == 1)
            column_class<T, 1>(rows, tr, nrows, c, ux, yrow, g);
          else if (c.ix_step == 2)
            column_class<T, 2>(rows, tr, nrows, c, ux, yrow, g);
          else
            column_class<T, 0>(rows, tr, nrows, c, ux, yrow, g);
        }
      }
    }
  };
  parallel_for(d.planes, d.planes * out_h * out_w > 16384, run_plane);
}

template void upfirdn2d<float>(const float*, const float*, float*, const UpFirDn2dDesc&, double);
template void upfirdn2d<double>(const double*, const double*, double*, const UpFirDn2dDesc&, double);

}  // namespace gf::cpu
