// PIL's Resample.c semantics (ImagingResample with the bilinear, the
// bicubic, the Lanczos or the box filter): for output index i along an axis
// of scale = in / out, the filter scale is max(scale, 1), the support the
// filter's (1 bilinear, 2 bicubic, 3 Lanczos, 0.5 box) times the filter scale, the centre (i + 0.5) * scale; taps from
// floor(centre - support + 0.5) to floor(centre + support + 0.5) (clipped to
// the image) weigh filter((tap - centre + 0.5) * (1 / filter scale)),
// normalized to sum 1, then rounded to integers of 2^22 (half away from 0).
// A pass sums pixel * weight from 2^21 (rounding) and shifts back, clipped to
// [0, 255].
#include "data/images/image_resize.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"

namespace gf {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

struct Taps {
  std::vector<int> first, count;
  std::vector<int32_t> weights;  // count per output, padded to `stride`
  int stride = 0;
};

struct Filter {
  double support;
  double (*f)(double);
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1 ? 1 - x : 0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}

// PIL's truncated sinc: sinc(x) sinc(x / 3) on [-3, 3).
double lanczos(double x) { return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3) : 0.0; }

// PIL's bicubic: Keys' cubic convolution with a = -0.5 on (-2, 2).
double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// PIL's box: 1 on (-0.5, 0.5], so a tap on the edge of two outputs counts once.
double box(double x) { return x > -0.5 && x <= 0.5 ? 1.0 : 0.0; }

Taps precompute(int in, int out, const Filter& filter) {
  const double scale = double(in) / out;
  const double filterscale = std::max(scale, 1.0), support = filter.support * filterscale, ss = 1.0 / filterscale;
  Taps t;
  t.stride = int(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out));
  t.count.resize(size_t(out));
  t.weights.assign(size_t(out) * t.stride, 0);
  std::vector<double> k(size_t(t.stride));
  for (int i = 0; i < out; ++i) {
    const double center = (i + 0.5) * scale;
    int xmin = int(center - support + 0.5), xmax = int(center + support + 0.5);
    xmin = std::max(xmin, 0);
    xmax = std::min(xmax, in) - xmin;
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      k[size_t(x)] = filter.f((x + xmin - center + 0.5) * ss);
      ww += k[size_t(x)];
    }
    for (int x = 0; x < xmax; ++x) {
      const double v = ww != 0 ? k[size_t(x)] / ww : k[size_t(x)];
      const double s = v * double(1 << kPrecisionBits);
      t.weights[size_t(i) * t.stride + x] = int32_t(v < 0 ? s - 0.5 : s + 0.5);
    }
    t.first[size_t(i)] = xmin;
    t.count[size_t(i)] = xmax;
  }
  return t;
}

uint8_t clip8(int64_t v) {
  if (v >= (int64_t(1) << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return uint8_t(v >> kPrecisionBits);
}

std::vector<uint8_t> resize_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels, int out_w, int out_h,
                                const Filter& filter, const char* who) {
  GF_CHECK(in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0 && channels > 0, who,
           "sizes must be positive, got " << in_w << "x" << in_h << " -> " << out_w << "x" << out_h);
  GF_CHECK(hwc.size() == size_t(in_w) * in_h * channels, who, "pixel buffer of the wrong size");
  std::vector<uint8_t> cur = hwc;
  int w = in_w;
  if (out_w != in_w) {  // horizontal pass
    const Taps t = precompute(in_w, out_w, filter);
    std::vector<uint8_t> next(size_t(out_w) * in_h * channels);
#pragma omp parallel for if (int64_t(out_w) * in_h > 65536)
    for (int y = 0; y < in_h; ++y)
      for (int x = 0; x < out_w; ++x)
        for (int c = 0; c < channels; ++c) {
          int64_t ss = int64_t(1) << (kPrecisionBits - 1);
          for (int k = 0; k < t.count[size_t(x)]; ++k)
            ss += int64_t(cur[(size_t(y) * w + t.first[size_t(x)] + k) * channels + c]) *
                  t.weights[size_t(x) * t.stride + k];
          next[(size_t(y) * out_w + x) * channels + c] = clip8(ss);
        }
    cur.swap(next);
    w = out_w;
  }
  if (out_h != in_h) {  // vertical pass
    const Taps t = precompute(in_h, out_h, filter);
    std::vector<uint8_t> next(size_t(w) * out_h * channels);
#pragma omp parallel for if (int64_t(w) * out_h > 65536)
    for (int y = 0; y < out_h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < channels; ++c) {
          int64_t ss = int64_t(1) << (kPrecisionBits - 1);
          for (int k = 0; k < t.count[size_t(y)]; ++k)
            ss += int64_t(cur[(size_t(t.first[size_t(y)] + k) * w + x) * channels + c]) *
                  t.weights[size_t(y) * t.stride + k];
          next[(size_t(y) * w + x) * channels + c] = clip8(ss);
        }
    cur.swap(next);
  }
  return cur;
}

}  // namespace

std::vector<uint8_t> resize_bilinear_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                         int out_w, int out_h) {
  return resize_pil(hwc, in_w, in_h, channels, out_w, out_h, Filter{1.0, triangle}, "resize_bilinear_pil");
}

std::vector<uint8_t> resize_lanczos_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                        int out_w, int out_h) {
  return resize_pil(hwc, in_w, in_h, channels, out_w, out_h, Filter{3.0, lanczos}, "resize_lanczos_pil");
}

std::vector<uint8_t> resize_bicubic_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                        int out_w, int out_h) {
  return resize_pil(hwc, in_w, in_h, channels, out_w, out_h, Filter{2.0, bicubic}, "resize_bicubic_pil");
}

std::vector<uint8_t> resize_box_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels, int out_w,
                                    int out_h) {
  return resize_pil(hwc, in_w, in_h, channels, out_w, out_h, Filter{0.5, box}, "resize_box_pil");
}

std::vector<uint8_t> resize_nearest_pil(const std::vector<uint8_t>& hwc, int in_w, int in_h, int channels,
                                        int out_w, int out_h) {
  GF_CHECK(in_w > 0 && in_h > 0 && out_w > 0 && out_h > 0 && channels > 0, "resize_nearest_pil",
           "sizes must be positive, got " << in_w << "x" << in_h << " -> " << out_w << "x" << out_h);
  GF_CHECK(hwc.size() == size_t(in_w) * in_h * channels, "resize_nearest_pil", "pixel buffer of the wrong size");
  auto sources = [](int in, int out) {
    std::vector<int> at(static_cast<size_t>(out));
    const double step = double(in) / out;
    double pos = step * 0.5;
    for (int i = 0; i < out; ++i, pos += step) at[static_cast<size_t>(i)] = std::min(static_cast<int>(pos), in - 1);
    return at;
  };
  const std::vector<int> xs = sources(in_w, out_w), ys = sources(in_h, out_h);
  std::vector<uint8_t> out(size_t(out_w) * out_h * channels);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x)
      for (int c = 0; c < channels; ++c)
        out[(size_t(y) * out_w + x) * channels + c] = hwc[(size_t(ys[size_t(y)]) * in_w + xs[size_t(x)]) * channels + c];
  return out;
}

}  // namespace gf
