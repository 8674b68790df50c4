// The Kernel Inception Distance (Binkowski et al. 2018, "Demystifying MMD
// GANs") as the official kid50k_full and kid50k compute it (StyleGAN2-ADA
// metrics/kernel_inception_distance.py): the unbiased estimate of the squared
// MMD with the cubic polynomial kernel k(x, y) = (x.y / n + 1)^3, n the
// feature dimension, averaged over num_subsets pairs of subsets of m rows:
//   t_s = (sum K_xx + sum K_yy - both traces) / (m - 1) - 2 sum K_xy / m
//   KID = sum_s t_s / num_subsets / m
// with x the m generated and y the m real rows of subset s, and
// m = min(#generated, #real, max_subset_size).
//
// Two differences from the official code, both written down in the README:
//  - the subsets: the official draws them with numpy's global RNG
//    (np.random.choice(N, m, replace=False), generated then real, per
//    subset), unseeded by the metric; here draw_kid_subsets draws them from
//    the project's Philox stream of the metric's seed, so a seed always gives
//    the same subsets (and the same KID for the same features);
//  - the arithmetic: the official multiplies and sums the float32 features in
//    float32 (numpy's x @ x.T on float32 arrays, a.sum() in float32); here
//    the float32 features are widened and everything runs in float64. KID is
//    a small difference of sums of ~10^6 kernel values near 1, so float32
//    leaves a relative error of about 1e-4..1e-3 in it; float64 does not.
#pragma once
#include <cstdint>
#include <vector>

namespace gf::metrics {

// Rows of each subset: min(n_gen, n_real, max_subset_size).
int64_t kid_subset_size(int64_t n_gen, int64_t n_real, int64_t max_subset_size);

// m distinct indices of [0, n), uniformly at random (a partial Fisher-Yates
// shuffle, in the order drawn), from the Philox stream of `seed` at counter
// `counter`, which advances by the counters used. Throws gf::Error unless
// 0 <= m <= n.
std::vector<int64_t> choice_without_replacement(int64_t n, int64_t m, uint64_t seed, uint64_t& counter);

struct KidSubsets {
  std::vector<std::vector<int64_t>> gen, real;  // num_subsets lists of m row indices each
};
// The subsets of a KID, as the official loop draws them (for each subset the
// generated rows, then the real rows), each without replacement, from the
// Philox stream of `seed` starting at counter 2^63, far past any counter the
// metric's image generation (the same seed from counter 0) reaches.
KidSubsets draw_kid_subsets(int64_t n_gen, int64_t n_real, int64_t m, int num_subsets, uint64_t seed);

// gen: [n_gen, dim], real: [n_real, dim] float32 row-major features;
// gen_subsets[s] and real_subsets[s]: the rows of subset s, all subsets of
// one size m >= 2, distinct in-range indices. Float64 throughout, the
// products through BLAS (dsyrk, dgemm). Throws gf::Error for mismatched
// sizes, bad indices or non-finite features.
double kernel_inception_distance(const std::vector<float>& gen, int64_t n_gen, const std::vector<float>& real,
                                 int64_t n_real, int64_t dim, const std::vector<std::vector<int64_t>>& gen_subsets,
                                 const std::vector<std::vector<int64_t>>& real_subsets);

}  // namespace gf::metrics
