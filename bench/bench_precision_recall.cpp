// Precision/recall (metrics/precision_recall.h) at k = 3: the path the
// metrics run (--device cpu|cuda) against the one-thread form it replaced
// (precision_recall_reference, always on the CPU), timed side by side
// round-robin in one run, on random ReLU-like features of n rows per set.
// Prints seconds per metric, distances per second (4 n^2 distances: two
// radius passes, two coverage passes), the GEMM rate (2 dim flops a
// distance) and that rate as a fraction of one 1024 x 1024 x dim float64
// GEMM block measured alone on the same device (the measured peak of the
// product the metric is made of), and the speed-up over the reference.
// Two widths: dim 4096 (VGG16 fc2, what the metric runs: GEMM-bound) and
// dim 64 (where the per-distance work shows).
//   bench_precision_recall [--device cpu|cuda] [--rows N] [--quick] [--broadcast-mb M]
// --quick: 1024 rows, dim 4096 only.
// Launched as several processes (mpirun -np N, or the torchrun-style
// environment), it times what the ranks of a metric evaluation do for PR
// instead (metrics/metric_main.cpp): rank 0's broadcast of both feature
// sets (float32) to every rank, then precision_recall shared among the
// ranks, against rank 0 computing it alone, and checks the bits are equal;
// with --broadcast-mb M, only the broadcast, of M MB (pr50k3_full's two
// sets are 4096 MB).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>

#include <omp.h>

#include "bench/bench_common.h"
#include "bench/bench_flags.h"
#include "engine/dist/communicator.h"
#include "engine/error.h"
#include "engine/tensor.h"
#include "kernels/matmul.h"
#include "kernels/openmp_spin.h"
#include "metrics/precision_recall.h"

