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
// float16 steps); here the products go through BLAS (dgemm) in float64 on
// the CPU, in blocks, as KID's.
#pragma once
#include <cstdint>
#include <vector>

namespace gf::metrics {

// x rounded to the nearest float16 value (ties to even; beyond the largest
// finite one, infinity), returned as a double.
double round_to_half(double x);

struct PrecisionRecall {
  double precision = 0, recall = 0;
};

// real: [n_real, dim], gen: [n_gen, dim] float32 row-major features, taken
// by value (move them in: they are rounded to float16 in place);
// neighbours: k (3 for pr50k3). Throws gf::Error for mismatched sizes, a set
// of k rows or fewer, or non-finite features.
PrecisionRecall precision_recall(std::vector<float> real, int64_t n_real, std::vector<float> gen, int64_t n_gen,
                                 int64_t dim, int neighbours);

}  // namespace gf::metrics
