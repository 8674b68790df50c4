// The CPU upfirdn2d against an older revision's, in one process (built and
// run by bench/upfirdn2d_ab.sh, which compiles the old kernel into namespace
// gf::cpu_old): the calls that take most of a `small` config training step
// (profile_step), old and new interleaved 31 times each, thread CPU time (so
// a shared machine's load counts less), medians; GB/s is bytes read once plus
// bytes written once, against a 64 MiB memcpy timed the same way. Each row
// says whether the two kernels' outputs agree bit for bit.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <random>
#include <vector>

#include "kernels/upfirdn2d.h"

namespace gf::cpu_old {
template <class T>
void upfirdn2d(const T* x, const T* f, T* y, const UpFirDn2dDesc& d, double gain);
}

namespace {

double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main() {
  using namespace gf;
  struct Call {
    const char* name;
    int64_t planes, h, w;
    int up, down, pad0, pad1;
    bool flip;
  };
  const Call calls[] = {{"filter", 512, 32, 32, 1, 1, 2, 2, false}, {"filter", 1024, 17, 17, 1, 1, 1, 1, true},
                        {"filter", 512, 33, 33, 1, 1, 1, 1, true},  {"filter", 1024, 16, 16, 1, 1, 2, 2, false},
                        {"filter", 1024, 9, 9, 1, 1, 1, 1, true},   {"filter", 1024, 8, 8, 1, 1, 2, 2, false},
                        {"up2", 512, 16, 16, 2, 1, 2, 1, true},     {"up2", 1024, 8, 8, 2, 1, 2, 1, true},
                        {"up2", 1024, 4, 4, 2, 1, 2, 1, true},      {"down2", 1024, 16, 16, 1, 2, 1, 1, false},
                        {"down2", 512, 32, 32, 1, 2, 1, 1, false}};
  std::vector<char> a(64 << 20, 1), b(64 << 20);
  std::vector<double> copy_t;
  for (int i = 0; i < 7; ++i) {
    const double t = cpu_seconds();
    std::memcpy(b.data(), a.data(), a.size());
    copy_t.push_back(cpu_seconds() - t);
  }
  const double copy_gbs = 2.0 * a.size() / median(copy_t) / 1e9;
  std::printf("memcpy 64 MiB: %.1f GB/s (read + write, CPU time)\n", copy_gbs);
  // The 4x4 filter of [1, 3, 3, 1], as setup_filter makes it.
  float f[16];
  const float taps[4] = {1, 3, 3, 1};
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) f[i * 4 + j] = taps[i] * taps[j] / 64.f;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::printf("%-6s %-22s %10s %9s %5s | %10s %9s %5s | %6s\n", "call", "planes,h,w -> out", "old ms", "GB/s", "copy",
              "new ms", "GB/s", "copy", "speed");
  for (const Call& c : calls) {
    UpFirDn2dDesc d;
    d.planes = c.planes, d.in_h = c.h, d.in_w = c.w;
    d.up_x = d.up_y = c.up, d.down_x = d.down_y = c.down;
    d.pad_x0 = d.pad_y0 = c.pad0, d.f_h = d.f_w = 4, d.flip = c.flip;
    d.out_h = d.out_w = (c.h * c.up + c.pad0 + c.pad1 - 4 + c.down) / c.down;
    std::vector<float> x(static_cast<size_t>(c.planes * c.h * c.w));
    std::vector<float> y_old(static_cast<size_t>(c.planes * d.out_h * d.out_w)), y_new(y_old.size());
    for (float& v : x) v = normal(rng);
    std::vector<double> t_old, t_new;
    for (int r = 0; r < 31; ++r) {
      double t = cpu_seconds();
      cpu_old::upfirdn2d<float>(x.data(), f, y_old.data(), d, 1.0);
      t_old.push_back(cpu_seconds() - t);
      t = cpu_seconds();
      cpu::upfirdn2d<float>(x.data(), f, y_new.data(), d, 1.0);
      t_new.push_back(cpu_seconds() - t);
    }
    const bool same = std::memcmp(y_old.data(), y_new.data(), y_old.size() * sizeof(float)) == 0;
    const double bytes = 4.0 * (x.size() + y_old.size()), mo = median(t_old), mn = median(t_new);
    char shape[64];
    std::snprintf(shape, sizeof shape, "%ld,%ld,%ld -> %ldx%ld", long(c.planes), long(c.h), long(c.w), long(d.out_h),
                  long(d.out_w));
    std::printf("%-6s %-22s %10.3f %9.1f %5.2f | %10.3f %9.1f %5.2f | %5.2fx %s\n", c.name, shape, mo * 1e3,
                bytes / mo / 1e9, bytes / mo / 1e9 / copy_gbs, mn * 1e3, bytes / mn / 1e9,
                bytes / mn / 1e9 / copy_gbs, mo / mn, same ? "bit-identical" : "DIFFERENT");
  }
}
