// A linear support vector classifier of two classes as scikit-learn's
// LinearSVC() fits it with its defaults (the one StyleGAN's linear
// separability metric uses: NVlabs/stylegan metrics/linear_separability.py):
// liblinear's dual coordinate descent for the L2-regularized squared hinge
// loss (solver L2R_L2LOSS_SVC_DUAL), C = 1, tolerance 1e-4, at most 1000
// iterations, an intercept fitted as a feature of constant 1 (regularized,
// as liblinear's bias). Debian's liblinear (liblinear-dev) does the fit;
// scikit-learn bundles its own copy of the same solver.
// The solver visits the rows in an order shuffled by rand(): sklearn draws
// it from its own generator, seeded from numpy's global one (so the official
// metric's fits are not repeatable); here rand() is seeded with 1 before
// every fit and the fits of one process run one at a time, so a fit is the
// same at every run (metrics/linear_svc_pool.h runs several at once, each in
// its own process). A fit that converges stops within the tolerance of the one optimum,
// as sklearn's: predictions can differ only for rows within that tolerance
// of the separating plane. One that reaches the 1000 iterations (noisy
// attributes at the official size do, sklearn's too) stops where the row
// order left it, the official's included.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gf::metrics {

struct LinearSvcFit {
  std::vector<int> predictions;  // [n] 0 or 1: the fitted classifier on its training rows
  std::vector<double> decision;  // [n] the signed distance's numerator: > 0 predicts class 1
  std::vector<double> coef;      // [d] (class 1 positive, as sklearn's coef_)
  double intercept = 0;          // sklearn's intercept_
  bool converged = true;         // false: 1000 iterations reached (sklearn's ConvergenceWarning)
};

// x [n, d] float32 rows (row-major), labels [n] of 0 and 1 with both present.
// gf::Error for one class only (sklearn's ValueError), a non-finite value of
// x, a label other than 0 or 1, or sizes past liblinear's ints.
LinearSvcFit fit_linear_svc(const float* x, int64_t n, int64_t d, const std::vector<int>& labels);

// The same fit of rows.size() rows given by their first values (each d
// float32 values: rows picked out of a larger table without a copy).
LinearSvcFit fit_linear_svc(const std::vector<const float*>& rows, int64_t d, const std::vector<int>& labels);

// Empty where the liblinear this process runs solves as sklearn's copy does
// (before 2.42); else one line saying how it differs: from 2.42 its dual
// solver stops at 300 iterations and goes on with a primal Newton solver,
// with a stricter stopping test (converged fits still agree within the
// tolerance; fits that reach the limit do not).
std::string linear_svc_deviation();

// For a process forked to fit (metrics/linear_svc_pool.h): its fits take no
// lock (a lock the parent's other threads held at the fork would never be
// released in the child). Call it once, in the child, before fitting.
void linear_svc_process_fits_alone();

}  // namespace gf::metrics
