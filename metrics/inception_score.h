// The Inception Score (Salimans et al. 2016, "Improved Techniques for
// Training GANs") as the official is50k computes it (StyleGAN2-ADA
// metrics/inception_score.py): the class probabilities of the generated
// images cut into num_splits consecutive parts; in each part
// exp(mean_i KL(p_i || mean_part p)); the mean and the (population) standard
// deviation of those scores.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace gf::metrics {

// probs: [n, classes] row-major, rows summing to 1. Returns {mean, std}.
// Throws gf::Error when n < num_splits or a probability is negative or not
// finite. A zero probability contributes zero, as its limit.
std::pair<double, double> inception_score(const std::vector<float>& probs, int64_t n, int64_t classes,
                                          int num_splits);

}  // namespace gf::metrics
