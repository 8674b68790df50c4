#include "metrics/precision_recall.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "engine/error.h"

namespace gf::metrics {
namespace {

// Rows per block of the distance matrix: 1024 x 1024 float64 is 8 MB.
constexpr int64_t kBlock = 1024;

// Features rounded to float16 (the official .to(torch.float16)), kept as
// float32 (which holds every float16 value exactly: half the memory of
// float64 for pr50k3_full's 200k x 4096 real rows), with each row's squared
// norm in float64.
struct HalfRows {
  std::vector<float> x;
  std::vector<double> sq;
  int64_t n, dim;
  // Takes the rows over and rounds them in place: pr50k3_full's 200k real rows
  // are 3.3 GB, held once.
  HalfRows(std::vector<float>&& f, int64_t n_, int64_t d) : x(std::move(f)), sq(size_t(n_)), n(n_), dim(d) {
    for (float& v : x) v = float(round_to_half(v));
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t k = 0; k < dim; ++k) s += double(x[size_t(i * dim + k)]) * double(x[size_t(i * dim + k)]);
      sq[size_t(i)] = s;
    }
  }
  // Rows [r0, r0 + rn) widened to float64.
  void widen(int64_t r0, int64_t rn, std::vector<double>& out) const {
    out.assign(x.begin() + r0 * dim, x.begin() + (r0 + rn) * dim);
  }
};

// f(row, col, distance) for every row of a and column (row) of b, block by
// block: the float64 distances from |a|^2 + |b|^2 - 2 a.b (BLAS), clamped
// at 0, rounded to float16 as the official cdist's output.
template <class F>
void for_each_distance(const HalfRows& a, const HalfRows& b, F&& f) {
  std::vector<double> dot(size_t(kBlock * kBlock)), rows, cols;
  for (int64_t r0 = 0; r0 < a.n; r0 += kBlock) {
    const int64_t rn = std::min(kBlock, a.n - r0);
    a.widen(r0, rn, rows);
    for (int64_t c0 = 0; c0 < b.n; c0 += kBlock) {
      const int64_t cn = std::min(kBlock, b.n - c0);
      b.widen(c0, cn, cols);
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rn), int(cn), int(a.dim), 1.0, rows.data(), int(a.dim),
                  cols.data(), int(b.dim), 0.0, dot.data(), int(cn));
      for (int64_t i = 0; i < rn; ++i)
        for (int64_t j = 0; j < cn; ++j) {
          const double d2 = a.sq[size_t(r0 + i)] + b.sq[size_t(c0 + j)] - 2 * dot[size_t(i * cn + j)];
          f(r0 + i, c0 + j, round_to_half(std::sqrt(std::max(d2, 0.0))));
        }
    }
  }
}

// Each row's distance to its (k+1)-th nearest row of the set, itself
// included (the official kthvalue(nhood_size + 1)).
std::vector<double> radii(const HalfRows& m, int neighbours) {
  const size_t keep = size_t(neighbours) + 1;
  std::vector<std::vector<double>> best(size_t(m.n));  // each row's keep smallest, sorted
  for_each_distance(m, m, [&](int64_t i, int64_t, double d) {
    std::vector<double>& b = best[size_t(i)];
    if (b.size() == keep && d >= b.back()) return;
    b.insert(std::upper_bound(b.begin(), b.end(), d), d);
    if (b.size() > keep) b.pop_back();
  });
  std::vector<double> r(size_t(m.n));
  for (int64_t i = 0; i < m.n; ++i) r[size_t(i)] = best[size_t(i)].back();
  return r;
}

// The fraction of probe rows within some ball of the manifold, in float32
// as torch's mean of the 0/1 predictions.
double coverage(const HalfRows& manifold, const std::vector<double>& radius, const HalfRows& probes) {
  std::vector<char> inside(size_t(probes.n), 0);
  for_each_distance(probes, manifold, [&](int64_t p, int64_t j, double d) {
    if (d <= radius[size_t(j)]) inside[size_t(p)] = 1;
  });
  const int64_t count = std::count(inside.begin(), inside.end(), 1);
  return double(float(count) / float(probes.n));
}

void check_rows(const std::vector<float>& f, int64_t n, int64_t dim, int neighbours, const char* which) {
  GF_CHECK(dim > 0 && int64_t(f.size()) == n * dim, "precision_recall",
           which << " features hold " << f.size() << " values, not " << n << " x " << dim);
  GF_CHECK(n > neighbours, "precision_recall",
           which << " features have " << n << " rows; " << neighbours << " neighbours need at least " << neighbours + 1);
  for (float v : f) GF_CHECK(std::isfinite(v), "precision_recall", which << " features are not all finite");
}

}  // namespace

double round_to_half(double x) {
  if (std::isnan(x)) return x;
  const double a = std::fabs(x);
  double r;
  if (a >= 65520.0) {  // halfway between 65504, the largest float16, and 65536 rounds up
    r = std::numeric_limits<double>::infinity();
  } else if (a < 6.103515625e-05) {  // subnormal float16: steps of 2^-24
    r = std::nearbyint(a * 16777216.0) / 16777216.0;
  } else {
    int e;
    std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1): 11 significant bits are steps of 2^(e - 11)
    const double step = std::ldexp(1.0, e - 11);
    r = std::nearbyint(a / step) * step;
  }
  return std::copysign(r, x);
}

PrecisionRecall precision_recall(std::vector<float> real, int64_t n_real, std::vector<float> gen, int64_t n_gen,
                                 int64_t dim, int neighbours) {
  GF_CHECK(neighbours > 0, "precision_recall", "the neighbourhood size must be positive");
  check_rows(real, n_real, dim, neighbours, "real");
  check_rows(gen, n_gen, dim, neighbours, "generated");
  const HalfRows r(std::move(real), n_real, dim), g(std::move(gen), n_gen, dim);
  PrecisionRecall out;
  out.precision = coverage(r, radii(r, neighbours), g);
  out.recall = coverage(g, radii(g, neighbours), r);
  return out;
}

}  // namespace gf::metrics
