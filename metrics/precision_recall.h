// Improved precision and recall (Kynkaanniemi et al. 2019) as the official
// pr50k3_full and pr50k3 compute them (StyleGAN2-ADA
// metrics/precision_recall.py) from VGG16 fc2 features: each feature set is
// a manifold of balls, one per row, whose radius is the distance to the
// row's k-th nearest other row (kthvalue(k + 1) over the row's distances to
// the whole set, itself included); precision is the fraction of generated
// rows inside some ball of the real manifold, recall the fraction of real
// rows inside some ball of the generated one.
//
// As the official: the features are rounded to float16 first, the
// distances are float16 values, and a probe is inside a ball when its
// float16 distance is <= the ball's float16 radius (ties count); the mean is
// taken in float32. One difference, written down in the README: each
// distance is computed in float64 from the float16 features and rounded
// once to float16, where the official torch.cdist runs in float16 on the GPU
// (|x|^2 + |y|^2 - 2 x.y, whose cancellation leaves an error of many
// float16 steps); here the products go through a float64 GEMM in blocks of
// 1024 x 1024 rows (BLAS on the CPU, cuBLAS on a CUDA device: the
// metric's --device). cuBLAS sums the products in another order than BLAS,
// so a distance within an ulp of a float16 rounding boundary may round the
// other way there; float32 would move every distance by far more, so both
// devices stay in float64.
//
// Speed: no distance is rounded one at a time. Each row keeps its k+1
// smallest squared float64 distances (kernels/nearest_rows.h), and a probe
// is inside a ball when its squared distance is <= the largest square that
// rounds to <= the radius (distance_threshold_sq), which gives the rounded
// form's results exactly (the argument is in precision_recall.cpp). Rows are
// split across the OpenMP threads, each row owned by one, so the result
// does not depend on the thread count. The GEMM dominates: 2 * dim flops a
// distance, 5.1e14 for pr50k3_full (bench/RESULTS.md).
//
// Shared among the ranks of a process group (as the official shares each
// distance batch among its GPUs): every rank holds both feature sets whole,
// and the 1024-row blocks of each pass's rows are dealt out, block b to rank
// b mod N. A rank computes its blocks' rows against every column block, in
// the one-process order, so each GEMM is the very block a lone process
// computes (same shapes, same operands: the same bits) and each row's k+1
// smallest squares are the same; rank 0 gathers the balls' limits (one
// float64 per row from every rank, then broadcast back: every rank needs all
// of them for the probes) and the probes' 0/1 flags (one byte per row), and
// the result is the one-process result bit for bit on every rank, for any N.
// The work splits evenly when each set has many blocks (pr50k3_full: 196 and
// 49); a set of at most 1024 rows is one block, on rank 0. Memory: every
// rank holds what rank 0 alone held before, both sets rounded to float16 but
// stored as float32 plus a float64 norm per row: (200k + 50k) x (4096 x 4 +
// 8) bytes = 4.1 GB for pr50k3_full (on a CUDA device the same again in its
// memory), and the transfers are small beside it: 8 x N x 250k bytes (2 MB a
// rank) of limits and 250k bytes of flags per rank. The features' broadcast
// (metric_main.cpp) sends the 4.1 GB from rank 0 to each rank in turn:
// measured 0.20 GB/s over TCP on the project's 2-core VM's loopback (0.12
// under mpirun), about 20 s a rank; the shared distances ran 1.85x faster on
// 2 ranks of its 2 cores (bench/RESULTS.md, bench_precision_recall).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/device.h"

namespace gf {
class Communicator;
}

namespace gf::metrics {

// x rounded to the nearest float16 value (ties to even; beyond the largest
// finite one, infinity), returned as a double.
double round_to_half(double x);

// The float16 distance the official reports for a float64 squared distance:
// round_to_half(sqrt(max(d2, 0))). Non-decreasing in d2.
double rounded_distance(double d2);

// For a float16 value r >= 0 (or +inf), the largest float64 T with
// rounded_distance(T) <= r, so that d2 <= T exactly when
// rounded_distance(d2) <= r, for every d2 (a NaN: false in both). +inf for
// r = +inf. Throws gf::Error for a negative r.
double distance_threshold_sq(double r);

struct PrecisionRecall {
  double precision = 0, recall = 0;
};

// real: [n_real, dim], gen: [n_gen, dim] float32 row-major features, taken
// by value (move them in: they are rounded to float16 in place);
// neighbours: k (3 for pr50k3). Throws gf::Error for mismatched sizes, a set
// of k rows or fewer, or non-finite features. device: where the distance
// blocks are computed (a CUDA device holds both sets, as float32, plus
// three 1024-row float64 blocks; neighbours <= 15 there); the features come
// and the results go back on the host either way. comm (a group of more
// than one rank): a collective; every rank passes the same features and
// neighbours (all of them: metrics/metric_main.cpp broadcasts rank 0's) and
// computes its share of the row blocks (above); every rank gets the result,
// equal bit for bit to the one-process result. The errors above come alike
// on every rank, before any collective.
PrecisionRecall precision_recall(std::vector<float> real, int64_t n_real, std::vector<float> gen, int64_t n_gen,
                                 int64_t dim, int neighbours, Device device = Device::cpu(),
                                 Communicator* comm = nullptr);

// The one-thread form the fast path replaced: every distance rounded to
// float16 on its own, each row's k+1 best in a sorted list. The oracle of
// the tests and bench/bench_precision_recall; same arguments and errors.
PrecisionRecall precision_recall_reference(std::vector<float> real, int64_t n_real, std::vector<float> gen,
                                           int64_t n_gen, int64_t dim, int neighbours);

}  // namespace gf::metrics
