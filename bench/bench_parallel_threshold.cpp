// Where an OpenMP parallel region starts paying for itself on this machine:
// the elementwise kernels' "no region below N elements" threshold
// (kernels/elementwise.cpp and its neighbours) is chosen by this measurement.
//
//   OMP_NUM_THREADS=2 build/bin/bench_parallel_threshold [--rounds 41]
//
// For each size n, an affine map y = a x + b over n floats (the op Adam and
// the training losses call most) runs as the kernels run it on each side of
// the threshold (kernels/parallel.h parallel_for_simd: a plain `omp simd`
// loop on the calling thread below it, an `omp parallel for simd` region of
// all OpenMP threads above it), alternating call by call (A/B
// interleaved, so load from other programs hits both alike). Prints the
// median time of each, their ratio (parallel / serial: below 1 the region
// wins), and the median cost of an empty region (fork and join alone).
// Times are wall-clock: on a shared machine read the ratios, not the times.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "bench/bench_flags.h"
#include "kernels/openmp_spin.h"
#include "kernels/parallel.h"

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// The kernels' own helper and loop form (kernels/elementwise.cpp unary): an
// `omp parallel for simd if (false)` region is not what they run below the
// threshold, and GCC does not vectorize it (2-5x slower than the plain loop).
void affine(const float* x, float* y, int64_t n, float a, float b, bool parallel) {
  gf::cpu::parallel_for_simd(n, parallel, [&](int64_t i) { y[i] = x[i] * a + b; });
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  int rounds = 41;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--rounds") && i + 1 < argc) {
      rounds = gf::bench::int_flag("bench_parallel_threshold", "rounds", argv[++i], 1, 1000000);
    } else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: bench_parallel_threshold [--rounds 41]   (--rounds 1..1000000)\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_parallel_threshold: error: unknown flag, or a flag without its value: '%s' (try --help)\n",
                   argv[i]);
      return 2;
    }
  }
  const int threads = omp_get_max_threads();
  std::printf("bench_parallel_threshold: %d OpenMP threads, GOMP_SPINCOUNT '%s', %d rounds, medians\n", threads,
              gf::cpu::openmp_spin_count(), rounds);

  std::vector<double> empty;
  for (int r = 0; r < rounds * 10; ++r) {
    const double t0 = now();
#pragma omp parallel
    { asm volatile("" ::: "memory"); }
    empty.push_back(now() - t0);
  }
  std::printf("empty parallel region (fork + join): %.2f us\n\n", median(empty) * 1e6);

  std::printf("%10s %12s %12s %8s\n", "n", "serial us", "parallel us", "ratio");
  // Powers of two and the sizes halfway between (x1.5), to place the crossover.
  std::vector<int64_t> sizes;
  for (int64_t p = 4096; p <= (int64_t(1) << 20); p *= 2) sizes.insert(sizes.end(), {p, p + p / 2});
  sizes.pop_back();
  for (const int64_t n : sizes) {
    std::vector<float> x(static_cast<size_t>(n), 1.5f), y(static_cast<size_t>(n));
    std::vector<double> ts, tp;
    affine(x.data(), y.data(), n, 0.5f, 0.25f, false);  // touch the pages
    for (int r = 0; r < rounds; ++r) {
      double t0 = now();
      affine(x.data(), y.data(), n, 0.5f, 0.25f, false);
      ts.push_back(now() - t0);
      t0 = now();
      affine(x.data(), y.data(), n, 0.5f, 0.25f, true);
      tp.push_back(now() - t0);
    }
    const double s = median(ts), p = median(tp);
    std::printf("%10lld %12.2f %12.2f %8.2f\n", static_cast<long long>(n), s * 1e6, p * 1e6, p / s);
  }
  return 0;
}
