#include "metrics/ms_ssim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/error.h"

namespace gf::metrics {
namespace {

constexpr int kScales = 5;
constexpr double kWeights[kScales] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
constexpr int kFilterSize = 11;
constexpr double kFilterSigma = 1.5, kMaxVal = 255, kK1 = 0.01, kK2 = 0.03;

// The normalized 1-D Gaussian whose outer product is fspecial's window.
std::vector<double> gaussian_taps(int size, double sigma) {
  std::vector<double> g(static_cast<size_t>(size));
  const double offset = size % 2 == 0 ? 0.5 : 0.0;  // an even window is centred between pixels
  double sum = 0;
  for (int i = 0; i < size; ++i) {
    const double x = i - size / 2 + offset;
    g[size_t(i)] = std::exp(-(x * x) / (2 * sigma * sigma));
    sum += g[size_t(i)];
  }
  for (double& v : g) v /= sum;
  return g;
}

// 'valid' filtering of plane [h, w] by taps along both axes, in float64.
std::vector<double> filter_valid(const std::vector<float>& plane, int64_t h, int64_t w, const std::vector<double>& g) {
  const int64_t k = int64_t(g.size()), oh = h - k + 1, ow = w - k + 1;
  std::vector<double> rows(size_t(h * ow)), out(size_t(oh * ow));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += double(plane[size_t(y * w + x + i)]) * g[size_t(i)];
      rows[size_t(y * ow + x)] = s;
    }
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      double s = 0;
      for (int64_t i = 0; i < k; ++i) s += rows[size_t((y + i) * ow + x)] * g[size_t(i)];
      out[size_t(y * ow + x)] = s;
    }
  return out;
}

// The mean 2x2 block in float32, summed in the official order:
// (even row, even col) + (odd, even) + (even, odd) + (odd, odd), then x 0.25.
std::vector<float> downsample(const std::vector<float>& img, int64_t planes, int64_t side) {
  const int64_t half = side / 2;
  std::vector<float> out(size_t(planes * half * half));
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t y = 0; y < half; ++y)
      for (int64_t x = 0; x < half; ++x) {
        const float* r0 = img.data() + (p * side + 2 * y) * side + 2 * x;
        const float* r1 = r0 + side;
        out[size_t((p * half + y) * half + x)] = (((r0[0] + r1[0]) + r0[1]) + r1[1]) * 0.25f;
      }
  return out;
}

}  // namespace

double ms_ssim(const uint8_t* a, const uint8_t* b, int64_t channels, int64_t side) {
  GF_CHECK(channels > 0 && side >= 16 && (side & (side - 1)) == 0, "ms_ssim",
           "needs square images of a power-of-two side of at least 16, got " << side);
  const size_t n = size_t(channels * side * side);
  std::vector<float> x(a, a + n), y(b, b + n);
  const double c1 = (kK1 * kMaxVal) * (kK1 * kMaxVal), c2 = (kK2 * kMaxVal) * (kK2 * kMaxVal);
  double result = 1;
  for (int scale = 0; scale < kScales; ++scale) {
    const int size = int(std::min<int64_t>(kFilterSize, side));
    const std::vector<double> g = gaussian_taps(size, size * kFilterSigma / kFilterSize);
    double ssim_sum = 0, cs_sum = 0;
    int64_t count = 0;
    const size_t plane = size_t(side * side);
    std::vector<float> xx(plane), yy(plane), xy(plane), px(plane), py(plane);
    for (int64_t c = 0; c < channels; ++c) {
      for (size_t i = 0; i < plane; ++i) {
        px[i] = x[c * plane + i];
        py[i] = y[c * plane + i];
        xx[i] = px[i] * px[i];  // float32 products, as numpy's img1 * img1
        yy[i] = py[i] * py[i];
        xy[i] = px[i] * py[i];
      }
      const std::vector<double> mu1 = filter_valid(px, side, side, g), mu2 = filter_valid(py, side, side, g);
      const std::vector<double> s11 = filter_valid(xx, side, side, g), s22 = filter_valid(yy, side, side, g),
                                s12 = filter_valid(xy, side, side, g);
      for (size_t i = 0; i < mu1.size(); ++i) {
        const double m11 = mu1[i] * mu1[i], m22 = mu2[i] * mu2[i], m12 = mu1[i] * mu2[i];
        const double v1 = 2.0 * (s12[i] - m12) + c2, v2 = (s11[i] - m11) + (s22[i] - m22) + c2;
        ssim_sum += ((2.0 * m12 + c1) * v1) / ((m11 + m22 + c1) * v2);
        cs_sum += v1 / v2;
      }
      count += int64_t(mu1.size());
    }
    // np.clip(x, 0, inf): a NaN stays NaN (std::max(0.0, NaN) would give 0).
    const auto clipped = [](double x) { return x < 0 ? 0.0 : x; };
    const double ssim = clipped(ssim_sum / double(count)), cs = clipped(cs_sum / double(count));
    result *= std::pow(scale + 1 < kScales ? cs : ssim, kWeights[scale]);
    if (scale + 1 < kScales) {
      x = downsample(x, channels, side);
      y = downsample(y, channels, side);
      side /= 2;
    }
  }
  return result;
}

}  // namespace gf::metrics
