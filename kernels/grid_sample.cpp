// CPU reference. Both directions form each output row's source points and
// weights once per sample (row_terms) and use them for all of the sample's
// channels. The forward: one (sample, row) per task, each output pixel the
// point form's sum (affine_grid_sample_point in kernels/grid_sample.h), term
// for term. The adjoint: a scatter, each output pixel adding its four terms
// into the input gradient, with every plane owned by one thread (no atomics)
// and its output pixels visited row by row. So each input gradient element is
// the sum of its terms in one fixed order (that of the gather in
// grid_sample.h, which the CUDA kernel runs), whatever the thread count.
#include "kernels/grid_sample.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/parallel.h"

namespace gf::cpu {

namespace {

// One output pixel's terms: the offset of its top-left neighbour in the
// plane, the forward's four weights (nw, ne, sw, se) and which neighbours
// are inside the plane (bit k for weight k; 0: none, the pixel reads 0).
template <class T>
struct PixelTerm {
  int64_t at = 0;
  T w[4] = {0, 0, 0, 0};
  unsigned in = 0;
};
constexpr unsigned kAllIn = 15;

// The terms of output pixels [j0, j0 + count) of row i of a sample (th its
// theta), once for all its channels: the point form's values, the same bits.
template <class T>
void row_terms(const T* th, const AffineGridDims& d, int64_t i, int64_t j0, int64_t count, PixelTerm<T>* row) {
  for (int64_t k = 0; k < count; ++k) {
    PixelTerm<T>& t = row[k];
    GridSource<T> s;
    if (!affine_grid_source(th, i, j0 + k, d, s)) {
      t.in = 0;
      continue;
    }
    const bool x0_in = s.x0 >= 0, x1_in = s.x0 + 1 < d.in_w, y0_in = s.y0 >= 0, y1_in = s.y0 + 1 < d.in_h;
    t.in = unsigned(y0_in && x0_in) | unsigned(y0_in && x1_in) << 1 | unsigned(y1_in && x0_in) << 2 |
           unsigned(y1_in && x1_in) << 3;
    t.at = s.y0 * d.in_w + s.x0;
    const T n = s.fy, so = T(1) - s.fy, w = s.fx, e = T(1) - s.fx;  // torch's names, as in the point form
    t.w[0] = so * e, t.w[1] = so * w, t.w[2] = n * e, t.w[3] = n * w;
  }
}

// Output pixels out[0, count) of one plane from their terms: the point form's
// sum, from 0 in the same order (so an all-negative-zero sum is +0 there too).
template <class T>
void gather_row(const PixelTerm<T>* row, int64_t count, const T* plane, T* out, int64_t iw) {
  for (int64_t k = 0; k < count; ++k) {
    const PixelTerm<T>& t = row[k];
    // Offsets from the plane's start (t.at may be -1 or -in_w, never read).
    const int64_t a = t.at;
    T acc = 0;
    if (t.in == kAllIn) {
      acc += plane[a] * t.w[0];
      acc += plane[a + 1] * t.w[1];
      acc += plane[a + iw] * t.w[2];
      acc += plane[a + iw + 1] * t.w[3];
    } else if (t.in != 0) {
      if (t.in & 1u) acc += plane[a] * t.w[0];
      if (t.in & 2u) acc += plane[a + 1] * t.w[1];
      if (t.in & 4u) acc += plane[a + iw] * t.w[2];
      if (t.in & 8u) acc += plane[a + iw + 1] * t.w[3];
    }
    out[k] = acc;
  }
}

// Adds output row grow's terms into the input gradient plane dxp.
template <class T>
void scatter_row(const PixelTerm<T>* row, const T* grow, T* dxp, const AffineGridDims& d) {
  const int64_t iw = d.in_w;
  for (int64_t j = 0; j < d.out_w; ++j) {
    const PixelTerm<T>& t = row[j];
    if (t.in == 0) continue;
    const T v = grow[j];
    // Offsets from the plane's start: t.at is -1 or -in_w for a point left
    // of or above the image, so no pointer is formed outside the buffer.
    const int64_t a = t.at;
    if (t.in == kAllIn) {
      dxp[a] += v * t.w[0], dxp[a + 1] += v * t.w[1], dxp[a + iw] += v * t.w[2], dxp[a + iw + 1] += v * t.w[3];
    } else {
      if (t.in & 1u) dxp[a] += v * t.w[0];
      if (t.in & 2u) dxp[a + 1] += v * t.w[1];
      if (t.in & 4u) dxp[a + iw] += v * t.w[2];
      if (t.in & 8u) dxp[a + iw + 1] += v * t.w[3];
    }
  }
}

}  // namespace

template <class T>
void affine_grid_sample(const T* x, const T* theta, T* y, const AffineGridDims& d) {
  const int64_t in_plane = d.in_h * d.in_w, out_plane = d.out_h * d.out_w;
  // A task is one output row of a sample, all its channels: the writes never
  // overlap, so the tasks need not own planes (as the adjoint's do) and stay
  // as many as the rows whatever the batch. The terms go in chunks of a
  // fixed size, on the stack and in cache while the channels read them.
  constexpr int64_t kChunk = 64;
  parallel_for(d.n * d.out_h, d.n * d.c * out_plane > 16384, [&](int64_t task) {
    const int64_t n = task / d.out_h, i = task % d.out_h;
    const T* th = theta + n * 6;
    const T* xs = x + n * d.c * in_plane;
    T* ys = y + n * d.c * out_plane + i * d.out_w;
    PixelTerm<T> terms[kChunk];
    for (int64_t j0 = 0; j0 < d.out_w; j0 += kChunk) {
      const int64_t count = std::min(kChunk, d.out_w - j0);
      row_terms(th, d, i, j0, count, terms);
      for (int64_t c = 0; c < d.c; ++c) gather_row(terms, count, xs + c * in_plane, ys + c * out_plane + j0, d.in_w);
    }
  });
}

template <class T>
void affine_grid_sample_adjoint(const T* g, const T* theta, T* dx, const AffineGridDims& d) {
  const int64_t in_plane = d.in_h * d.in_w, out_plane = d.out_h * d.out_w;
  if (d.n * d.c == 0) return;
  // A task owns whole planes: a sample's channels together (its terms formed
  // once per row for all of them) when there are samples enough to keep the
  // threads busy, else one plane each. Either way every element sums its
  // terms in output order, so the split changes no bits.
  const int threads = omp_get_max_threads();
  const int64_t groups = d.n >= 2 * int64_t(threads) ? 1 : d.c;  // tasks per sample
  const int64_t per_task = d.c / groups;
  parallel_for(d.n * groups, d.n * d.c * out_plane > 16384, [&](int64_t task) {
    const int64_t n = task / groups, c0 = (task % groups) * per_task;
    const T* th = theta + n * 6;
    T* dxs = dx + (n * d.c + c0) * in_plane;
    const T* gs = g + (n * d.c + c0) * out_plane;
    std::memset(dxs, 0, sizeof(T) * size_t(per_task * in_plane));
    std::vector<PixelTerm<T>> row(size_t(d.out_w));
    for (int64_t i = 0; i < d.out_h; ++i) {
      row_terms(th, d, i, 0, d.out_w, row.data());
      for (int64_t c = 0; c < per_task; ++c)
        scatter_row(row.data(), gs + c * out_plane + i * d.out_w, dxs + c * in_plane, d);
    }
  });
}

template void affine_grid_sample<float>(const float*, const float*, float*, const AffineGridDims&);
template void affine_grid_sample<double>(const double*, const double*, double*, const AffineGridDims&);
template void affine_grid_sample_adjoint<float>(const float*, const float*, float*, const AffineGridDims&);
template void affine_grid_sample_adjoint<double>(const double*, const double*, double*, const AffineGridDims&);

}  // namespace gf::cpu
