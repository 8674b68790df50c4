#include "metrics/precision_recall.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/dispatch.h"
#include "engine/dist/communicator.h"
#include "engine/error.h"
#include "engine/tensor.h"
#include "kernels/matmul.h"
#include "kernels/nearest_rows.h"
#include "kernels/parallel.h"
#include "kernels/strided_copy.h"

namespace gf::metrics {
namespace {

// Rows per block of the distance matrix: 1024 x 1024 float64 is 8 MB.
constexpr int64_t kBlock = 1024;

// This rank's row blocks of a pass: block b (rows b * kBlock ..) is rank
// b mod size's. Every GEMM is the block a lone process computes.
struct Share {
  int rank = 0, size = 1;
  bool owns(int64_t r0) const { return (r0 / kBlock) % size == rank; }
};

// v holds one value per row, this rank's row blocks filled: rank 0 gathers
// every rank's, keeps each block from its owner, and with to_every_rank
// broadcasts the whole vector back. A collective (nothing with one rank).
template <class T>
void combine_row_blocks(Communicator* comm, const Share& sh, std::vector<T>& v, bool to_every_rank) {
  if (sh.size == 1) return;
  const size_t n = v.size(), bytes = n * sizeof(T);
  if (bytes == 0) return;
  std::vector<T> all(sh.rank == 0 ? n * size_t(sh.size) : 0);
  comm->gather(v.data(), bytes, sh.rank == 0 ? all.data() : nullptr);
  if (sh.rank == 0)
    for (int64_t r0 = 0; r0 < int64_t(n); r0 += kBlock) {
      const int64_t owner = (r0 / kBlock) % sh.size, rn = std::min<int64_t>(kBlock, int64_t(n) - r0);
      std::copy_n(all.begin() + owner * int64_t(n) + r0, rn, v.begin() + r0);
    }
  if (to_every_rank) comm->broadcast(v.data(), bytes);
}

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

// ---- The reference: the one-thread form the fast paths replaced ----

// f(row, col, distance) for every row of a and column (row) of b, block by
// block: the float64 distances from |a|^2 + |b|^2 - 2 a.b (cpu::gemm), clamped
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
      cpu::gemm<double>(false, true, rn, cn, a.dim, 1.0, rows.data(), a.dim, cols.data(), b.dim, 0.0, dot.data(), cn);
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
std::vector<double> reference_radii(const HalfRows& m, int neighbours) {
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
double reference_coverage(const HalfRows& manifold, const std::vector<double>& radius, const HalfRows& probes) {
  std::vector<char> inside(size_t(probes.n), 0);
  for_each_distance(probes, manifold, [&](int64_t p, int64_t j, double d) {
    if (d <= radius[size_t(j)]) inside[size_t(p)] = 1;
  });
  const int64_t count = std::count(inside.begin(), inside.end(), 1);
  return double(float(count) / float(probes.n));
}

// ---- The fast paths ----
// Both compare in the unrounded float64 domain, which gives the reference's
// results exactly: rounded_distance is non-decreasing, so (1) the (k+1)-th
// smallest rounded distance of a row is the rounding of its (k+1)-th
// smallest squared distance (sorting the squares sorts their roundings,
// ties included: an order statistic of a multiset commutes with any
// non-decreasing map), and (2) rounded_distance(d2) <= r exactly when
// d2 <= distance_threshold_sq(r). No sqrt or rounding per distance.

// The fraction of probes inside, in float32 as torch's mean.
double fraction(const std::vector<unsigned char>& inside) {
  const int64_t count = std::count(inside.begin(), inside.end(), 1);
  return double(float(count) / float(inside.size()));
}

// Each ball's squared-distance limit from the rows' keep smallest squares
// ([n, keep] ascending): the radius rounded, then its threshold.
// Only this rank's row blocks (the others' stay 0), then every rank gets all
// (combine_row_blocks).
std::vector<double> limits_of(const std::vector<double>& best, int64_t n, int64_t keep, Communicator* comm,
                              const Share& sh) {
  std::vector<double> limit(static_cast<size_t>(n));
  cpu::parallel_for(n, true, [&](int64_t i) {
    if (sh.owns(i))
      limit[size_t(i)] = distance_threshold_sq(rounded_distance(best[size_t(i * keep + keep - 1)]));
  });
  combine_row_blocks(comm, sh, limit, true);
  return limit;
}

// scan(r0, rn, c0, cn, dot) for every block of a against b in this rank's
// row blocks, the block's dot products from the same dgemm as the
// reference's (bit for bit); done(r0, rn) true skips a row block's
// remaining column blocks.
template <class Scan, class Done>
void cpu_blocks(const HalfRows& a, const HalfRows& b, const Share& sh, Scan&& scan, Done&& done) {
  std::vector<double> dot(size_t(kBlock * kBlock)), rows, cols;
  for (int64_t r0 = 0; r0 < a.n; r0 += kBlock) {
    if (!sh.owns(r0)) continue;
    const int64_t rn = std::min(kBlock, a.n - r0);
    a.widen(r0, rn, rows);
    for (int64_t c0 = 0; c0 < b.n && !done(r0, rn); c0 += kBlock) {
      const int64_t cn = std::min(kBlock, b.n - c0);
      b.widen(c0, cn, cols);
      cpu::gemm<double>(false, true, rn, cn, a.dim, 1.0, rows.data(), a.dim, cols.data(), b.dim, 0.0, dot.data(), cn);
      scan(r0, rn, c0, cn, dot.data());
    }
  }
}

// Each manifold row's keep smallest squared distances, [n, keep] ascending
// (this rank's row blocks; the others' rows stay +inf).
std::vector<double> cpu_smallest(const HalfRows& m, int64_t keep, const Share& sh) {
  std::vector<double> best(size_t(m.n * keep), std::numeric_limits<double>::infinity());
  cpu_blocks(
      m, m, sh,
      [&](int64_t r0, int64_t rn, int64_t c0, int64_t cn, const double* dot) {
        cpu::keep_smallest_sq(dot, &m.sq[size_t(r0)], &m.sq[size_t(c0)], rn, cn, keep, &best[size_t(r0 * keep)]);
      },
      [](int64_t, int64_t) { return false; });
  return best;
}

// The probes inside (this rank's row blocks of them; the others' stay 0).
std::vector<unsigned char> cpu_inside(const HalfRows& manifold, const std::vector<double>& limit,
                                      const HalfRows& probes, const Share& sh) {
  std::vector<unsigned char> inside(size_t(probes.n), 0);
  cpu_blocks(
      probes, manifold, sh,
      [&](int64_t r0, int64_t rn, int64_t c0, int64_t cn, const double* dot) {
        cpu::any_within_sq(dot, &probes.sq[size_t(r0)], &manifold.sq[size_t(c0)], &limit[size_t(c0)], rn, cn,
                           &inside[size_t(r0)]);
      },
      [&](int64_t r0, int64_t rn) {
        return std::all_of(inside.begin() + r0, inside.begin() + r0 + rn, [](unsigned char v) { return v != 0; });
      });
  return inside;
}

#ifdef GF_WITH_CUDA
// The rows on the device: float16 values held as float32 (widened to
// float64 a block at a time there) and the host's float64 squared norms.
struct DeviceRows {
  Tensor x, sq;
  DeviceRows(const HalfRows& h, Device d)
      : x(Tensor::empty({h.n * h.dim}, DType::f32, d)), sq(Tensor::empty({h.n}, DType::f64, d)) {
    cuda::copy(x.raw(), h.x.data(), h.x.size() * sizeof(float), cuda::CopyKind::HostToDevice, d.index);
    cuda::copy(sq.raw(), h.sq.data(), h.sq.size() * sizeof(double), cuda::CopyKind::HostToDevice, d.index);
  }
};

// cpu_blocks on the device: the dot products from cuBLAS's float64 GEMM.
template <class Scan>
void cuda_blocks(const DeviceRows& a, int64_t na, const DeviceRows& b, int64_t nb, int64_t dim, Device d,
                 const Share& sh, Scan&& scan) {
  const cuda::Stream s = stream_of(d);
  const Tensor rows = Tensor::empty({kBlock * dim}, DType::f64, d), cols = Tensor::empty({kBlock * dim}, DType::f64, d);
  const Tensor dot = Tensor::empty({kBlock * kBlock}, DType::f64, d);
  for (int64_t r0 = 0; r0 < na; r0 += kBlock) {
    if (!sh.owns(r0)) continue;
    const int64_t rn = std::min(kBlock, na - r0);
    cuda::convert<float, double>(rows.data<double>(), a.x.data<float>() + r0 * dim, rn * dim, s);
    for (int64_t c0 = 0; c0 < nb; c0 += kBlock) {
      const int64_t cn = std::min(kBlock, nb - c0);
      cuda::convert<float, double>(cols.data<double>(), b.x.data<float>() + c0 * dim, cn * dim, s);
      cuda::matmul<double>(false, true, rn, cn, dim, rows.data<double>(), 0, cols.data<double>(), 0,
                           dot.data<double>(), 1, d.index);
      scan(r0, rn, c0, cn, dot.data<double>(), s);
    }
  }
}

std::vector<double> cuda_smallest(const HalfRows& m, const DeviceRows& dm, int64_t keep, Device d, const Share& sh) {
  std::vector<double> best(size_t(m.n * keep), std::numeric_limits<double>::infinity());
  const Tensor dbest = Tensor::empty({m.n * keep}, DType::f64, d);
  cuda::copy(dbest.raw(), best.data(), best.size() * sizeof(double), cuda::CopyKind::HostToDevice, d.index);
  const double* sq = dm.sq.data<double>();
  cuda_blocks(dm, m.n, dm, m.n, m.dim, d, sh, [&](int64_t r0, int64_t rn, int64_t c0, int64_t cn, const double* dot, cuda::Stream s) {
    cuda::keep_smallest_sq(dot, sq + r0, sq + c0, rn, cn, keep, dbest.data<double>() + r0 * keep, s);
  });
  cuda::copy(best.data(), dbest.raw(), best.size() * sizeof(double), cuda::CopyKind::DeviceToHost, d.index);
  return best;
}

std::vector<unsigned char> cuda_inside(const DeviceRows& manifold, int64_t n_manifold, const std::vector<double>& limit,
                                       const DeviceRows& probes, int64_t n_probes, int64_t dim, Device d,
                                       const Share& sh) {
  const Tensor dlimit = Tensor::empty({n_manifold}, DType::f64, d);
  cuda::copy(dlimit.raw(), limit.data(), limit.size() * sizeof(double), cuda::CopyKind::HostToDevice, d.index);
  const Tensor dinside = Tensor::empty({(n_probes + 3) / 4}, DType::f32, d);  // n_probes bytes
  auto* flags = static_cast<unsigned char*>(dinside.raw());
  cuda::memset_zero(flags, size_t(n_probes), d.index);
  const double *sq_p = probes.sq.data<double>(), *sq_m = manifold.sq.data<double>();
  cuda_blocks(probes, n_probes, manifold, n_manifold, dim, d, sh,
              [&](int64_t r0, int64_t rn, int64_t c0, int64_t cn, const double* dot, cuda::Stream s) {
                cuda::any_within_sq(dot, sq_p + r0, sq_m + c0, dlimit.data<double>() + c0, rn, cn, flags + r0, s);
              });
  std::vector<unsigned char> inside(static_cast<size_t>(n_probes));
  cuda::copy(inside.data(), flags, inside.size(), cuda::CopyKind::DeviceToHost, d.index);
  return inside;
}
#endif

void check_rows(const std::vector<float>& f, int64_t n, int64_t dim, int neighbours, const char* which) {
  GF_CHECK(dim > 0 && int64_t(f.size()) == n * dim, "precision_recall",
           which << " features hold " << f.size() << " values, not " << n << " x " << dim);
  GF_CHECK(n > neighbours, "precision_recall",
           which << " features have " << n << " rows; " << neighbours << " neighbours need at least " << neighbours + 1);
  for (float v : f) {
    GF_CHECK(std::isfinite(v), "precision_recall", which << " features are not all finite");
    // float16 (the official .to(torch.float16)) holds no magnitude from 65520 on: it would be inf.
    GF_CHECK(std::fabs(v) < 65520.0f, "precision_recall",
             which << " features reach " << v << ", outside float16's range (the official rounds them to inf)");
  }
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

double rounded_distance(double d2) { return round_to_half(std::sqrt(std::max(d2, 0.0))); }

// rounded_distance is non-decreasing (max with 0, the correctly rounded
// sqrt and round_to_half each are), so {d2 : rounded_distance(d2) <= r} is
// closed downwards; it holds 0 (r >= 0), so it is every d2 <= T with T its
// largest member. Non-negative doubles are ordered as their bit patterns,
// so bisecting the patterns finds T exactly, ties to even and the clamp
// included, with no case analysis; negative d2 lie below 0 <= T and round
// to 0 <= r. A NaN on either side compares false in both forms.
double distance_threshold_sq(double r) {
  if (std::isnan(r)) return r;
  const double inf = std::numeric_limits<double>::infinity();
  if (r == inf) return inf;
  GF_CHECK(r >= 0, "distance_threshold_sq", "a radius of " << r << " is negative");
  auto from_bits = [](uint64_t b) {
    double v;
    std::memcpy(&v, &b, sizeof v);
    return v;
  };
  uint64_t lo = 0, hi;  // rounded_distance(lo) <= r < rounded_distance(hi)
  std::memcpy(&hi, &inf, sizeof hi);
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    (rounded_distance(from_bits(mid)) <= r ? lo : hi) = mid;
  }
  return from_bits(lo);
}

PrecisionRecall precision_recall(std::vector<float> real, int64_t n_real, std::vector<float> gen, int64_t n_gen,
                                 int64_t dim, int neighbours, Device device, Communicator* comm) {
  GF_CHECK(neighbours > 0, "precision_recall", "the neighbourhood size must be positive");
  check_rows(real, n_real, dim, neighbours, "real");
  check_rows(gen, n_gen, dim, neighbours, "generated");
  const int64_t keep = int64_t(neighbours) + 1;
  const HalfRows r(std::move(real), n_real, dim), g(std::move(gen), n_gen, dim);
  Share sh;
  if (comm && comm->world_size() > 1) sh = {comm->rank(), comm->world_size()};
  // Each rank: its row blocks of the radii (limits, then shared with all), and
  // of the probes (gathered on rank 0, which counts them).
  std::vector<unsigned char> in_real, in_gen;  // precision: generated probes inside; recall: real ones
  if (device.is_cuda()) {
#ifdef GF_WITH_CUDA
    GF_CHECK(keep <= cuda::kMaxKeep, "precision_recall",
             neighbours << " neighbours on cuda: at most " << cuda::kMaxKeep - 1 << " are supported");
    const DeviceRows dr(r, device), dg(g, device);
    const std::vector<double> limit_r = limits_of(cuda_smallest(r, dr, keep, device, sh), n_real, keep, comm, sh);
    const std::vector<double> limit_g = limits_of(cuda_smallest(g, dg, keep, device, sh), n_gen, keep, comm, sh);
    in_gen = cuda_inside(dr, n_real, limit_r, dg, n_gen, dim, device, sh);
    in_real = cuda_inside(dg, n_gen, limit_g, dr, n_real, dim, device, sh);
#else
    throw_no_cuda("precision_recall");
#endif
  } else {
    in_gen = cpu_inside(r, limits_of(cpu_smallest(r, keep, sh), n_real, keep, comm, sh), g, sh);
    in_real = cpu_inside(g, limits_of(cpu_smallest(g, keep, sh), n_gen, keep, comm, sh), r, sh);
  }
  combine_row_blocks(comm, sh, in_gen, false);
  combine_row_blocks(comm, sh, in_real, false);
  double both[2] = {fraction(in_gen), fraction(in_real)};  // rank 0's are the whole sets'
  if (sh.size > 1) comm->broadcast(both, sizeof both);
  return {both[0], both[1]};
}

PrecisionRecall precision_recall_reference(std::vector<float> real, int64_t n_real, std::vector<float> gen,
                                           int64_t n_gen, int64_t dim, int neighbours) {
  GF_CHECK(neighbours > 0, "precision_recall", "the neighbourhood size must be positive");
  check_rows(real, n_real, dim, neighbours, "real");
  check_rows(gen, n_gen, dim, neighbours, "generated");
  const HalfRows r(std::move(real), n_real, dim), g(std::move(gen), n_gen, dim);
  PrecisionRecall out;
  out.precision = reference_coverage(r, reference_radii(r, neighbours), g);
  out.recall = reference_coverage(g, reference_radii(g, neighbours), r);
  return out;
}

}  // namespace gf::metrics
