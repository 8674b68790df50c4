// PGGAN's metrics on the CPU (metrics/sliced_wasserstein.h, ms_ssim.h), by
// their three parts, each timed as the metric runs it:
//  - descriptors: one minibatch of random 8-bit images through the pyramid
//    and the patch gather (ms per image) at 32 and 256 px;
//  - sliced_wasserstein: one repeat of 128 directions over two sets of
//    `rows` descriptors of 147 values (the metric: 4 repeats per level,
//    2^21 rows a set for swd16k): seconds for the whole call, and its two
//    parts alone: the projections (the same GEMM calls: GFLOP/s, 2 x 147 x
//    128 x rows x 2 sets, and the fraction of sgemm 1024^3 measured in the
//    same run, bench/gemm_reference.h) and the sorts (kernels/radix_sort.h
//    against std::sort on the same normal values, one thread: values per
//    second, and the time in copies of the array, memcpy timed alike: the
//    floor of a sort that reads and writes every value is one);
//  - ms_ssim: ms per pair at 32 and 256 px.
// bench/numpy_pggan_metrics.py times the official numpy/scipy code on the
// same sizes (the baseline), one row per part.
//   bench_pggan_metrics [--quick]   (--quick: 2^16 rows, fewer samples)
#include <cstdio>
#include <algorithm>
#include <random>
#include <vector>

#include "bench/bench_common.h"
#include "bench/gemm_reference.h"
#include "engine/error.h"
#include "engine/numpy_random_state.h"
#include "kernels/matmul.h"
#include "kernels/radix_sort.h"
#include "metrics/ms_ssim.h"
#include "metrics/sliced_wasserstein.h"

namespace {

using namespace gf;

std::vector<uint8_t> random_images(int64_t n, int64_t side, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> px(size_t(n * 3 * side * side));
  for (uint8_t& v : px) v = uint8_t(rng() & 255);
  return px;
}

void descriptors_row(int64_t side, int samples) {
  const int64_t mb = std::min<int64_t>(256, std::max<int64_t>(4, 8192 / side));
  const std::vector<uint8_t> px = random_images(mb, side, 1);
  const double t = bench::time_per_call(Device::cpu(), {1, samples, 1}, [&] {
    metrics::SwdDescriptors d(side, mb, metrics::SwdOptions());
    NumpyRandomState rs(1);
    d.add(px.data(), mb, rs);
  });
  std::printf("descriptors        %4lld px  minibatch %3lld   %8.3f ms/image\n", (long long)side, (long long)mb,
              1e3 * t / double(mb));
}

void sliced_wasserstein_rows(int64_t rows, int samples, double gemm_gflop_s) {
  std::mt19937 rng(2);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(size_t(rows * 147)), b(a.size());
  for (float& v : a) v = normal(rng);
  for (float& v : b) v = normal(rng) * 1.1f;
  const double whole = bench::time_per_call(Device::cpu(), {0, samples, 1}, [&] {
    NumpyRandomState rs(3);
    metrics::sliced_wasserstein(a.data(), b.data(), rows, 147, 1, 128, rs);
  });
  // The projections as the call makes them: blocks of 32 directions, both sets.
  std::vector<float> dirs(147 * 128, 0.08f), proj(static_cast<size_t>(32 * rows));
  const double gemm = bench::time_per_call(Device::cpu(), {1, samples, 1}, [&] {
    for (int64_t j0 = 0; j0 < 128; j0 += 32)
      for (const float* set : {a.data(), b.data()})
        cpu::gemm<float>(true, true, 32, rows, 147, 1.0f, dirs.data() + j0, 128, set, 147, 0.0f, proj.data(), rows);
  });
  const double gflop = 2.0 * 147 * 128 * double(rows) * 2 / 1e9;
  std::printf("sliced_wasserstein rows %8lld  1 x 128 dirs  %8.3f s a call\n", (long long)rows, whole);
  std::printf("  projections alone                 %8.3f s  %6.1f GFLOP/s  %.2f of sgemm\n", gemm, gflop / gemm,
              gflop / gemm / gemm_gflop_s);
  // One direction's sort, one thread (the call sorts 256 of them over the threads).
  std::vector<float> values(static_cast<size_t>(rows)), v(values.size()), tmp(values.size());
  for (float& x : values) x = normal(rng) * 12.0f;
  // Each call copies the values in first: its time is taken off.
  const double copy = bench::time_per_call(Device::cpu(), {1, samples, 1}, [&] { v = values; });
  const double radix = bench::time_per_call(Device::cpu(), {1, samples, 1}, [&] {
    v = values;
    cpu::radix_sort_floats(v.data(), tmp.data(), rows);
  }) - copy;
  if (!std::is_sorted(v.begin(), v.end())) throw gf::Error("radix_sort_floats left values out of order");
  const double stdsort = bench::time_per_call(Device::cpu(), {1, samples, 1}, [&] {
    v = values;
    std::sort(v.begin(), v.end());
  }) - copy;
  std::printf("  one sort of %8lld values         radix %8.5f s (%6.1f M values/s, %4.1f copies' time)  std::sort "
              "%8.5f s  ratio %.2f\n",
              (long long)rows, radix, double(rows) / radix / 1e6, radix / copy, stdsort, stdsort / radix);
}

void ms_ssim_row(int64_t side, int samples) {
  const std::vector<uint8_t> px = random_images(2, side, 4);
  const int64_t image = 3 * side * side;
  const int64_t calls = side <= 32 ? 50 : 2;
  const double t = bench::time_per_call(Device::cpu(), {1, samples, int(calls)}, [&] {
    metrics::ms_ssim(px.data(), px.data() + image, 3, side);
  });
  std::printf("ms_ssim            %4lld px  %8.3f ms/pair\n", (long long)side, 1e3 * t);
}

}  // namespace

int main(int argc, char** argv) {
  return bench::bench_main(argc, argv, "bench_pggan_metrics",
                           "PGGAN's SWD and MS-SSIM parts on the CPU (see bench/numpy_pggan_metrics.py)",
                           [](bool quick) {
                             const int samples = quick ? 3 : 5;
                             const bench::GemmReference ref = bench::gemm_reference(Device::cpu());
                             std::printf("GEMM reference: %s %.1f GFLOP/s\n", ref.what.c_str(), ref.tflop_s * 1e3);
                             for (int64_t side : {32, 256}) descriptors_row(side, samples);
                             sliced_wasserstein_rows(quick ? 65536 : 1 << 21, 3, ref.tflop_s * 1e3);
                             for (int64_t side : {32, 256}) ms_ssim_row(side, samples);
                           });
}
