// The Frechet distance of two Gaussians (Heusel et al. 2017, "GANs Trained by
// a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium"), as the
// official FID computes it from Inception features (StyleGAN2-ADA
// metrics/frechet_inception_distance.py):
//   |mu_1 - mu_2|^2 + tr(S_1) + tr(S_2) - 2 tr((S_1 S_2)^(1/2)).
// The official code takes scipy.linalg.sqrtm of the product and its trace.
// Here tr((S_1 S_2)^(1/2)) is the sum of the square roots of the eigenvalues
// of A S_2 A with A = S_1^(1/2): S_1 S_2 is similar to A S_2 A, a symmetric
// positive semi-definite matrix, so two symmetric eigendecompositions
// (LAPACK dsyevd) give it without a Schur form or complex arithmetic.
// Eigenvalues that rounding leaves below zero count as zero, where sqrtm's
// imaginary parts (which the official np.real drops) come from.
#pragma once
#include <vector>

namespace gf::metrics {

// mu: [D]; sigma: [D, D] row-major, symmetric (covariances). Throws gf::Error
// for mismatched sizes, non-finite input or a failed eigendecomposition.
double frechet_distance(const std::vector<double>& mu1, const std::vector<double>& sigma1,
                        const std::vector<double>& mu2, const std::vector<double>& sigma2);

// tr((S_1 S_2)^(1/2)) for symmetric positive semi-definite S_1, S_2 [d, d].
double trace_sqrt_product(const std::vector<double>& s1, const std::vector<double>& s2, int d);

}  // namespace gf::metrics
