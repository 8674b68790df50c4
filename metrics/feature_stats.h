// Running statistics of detector features, as the official FeatureStats
// (StyleGAN2-ADA metrics/metric_utils.py): the features of up to max_items
// images, their sum and the sum of their outer products in float64, so the
// mean and the (biased, 1/N) covariance come out of one pass; or every
// feature row kept (capture_all), for the Inception Score and KID.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gf::metrics {

class FeatureStats {
 public:
  // max_items <= 0: no limit.
  FeatureStats(bool capture_all, bool capture_mean_cov, int64_t max_items);

  // x: float32 [n, D] on any device. Rows past max_items are dropped, as the
  // official append drops them. D must agree with earlier calls (gf::Error).
  void append(const Tensor& x);
  bool is_full() const { return max_items_ > 0 && num_items_ >= max_items_; }
  int64_t num_items() const { return num_items_; }
  int64_t num_features() const { return dim_; }
  int64_t max_items() const { return max_items_; }
  bool captures_all() const { return capture_all_; }
  bool captures_mean_cov() const { return capture_mean_cov_; }

  // The captured rows, [num_items, D] float32 row-major (capture_all).
  const std::vector<float>& all() const;
  // The same rows, moved out (the statistics keep none after).
  std::vector<float> take_all();
  // mean [D] = sum / N and cov [D, D] = sum x x^T / N - mean mean^T, float64
  // (capture_mean_cov; gf::Error when nothing was appended).
  void mean_cov(std::vector<double>& mean, std::vector<double>& cov) const;

  // The running sums for a cache file (metrics/stats_cache.h): raw_mean [D],
  // raw_cov [D, D] (full, symmetric), float64.
  Tensor raw_mean() const;
  Tensor raw_cov() const;
  static FeatureStats from_raw(const Tensor& raw_mean, const Tensor& raw_cov, int64_t num_items, int64_t max_items);
  // Captured rows back from a cache file: all [num_items, D] float32 on the
  // CPU; the statistics keep every row and no sums.
  static FeatureStats from_all(const Tensor& all);

 private:
  bool capture_all_, capture_mean_cov_;
  int64_t max_items_, num_items_ = 0, dim_ = -1;
  std::vector<float> all_;
  std::vector<double> sum_, sum_outer_;  // sum_outer_: upper triangle, filled in by mean_cov/raw_cov
};

}  // namespace gf::metrics
