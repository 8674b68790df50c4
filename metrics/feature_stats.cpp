#include "metrics/feature_stats.h"

#include <cblas.h>

#include <algorithm>

#include "engine/error.h"
#include "kernels/parallel.h"

namespace gf::metrics {

FeatureStats::FeatureStats(bool capture_all, bool capture_mean_cov, int64_t max_items)
    : capture_all_(capture_all), capture_mean_cov_(capture_mean_cov), max_items_(max_items) {}

void FeatureStats::append(const Tensor& x_in) {
  GF_CHECK(x_in.dim() == 2 && x_in.dtype() == DType::f32, "FeatureStats::append",
           "features must be float32 [n, D], got " << shape_str(x_in.shape()) << " " << dtype_name(x_in.dtype()));
  int64_t n = x_in.size(0);
  const int64_t d = x_in.size(1);
  if (dim_ < 0) {
    dim_ = d;
    if (capture_mean_cov_) {
      sum_.assign(size_t(d), 0.0);
      sum_outer_.assign(size_t(d) * size_t(d), 0.0);
    }
  }
  GF_CHECK(d == dim_, "FeatureStats::append", "features have " << d << " columns, earlier ones " << dim_);
  if (max_items_ > 0) n = std::min(n, std::max<int64_t>(max_items_ - num_items_, 0));
  if (n == 0) return;
  const Tensor x = x_in.to(Device::cpu());
  const float* p = x.data<float>();
  num_items_ += n;
  if (capture_all_) all_.insert(all_.end(), p, p + n * d);
  if (!capture_mean_cov_) return;
  // float64 sums, as the official x.astype(np.float64); the outer products
  // through BLAS's rank-k update of the upper triangle, on one thread:
  // OpenBLAS splits it by the thread count, and FID changed with it.
  std::vector<double> x64(p, p + n * d);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) sum_[size_t(j)] += x64[size_t(i * d + j)];
  cpu::on_one_thread([&] {
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, blasint(d), blasint(n), 1.0, x64.data(), blasint(d), 1.0,
                sum_outer_.data(), blasint(d));
  });
}

const std::vector<float>& FeatureStats::all() const {
  GF_CHECK(capture_all_, "FeatureStats::all", "these statistics do not keep the features");
  return all_;
}

std::vector<float> FeatureStats::take_all() {
  GF_CHECK(capture_all_, "FeatureStats::take_all", "these statistics do not keep the features");
  return std::move(all_);
}

namespace {
// The full symmetric matrix from its upper triangle.
std::vector<double> symmetric(const std::vector<double>& upper, int64_t d) {
  std::vector<double> m(upper);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < i; ++j) m[size_t(i * d + j)] = m[size_t(j * d + i)];
  return m;
}
}  // namespace

void FeatureStats::mean_cov(std::vector<double>& mean, std::vector<double>& cov) const {
  GF_CHECK(capture_mean_cov_, "FeatureStats::mean_cov", "these statistics keep no sums");
  GF_CHECK(num_items_ > 0, "FeatureStats::mean_cov", "no features were appended");
  const int64_t d = dim_;
  const double n = double(num_items_);
  mean.resize(size_t(d));
  for (int64_t j = 0; j < d; ++j) mean[size_t(j)] = sum_[size_t(j)] / n;
  cov = symmetric(sum_outer_, d);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t j = 0; j < d; ++j) cov[size_t(i * d + j)] = cov[size_t(i * d + j)] / n - mean[size_t(i)] * mean[size_t(j)];
}

Tensor FeatureStats::raw_mean() const {
  GF_CHECK(capture_mean_cov_ && dim_ >= 0, "FeatureStats::raw_mean", "no sums to save");
  return Tensor::from_vector(sum_, {dim_}, DType::f64);
}

Tensor FeatureStats::raw_cov() const {
  GF_CHECK(capture_mean_cov_ && dim_ >= 0, "FeatureStats::raw_cov", "no sums to save");
  return Tensor::from_vector(symmetric(sum_outer_, dim_), {dim_, dim_}, DType::f64);
}

FeatureStats FeatureStats::from_raw(const Tensor& raw_mean, const Tensor& raw_cov, int64_t num_items,
                                    int64_t max_items) {
  GF_CHECK(raw_mean.dim() == 1 && raw_mean.dtype() == DType::f64 && raw_cov.dtype() == DType::f64 &&
               raw_cov.shape() == Shape({raw_mean.size(0), raw_mean.size(0)}) && num_items > 0,
           "FeatureStats::from_raw", "sums of mismatched shapes or types, or no items");
  FeatureStats s(false, true, max_items);
  s.dim_ = raw_mean.size(0);
  s.num_items_ = num_items;
  s.sum_ = raw_mean.to_vector();
  s.sum_outer_ = raw_cov.to_vector();
  return s;
}

FeatureStats FeatureStats::from_all(const Tensor& all) {
  GF_CHECK(all.dim() == 2 && all.dtype() == DType::f32 && all.size(0) > 0 && all.size(1) > 0 &&
               all.device() == Device::cpu(),
           "FeatureStats::from_all", "features must be float32 [n > 0, D > 0] on the CPU, got "
                                         << shape_str(all.shape()) << " " << dtype_name(all.dtype()));
  FeatureStats s(true, false, all.size(0));
  s.dim_ = all.size(1);
  s.num_items_ = all.size(0);
  const float* p = all.data<float>();
  s.all_.assign(p, p + all.numel());
  return s;
}

}  // namespace gf::metrics
