// Timing shared by the benchmark programs: medians of timed samples after a
// warm-up, with the GPU stream synchronized around each sample.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <vector>

#include "engine/device.h"
#include "kernels/cuda_runtime.h"
#include "kernels/openmp_spin.h"

namespace gf::bench {

// How many samples to take, and how many calls each sample times.
struct Reps {
  int warmup, samples, calls;
};

inline void sync(Device d) {
#ifdef GF_WITH_CUDA
  if (d.is_cuda()) cuda::synchronize(d.index);
#else
  (void)d;
#endif
}

// Median seconds per call of each fn. Samples are taken round-robin, so on a
// shared machine every fn sees the same background load and their ratios hold.
inline std::vector<double> time_per_call(Device d, Reps r, const std::vector<std::function<void()>>& fns) {
  for (const auto& fn : fns)
    for (int i = 0; i < r.warmup; ++i) fn();
  sync(d);
  std::vector<std::vector<double>> t(fns.size());
  for (int s = 0; s < r.samples; ++s)
    for (size_t f = 0; f < fns.size(); ++f) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int c = 0; c < r.calls; ++c) fns[f]();
      sync(d);
      t[f].push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / r.calls);
    }
  std::vector<double> median;
  for (auto& v : t) {
    std::sort(v.begin(), v.end());
    median.push_back(v[v.size() / 2]);
  }
  return median;
}

inline double time_per_call(Device d, Reps r, const std::function<void()>& fn) {
  return time_per_call(d, r, std::vector<std::function<void()>>{fn})[0];
}

// StyleGAN2's channel count at each resolution (channel_base 16384 ... as the paper configs use).
inline int64_t channels_at(int64_t res) { return res <= 64 ? 512 : res == 128 ? 256 : 128; }

// The shared main of the op benchmarks: [--quick] [--help], then
// run(quick), with an exception turned into one error line and exit 1.
inline int bench_main(int argc, char** argv, const char* name, const char* summary,
                      const std::function<void(bool quick)>& run) {
  // The programs' OpenMP spin policy (as cli::run_main sets it), so both
  // measure the same; first, as it may execute the program again.
  cpu::prefer_short_openmp_spin();
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: %s [--quick]\n  %s\n", name, summary);
      return 0;
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s' (try --help)\n", name, argv[i]);
      return 2;
    }
  }
  try {
    run(quick);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}

}  // namespace gf::bench
