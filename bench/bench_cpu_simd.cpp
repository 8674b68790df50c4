// The CPU kernels whose files take vectorizing flags in CMakeLists.txt
// (kernels/prelu.cpp: -fno-trapping-math; kernels/pixel_norm.cpp:
// -fno-math-errno) against the same loops as they ran before: copies of the
// kernels' code compiled here, in a file that has only the project's ordinary
// flags. Both run in one process, timed round-robin (bench::time_per_call),
// so background load hits them alike and the ratio is the figure to read.
// Each row also checks that the two give the same bits.
//
// Shapes: PReLU at the pSp encoder's (IR-SE50 at 256 px input: 64 channels
// at 128 px down to 512 at 16 px), pixel_norm and pixel_norm_grad at z [B,
// 512] and PGGAN's 512-channel maps. float32. GB/s counts bytes read once
// and written once (x and y; x, g and dx), and "of copy" is its fraction of
// a 64 MiB copy's bandwidth measured in the same run (the memory-bound
// kernels' ceiling; a row whose data stays in cache passes 1). Threads:
// OMP_NUM_THREADS.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "bench/bench_common.h"
#include "engine/ops.h"
#include "kernels/pixel_norm.h"
#include "kernels/prelu.h"

namespace {

using namespace gf;

// ---- the kernels' loops as they are written, compiled without the flags ----

void old_prelu(const float* x, const float* a, float* y, const PreluDims& d) {
#pragma omp parallel for if (d.outer * d.c * d.inner > 32768)
  for (int64_t p = 0; p < d.outer * d.c; ++p) {
    const float s = a[d.per_channel ? p % d.c : 0];
    const float* xr = x + p * d.inner;
    float* yr = y + p * d.inner;
#pragma omp simd
    for (int64_t i = 0; i < d.inner; ++i) yr[i] = xr[i] > 0.0f ? xr[i] : s * xr[i];
  }
}

constexpr int64_t kCols = 64;

template <class F>
void for_each_tile(int64_t outer, int64_t r, int64_t inner, F&& tile) {
  const int64_t blocks = (inner + kCols - 1) / kCols;
#pragma omp parallel for collapse(2) if (outer * r * inner > 32768)
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t at = o * r * inner + b * kCols, n = std::min(kCols, inner - b * kCols);
      if (inner == 1)
        tile(at, n, std::integral_constant<int64_t, 1>{});
      else
        tile(at, n, std::integral_constant<int64_t, 0>{});
    }
}

template <int64_t N>
void old_pixel_norm_tile(const float* x, float* y, int64_t r, int64_t inner, int64_t n, double eps) {
  if (N > 0) n = N;
  double ss[kCols] = {};
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) ss[i] += static_cast<double>(x[k * inner + i]) * x[k * inner + i];
  for (int64_t i = 0; i < n; ++i) ss[i] = 1.0 / std::sqrt(ss[i] / static_cast<double>(r) + eps);
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) y[k * inner + i] = static_cast<float>(x[k * inner + i] * ss[i]);
}

void old_pixel_norm(const float* x, float* y, int64_t outer, int64_t r, int64_t inner, double eps) {
  for_each_tile(outer, r, inner, [&](int64_t at, int64_t n, auto width) {
    old_pixel_norm_tile<decltype(width)::value>(x + at, y + at, r, inner, n, eps);
  });
}

template <int64_t N>
void old_pixel_norm_grad_tile(const float* x, const float* g, float* dx, int64_t r, int64_t inner, int64_t n,
                              double eps) {
  if (N > 0) n = N;
  double ss[kCols] = {}, gx[kCols] = {};
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) {
      const double xv = x[k * inner + i];
      ss[i] += xv * xv;
      gx[i] += xv * g[k * inner + i];
    }
  for (int64_t i = 0; i < n; ++i) {
    ss[i] = 1.0 / std::sqrt(ss[i] / static_cast<double>(r) + eps);
    gx[i] *= ss[i] * ss[i] * ss[i] / static_cast<double>(r);
  }
  for (int64_t k = 0; k < r; ++k)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t j = k * inner + i;
      dx[j] = static_cast<float>(ss[i] * g[j] - gx[i] * x[j]);
    }
}

void old_pixel_norm_grad(const float* x, const float* g, float* dx, int64_t outer, int64_t r, int64_t inner,
                         double eps) {
  for_each_tile(outer, r, inner, [&](int64_t at, int64_t n, auto width) {
    old_pixel_norm_grad_tile<decltype(width)::value>(x + at, g + at, dx + at, r, inner, n, eps);
  });
}

// ---- timing ----

std::vector<float> pseudo_random(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& e : v) {
    seed = seed * 1664525u + 1013904223u;
    e = static_cast<float>(static_cast<int32_t>(seed)) * 0x1p-31f * 2.0f;
  }
  return v;
}