namespace {

using namespace gf;

std::vector<float> features(int64_t n, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> f(size_t(n * dim));
  for (float& v : f) v = std::max(normal(rng), 0.0f);
  return f;
}

// Seconds of one 1024 x 1024 x dim float64 GEMM (the metric's block) on d.
double block_gemm_seconds(Device d, int64_t dim) {
  const int64_t b = 1024;
  const Tensor x = Tensor::from_vector(std::vector<double>(size_t(b * dim), 0.5), {b, dim}, DType::f64, d);
  const Tensor c = Tensor::empty({b, b}, DType::f64, d);
  const bench::Reps reps{1, 3, 1};
  if (d.is_cuda()) {
#ifdef GF_WITH_CUDA
    return bench::time_per_call(d, reps, [&] {
      cuda::matmul<double>(false, true, b, b, dim, x.data<double>(), 0, x.data<double>(), 0, c.data<double>(), 1,
                           d.index);
    });
#endif
  }
  return bench::time_per_call(d, reps, [&] {
    cpu::gemm<double>(false, true, b, b, dim, 1.0, x.data<double>(), dim, x.data<double>(), dim, 0.0, c.data<double>(),
                      b);
  });
}

void run(Device dev, int64_t n, int64_t dim, int samples) {
  const std::vector<float> real = features(n, dim, 1), gen = features(n, dim, 2);
  metrics::PrecisionRecall fast, ref;
  const bench::Reps reps{0, samples, 1};
  const auto t = bench::time_per_call(
      dev, reps,
      {[&] { fast = metrics::precision_recall(real, n, gen, n, dim, 3, dev); },
       [&] { ref = metrics::precision_recall_reference(real, n, gen, n, dim, 3); }});
  if (fast.precision != ref.precision || fast.recall != ref.recall)
    std::printf("  note: precision %.6f recall %.6f, reference %.6f %.6f\n", fast.precision, fast.recall,
                ref.precision, ref.recall);
  const double distances = 4.0 * double(n) * double(n), flops = 2.0 * double(dim) * distances;
  const double peak = 2.0 * 1024 * 1024 * double(dim) / block_gemm_seconds(dev, dim) / 1e9;
  std::printf("%s, %lld rows per set, dim %lld, k 3 (precision %.4f, recall %.4f), median of %d\n",
              dev.str().c_str(), static_cast<long long>(n), static_cast<long long>(dim), fast.precision, fast.recall,
              samples);
  std::printf("  %-22s %8.2f s  %8.3g distances/s  %7.1f GFLOP/s  %5.1f%% of one block's GEMM (%.1f GFLOP/s)\n",
              "precision_recall", t[0], distances / t[0], flops / t[0] / 1e9, 100 * flops / t[0] / 1e9 / peak, peak);
  std::printf("  %-22s %8.2f s  %8.3g distances/s  %7.1f GFLOP/s  (cpu)\n", "reference (one thread)", t[1],
              distances / t[1], flops / t[1] / 1e9);
  std::printf("  speed-up %.2fx\n", t[1] / t[0]);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_shared(Communicator& comm, Device dev, int64_t n, int64_t dim, int64_t broadcast_mb) {
  const bool main = comm.rank() == 0;
  if (broadcast_mb > 0) {
    std::vector<char> buf(size_t(broadcast_mb) * 1000000, main ? 1 : 0);
    comm.barrier();
    const auto t0 = std::chrono::steady_clock::now();
    comm.broadcast(buf.data(), buf.size());
    comm.barrier();
    const double t = seconds_since(t0);
    if (main)
      std::printf("%d ranks (%s): broadcast of %lld MB from rank 0 in %.2f s, %.2f GB/s out of rank 0\n",
                  comm.world_size(), comm.backend().c_str(), static_cast<long long>(broadcast_mb), t,
                  double(broadcast_mb) * (comm.world_size() - 1) / 1e3 / t);
    return;
  }
  const std::vector<float> real = features(n, dim, 1), gen = features(n, dim, 2);
  // The features' broadcast: both sets, as metric_main.cpp sends them.
  std::vector<float> sent(real.size() + gen.size(), main ? 1.0f : 0.0f);
  comm.barrier();
  auto t0 = std::chrono::steady_clock::now();
  comm.broadcast(sent.data(), sent.size() * sizeof(float));
  comm.barrier();
  const double t_bcast = seconds_since(t0);
  metrics::precision_recall(real, n, gen, n, dim, 3, dev, &comm);  // warm-up: allocations, BLAS's start
  comm.barrier();
  t0 = std::chrono::steady_clock::now();
  const metrics::PrecisionRecall shared = metrics::precision_recall(real, n, gen, n, dim, 3, dev, &comm);
  comm.barrier();
  const double t_shared = seconds_since(t0);
  if (!main) {
    comm.barrier();
    return;
  }
  t0 = std::chrono::steady_clock::now();
  const metrics::PrecisionRecall alone = metrics::precision_recall(real, n, gen, n, dim, 3, dev);
  const double t_alone = seconds_since(t0);
  comm.barrier();
  const double mb = double(sent.size() * sizeof(float)) / 1e6;
  std::printf("%s, %d ranks (%s), %lld rows per set, dim %lld\n", dev.str().c_str(), comm.world_size(),
              comm.backend().c_str(), static_cast<long long>(n), static_cast<long long>(dim));
  std::printf("  features' broadcast   %8.2f s  %8.1f MB to each rank  %7.2f GB/s out of rank 0\n", t_bcast, mb,
              mb * (comm.world_size() - 1) / 1e3 / t_bcast);
  std::printf("  shared                %8.2f s\n  rank 0 alone          %8.2f s  (speed-up %.2fx)\n", t_shared,
              t_alone, t_alone / t_shared);
  std::printf("  %s bits (precision %.6f, recall %.6f)\n",
              std::memcmp(&shared, &alone, sizeof shared) == 0 ? "same" : "DIFFERENT", alone.precision, alone.recall);
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();
  std::string device = "cpu";
  int64_t rows = 3072;
  bool quick = false;
  int64_t broadcast_mb = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!std::strcmp(argv[i], "--rows") && i + 1 < argc)
      rows = gf::bench::int_flag("bench_precision_recall", "rows", argv[++i], 4, 1000000);
    else if (!std::strcmp(argv[i], "--broadcast-mb") && i + 1 < argc)
      broadcast_mb = gf::bench::int_flag("bench_precision_recall", "broadcast-mb", argv[++i], 0, 65536);
    else if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: bench_precision_recall [--device cpu|cuda] [--rows N] [--quick] [--broadcast-mb M]\n"
                  "  --rows 4..1000000, --broadcast-mb 0..65536\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_precision_recall: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  try {
    const gf::Device dev = gf::Device::parse(device);
    gf::check_device_usable(dev);
    std::string load;
    std::getline(std::ifstream("/proc/loadavg"), load);
    std::printf("%d OpenMP threads, GOMP_SPINCOUNT '%s', load average %s\n", omp_get_max_threads(),
                gf::cpu::openmp_spin_count(), load.c_str());
    if (auto comm = gf::communicator_from_environment(); comm && comm->world_size() > 1) {
      run_shared(*comm, dev, rows, quick ? 512 : 4096, broadcast_mb);
    } else if (quick) {
      run(dev, 1024, 4096, 1);
    } else {
      run(dev, rows, 4096, 1);
      run(dev, rows, 64, 3);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_precision_recall: %s\n", e.what());
    return 1;
  }
  return 0;
}
