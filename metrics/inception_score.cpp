#include "metrics/inception_score.h"

#include <cmath>

#include "engine/error.h"

namespace gf::metrics {

std::pair<double, double> inception_score(const std::vector<float>& probs, int64_t n, int64_t classes,
                                          int num_splits) {
  GF_CHECK(num_splits > 0 && n >= num_splits && classes > 0 && probs.size() == size_t(n * classes),
           "inception_score", "need at least " << num_splits << " rows of " << classes << " probabilities, got "
                                               << probs.size() << " values for " << n << " rows");
  for (float p : probs) GF_CHECK(std::isfinite(p) && p >= 0, "inception_score", "a probability is negative or not finite");
  std::vector<double> scores;
  for (int s = 0; s < num_splits; ++s) {
    // The official part bounds: [s n / splits, (s + 1) n / splits).
    const int64_t lo = s * n / num_splits, hi = (s + 1) * n / num_splits;
    std::vector<double> marginal(static_cast<size_t>(classes), 0.0);
    for (int64_t i = lo; i < hi; ++i)
      for (int64_t k = 0; k < classes; ++k) marginal[size_t(k)] += probs[size_t(i * classes + k)];
    for (double& m : marginal) m /= double(hi - lo);
    double kl = 0;
    for (int64_t i = lo; i < hi; ++i)
      for (int64_t k = 0; k < classes; ++k) {
        const double p = probs[size_t(i * classes + k)];
        if (p > 0) kl += p * (std::log(p) - std::log(marginal[size_t(k)]));
      }
    scores.push_back(std::exp(kl / double(hi - lo)));
  }
  double mean = 0, var = 0;
  for (double x : scores) mean += x;
  mean /= double(scores.size());
  for (double x : scores) var += (x - mean) * (x - mean);
  return {mean, std::sqrt(var / double(scores.size()))};
}

}  // namespace gf::metrics