std::string shape(std::initializer_list<int64_t> s) {
  std::string out = "[";
  for (int64_t d : s) out += (out.size() > 1 ? "," : "") + std::to_string(d);
  return out + "]";
}

// The 64 MiB copy's GB/s (read and write), the rows' ceiling.
double g_copy_gbs = 0;

// One row: new and old timed round-robin, then compared bit for bit.
void row(const char* op, const std::string& size, double bytes, const bench::Reps& reps,
         const std::function<void()>& now, const std::function<void()>& old, const std::vector<float>& y_now,
         const std::vector<float>& y_old) {
  const std::vector<double> t = bench::time_per_call(Device::cpu(), reps, {now, old});
  now();
  old();
  const bool same = std::memcmp(y_now.data(), y_old.data(), y_now.size() * sizeof(float)) == 0;
  std::printf("  %-16s %-18s %9.4f ms %7.1f GB/s %5.2f of copy | before %9.4f ms %7.1f GB/s %5.2f of copy | %5.2fx | bits %s\n",
              op, size.c_str(), t[0] * 1e3, bytes / t[0] / 1e9, bytes / t[0] / 1e9 / g_copy_gbs, t[1] * 1e3,
              bytes / t[1] / 1e9, bytes / t[1] / 1e9 / g_copy_gbs, t[1] / t[0], same ? "same" : "DIFFER");
  std::fflush(stdout);
  if (!same) throw std::runtime_error(std::string(op) + " " + size + ": the two versions differ in bits");
}

void run(bool quick) {
  const int64_t batch = quick ? 1 : 4;
  const bench::Reps reps{2, quick ? 5 : 9, quick ? 2 : 5};
  std::printf("CPU, float32, batch %lld; 'before' = the same loops without the file's flags\n",
              static_cast<long long>(batch));
  {
    NoGradGuard ng;
    Generator gen(1);
    const int64_t mib64 = 64 << 20;
    const Tensor big = gf::rand({mib64 / 4}, gen, DType::f32, Device::cpu());
    const double copy_s = bench::time_per_call(Device::cpu(), reps, std::function<void()>([&] { big.clone(); }));
    g_copy_gbs = 2.0 * mib64 / copy_s / 1e9;
    std::printf("  %-16s %-18s %9.4f ms %7.1f GB/s (the ceiling)\n", "copy", "64 MiB clone", copy_s * 1e3, g_copy_gbs);
  }
  // PReLU at the pSp encoder's shapes.
  for (const auto& [c, res] : std::vector<std::pair<int64_t, int64_t>>{{64, 128}, {128, 64}, {256, 32}, {512, 16}}) {
    const PreluDims d{batch, c, res * res, true};
    const size_t n = static_cast<size_t>(batch * c * res * res);
    const std::vector<float> x = pseudo_random(n, 1), a = pseudo_random(static_cast<size_t>(c), 2);
    std::vector<float> y(n), y_old(n);
    row("prelu", shape({batch, c, res, res}), 8.0 * n, reps, [&] { cpu::prelu(x.data(), a.data(), y.data(), d); },
        [&] { old_prelu(x.data(), a.data(), y_old.data(), d); }, y, y_old);
  }
  // pixel_norm over dim 1: z [B, 512], then [B, 512, res, res].
  for (int64_t res : {int64_t{0}, int64_t{8}, int64_t{32}, int64_t{64}}) {
    const int64_t inner = res ? res * res : 1;
    const size_t n = static_cast<size_t>(batch * 512 * inner);
    const std::string s = res ? shape({batch, 512, res, res}) : shape({batch, 512});
    const std::vector<float> x = pseudo_random(n, 3), g = pseudo_random(n, 4);
    std::vector<float> y(n), y_old(n);
    row("pixel_norm", s, 8.0 * n, reps, [&] { cpu::pixel_norm(x.data(), y.data(), batch, 512, inner, 1e-8); },
        [&] { old_pixel_norm(x.data(), y_old.data(), batch, 512, inner, 1e-8); }, y, y_old);
    row("pixel_norm_grad", s, 12.0 * n, reps,
        [&] { cpu::pixel_norm_grad(x.data(), g.data(), y.data(), batch, 512, inner, 1e-8); },
        [&] { old_pixel_norm_grad(x.data(), g.data(), y_old.data(), batch, 512, inner, 1e-8); }, y, y_old);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return bench::bench_main(argc, argv, "bench_cpu_simd",
                           "Times the CPU prelu and pixel_norm kernels against the same loops compiled without\n"
                           "  their files' vectorizing flags (side by side), and checks they give the same bits.\n"
                           "  --quick: batch 1, fewer samples.",
                           run);
}
