// StyleGAN's linear separability (metrics/linear_separability.h) on the CPU,
// by its two costly parts at the official sizes:
//  - linear_svc: one fit of the metric's SVM (metrics/linear_svc.h:
//    liblinear's dual coordinate descent, sklearn LinearSVC()'s defaults)
//    on num_keep = 100000 rows of 512 values (z or w of the official
//    networks), labels a noisy plane: seconds a fit, one fit without a
//    warm-up (it takes minutes; --quick: the median of 3 after one); the
//    metric makes 80 (40 attributes, Z and W). The data are numpy's RandomState(1) draws,
//    which bench/sklearn_linear_separability.py (the baseline: sklearn's
//    own LinearSVC on the same data) takes too;
//  - fits: linear_separability's fits of 4 attributes (8 fits of 10000 kept
//    rows of 512 values, noisy planes) one at a time against as many
//    worker processes as OpenMP threads (metrics/linear_svc_pool.h), once
//    each, alternately; the same results (checked);
//  - classifier: one attribute classifier (PGGAN's D_paper at 256x256 of
//    the official width, fmap_base 8192, fmap_max 512, random weights) on
//    the official minibatch of 4: ms an image, its GFLOP/s and the fraction
//    of sgemm measured in the same run (bench/gemm_reference.h); a sample
//    runs 40 of them.
//   bench_linear_separability [--quick]   (--quick: 10000 x 64 rows, the classifier at 64x64)
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "bench/bench_common.h"
#include "bench/gemm_reference.h"
#include "engine/autograd.h"
#include "engine/flop_count.h"
#include "engine/numpy_random_state.h"
#include "engine/ops.h"
#include "metrics/linear_separability.h"
#include "metrics/linear_svc.h"
#include "metrics/linear_svc_pool.h"
#include "models/pggan/networks.h"

namespace {

using namespace gf;

// x [n, d] float32 = RandomState(1).standard_normal((n, d)), then v [d] and
// noise [n]; label 1 where x v / sqrt(d) + 0.3 noise > 0.
void svc_row(int64_t n, int64_t d, bench::Reps reps) {
  NumpyRandomState rs(1);
  std::vector<float> x(static_cast<size_t>(n * d));
  for (float& value : x) value = static_cast<float>(rs.randn());
  const std::vector<double> v = rs.randn(static_cast<size_t>(d)), noise = rs.randn(static_cast<size_t>(n));
  std::vector<int> labels(static_cast<size_t>(n));
  int ones = 0;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < d; ++j) s += double(x[size_t(i * d + j)]) * v[size_t(j)];
    labels[size_t(i)] = s / std::sqrt(double(d)) + 0.3 * noise[size_t(i)] > 0 ? 1 : 0;
    ones += labels[size_t(i)];
  }
  metrics::LinearSvcFit fit;
  const double t =
      bench::time_per_call(Device::cpu(), reps, [&] { fit = metrics::fit_linear_svc(x.data(), n, d, labels); });
  int right = 0;
  for (int64_t i = 0; i < n; ++i) right += fit.predictions[size_t(i)] == labels[size_t(i)];
  std::printf("linear_svc rows %7lld x %4lld  %8.3f s a fit  (%d of class 1; training accuracy %.4f%s)\n",
              (long long)n, (long long)d, t, ones, double(right) / double(n), fit.converged ? "" : "; not converged");
}

// 4 attributes of n samples of d values (z, and w = z / 2), each attribute's
// logit a noisy plane of its own; the metric's fits one at a time and in
// omp_get_max_threads() processes.
void fits_row(int64_t n, int64_t d) {
  metrics::SeparabilitySamples s;
  s.n = n;
  s.z_dim = s.w_dim = d;
  s.attributes = 4;
  NumpyRandomState rs(2);
  for (int64_t i = 0; i < n * d; ++i) s.z.push_back(static_cast<float>(rs.randn()));
  for (float v : s.z) s.w.push_back(v / 2);
  std::vector<std::vector<double>> planes;
  for (int a = 0; a < 4; ++a) planes.push_back(rs.randn(static_cast<size_t>(d)));
  for (int64_t i = 0; i < n; ++i)
    for (int a = 0; a < 4; ++a) {
      double dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += double(s.z[size_t(i * d + j)]) * planes[size_t(a)][size_t(j)];
      s.logits.push_back(static_cast<float>(dot / std::sqrt(double(d)) + 0.3 * rs.randn()));
    }
  const int threads = omp_get_max_threads();
  double t[2] = {0, 0};
  metrics::Separability r[2];
  for (int k = 0; k < 2; ++k) {
    omp_set_num_threads(k == 0 ? 1 : threads);
    const auto t0 = std::chrono::steady_clock::now();
    r[k] = metrics::linear_separability(s, n / 2);
    t[k] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  omp_set_num_threads(threads);
  const bool same = r[0].entropy_z == r[1].entropy_z && r[0].entropy_w == r[1].entropy_w;
  std::printf("ls fits    8 of %6lld x %4lld  one at a time %8.2f s  %d processes %8.2f s  ratio %.2f  (%s results; "
              "%d of 8 not converged)\n",
              (long long)(n / 2), (long long)d, t[0], metrics::linear_svc_workers(n / 2, d), t[1], t[1] / t[0],
              same ? "the same" : "DIFFERENT", r[0].unconverged_fits);
}

void classifier_row(int64_t side, int samples, double gemm_gflop_s) {
  pggan::DiscriminatorConfig c;
  c.num_channels = 3;
  c.resolution = int(side);
  c.label_size = 0;
  c.fmap_base = 8192;
  c.fmap_max = 512;
  c.mbstd_group_size = 0;
  const pggan::Discriminator D(c, 1);
  const Tensor images = randn({4, 3, side, side}, *std::make_unique<gf::Generator>(2));
  NoGradGuard ng;
  const uint64_t f0 = flop_count::total();
  D.forward(images);
  const double gflop = double(flop_count::total() - f0) / 1e9;
  const double t = bench::time_per_call(Device::cpu(), {1, samples, 1}, [&] { D.forward(images); });
  std::printf("classifier %4lld px  minibatch 4  %8.2f ms/image  %6.1f GFLOP/s  %.2f of sgemm  (a sample: 40 of them, "
              "%.2f s)\n",
              (long long)side, 1e3 * t / 4, gflop / t, gflop / t / gemm_gflop_s, 40 * t / 4);
}

}  // namespace

int main(int argc, char** argv) {
  return bench::bench_main(argc, argv, "bench_linear_separability",
                           "StyleGAN's linear separability parts on the CPU (see "
                           "bench/sklearn_linear_separability.py)",
                           [](bool quick) {
                             const bench::GemmReference ref = bench::gemm_reference(Device::cpu());
                             std::printf("GEMM reference: %s %.1f GFLOP/s\n", ref.what.c_str(), ref.tflop_s * 1e3);
                             if (quick) svc_row(10000, 64, {1, 3, 1});
                             else svc_row(100000, 512, {0, 1, 1});
                             if (quick) fits_row(4000, 64);
                             else fits_row(20000, 512);
                             classifier_row(quick ? 64 : 256, quick ? 3 : 5, ref.tflop_s * 1e3);
                           });
}
