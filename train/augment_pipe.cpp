#include "train/augment_pipe.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <sstream>

#include "engine/error.h"
#include "engine/ops/grid_sample.h"
#include "engine/ops/upfirdn2d.h"
#include "train/draw_log.h"

namespace gf {

namespace {

const char* kWho = "AugmentPipe";

// Low-pass decomposition filters of the Daubechies symlets (PyWavelets' taps).
const std::vector<double> kSym2 = {-0.12940952255092145, 0.22414386804185735, 0.836516303737469,
                                   0.48296291314469025};
const std::vector<double> kSym6 = {0.015404109327027373, 0.0034907120842174702, -0.11799011114819057,
                                   -0.048311742585633,   0.4910559419267466,    0.787641141030194,
                                   0.3379294217276218,   -0.07263752278646252,  -0.021060292512300564,
                                   0.04472490177066578,  0.0017677118642428036, -0.007800708325034148};
constexpr int kBands = 4;
constexpr double kPi = 3.14159265358979323846;

// ---- float32 homogeneous matrices, multiplied as torch's small batched
// matmul does (a float accumulator from 0, k in order) ----

using M3 = std::array<float, 9>;
using M4 = std::array<float, 16>;

template <size_t K, size_t S>
std::array<float, S> matmul_f32(const std::array<float, S>& a, const std::array<float, S>& b) {
  std::array<float, S> r{};
  for (size_t i = 0; i < K; ++i)
    for (size_t j = 0; j < K; ++j) {
      float acc = 0.f;
      for (size_t k = 0; k < K; ++k) acc += a[i * K + k] * b[k * K + j];
      r[i * K + j] = acc;
    }
  return r;
}
M3 operator*(const M3& a, const M3& b) { return matmul_f32<3>(a, b); }
M4 operator*(const M4& a, const M4& b) { return matmul_f32<4>(a, b); }

M3 eye3() { return {1, 0, 0, 0, 1, 0, 0, 0, 1}; }
M4 eye4() { return {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}; }
M3 translate2d(float tx, float ty) { return {1, 0, tx, 0, 1, ty, 0, 0, 1}; }
M3 scale2d(float sx, float sy) { return {sx, 0, 0, 0, sy, 0, 0, 0, 1}; }
M3 rotate2d(float a) { return {std::cos(a), std::sin(-a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1}; }
M4 translate3d(float t) { return {1, 0, 0, t, 0, 1, 0, t, 0, 0, 1, t, 0, 0, 0, 1}; }
M4 scale3d(float s) { return {s, 0, 0, 0, 0, s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1}; }

// Rotation by a about the unit axis (v, v, v) (Rodrigues), term by term as the
// official rotate3d rounds it.
M4 rotate3d_luma(float v, float a) {
  const float s = std::sin(a), c = std::cos(a), cc = 1.f - c;
  const float d = v * v * cc + c, m = v * v * cc - v * s, q = v * v * cc + v * s;
  return {d, m, q, 0, q, d, m, 0, m, q, d, 0, 0, 0, 0, 1};
}

float f32(double v) { return static_cast<float>(v); }

// The band filters of the image-space filter: band i is a band-pass of the
// sym2 wavelet, band 0 the lowest (official Hz_fbank, built in double).
std::vector<float> filter_bank() {
  const size_t n = kSym2.size();
  std::vector<double> lo2(2 * n - 1, 0.0), hi2(2 * n - 1, 0.0);
  for (size_t a = 0; a < n; ++a)
    for (size_t b = 0; b < n; ++b) {
      // H(z) H(1/z) / 2 and H(-z) H(-1/z) / 2: the reversed filter is tap n - 1 - b.
      const double sign = ((a + n - 1 - b) % 2) ? -1.0 : 1.0;
      lo2[a + b] += kSym2[a] * kSym2[n - 1 - b] / 2;
      hi2[a + b] += sign * kSym2[a] * kSym2[n - 1 - b] / 2;
    }
  std::vector<std::vector<double>> bank(kBands, std::vector<double>(1, 0.0));
  bank[0][0] = 1;
  for (int i = 1; i < kBands; ++i) {
    const size_t len = 2 * bank[0].size() - 1 + lo2.size() - 1;
    for (auto& row : bank) {
      // One octave down (zero insertion), then the low-pass.
      std::vector<double> out(len, 0.0);
      for (size_t k = 0; k < row.size(); ++k)
        for (size_t t = 0; t < lo2.size(); ++t) out[2 * k + t] += row[k] * lo2[t];
      row = std::move(out);
    }
    const size_t start = (len - hi2.size()) / 2;
    for (size_t t = 0; t < hi2.size(); ++t) bank[size_t(i)][start + t] += hi2[t];
  }
  std::vector<float> flat;
  for (const auto& row : bank)
    for (double v : row) flat.push_back(static_cast<float>(v));
  return flat;
}

// setup_filter of the official code: float32 taps divided by their float32 sum.
std::vector<float> geom_filter() {
  std::vector<float> f;
  float sum = 0.f;
  for (double t : kSym6) f.push_back(static_cast<float>(t)), sum += f.back();
  for (float& t : f) t /= sum;
  return f;
}

Tensor host_tensor(const std::vector<float>& v, const Shape& shape, DType dtype, Device device) {
  return Tensor::from_vector(std::vector<double>(v.begin(), v.end()), shape, dtype, device);
}

// The pipe's random numbers: float32 on the CPU, each through the draw log.
struct Draws {
  Generator& rng;
  DrawLog* log;
  const std::string& prefix;

  std::vector<float> take(const char* name, const Shape& shape, bool normal) {
    const std::string full = prefix + name;
    // A replayed uniform outside [0, 1) (a damaged or edited log) is
    // refused: it picked no transform the pipe can draw (xflip_i 7: a scale by -1/13).
    const Tensor t = normal ? logged_draw(log, full.c_str(), shape, DType::f32, Device::cpu(),
                                          [&] { return randn(shape, rng, DType::f32, Device::cpu()); })
                            : logged_uniform(log, full.c_str(), shape, DType::f32, Device::cpu(), rng);
    const std::vector<double> v = t.to_vector();
    return std::vector<float>(v.begin(), v.end());
  }
  std::vector<float> uniform(const char* name, const Shape& shape) { return take(name, shape, false); }
  std::vector<float> normal(const char* name, const Shape& shape) { return take(name, shape, true); }
};

}  // namespace

Tensor reflect_pad2d(const Tensor& x, int64_t left, int64_t right, int64_t top, int64_t bottom) {
  GF_CHECK(x.dim() == 4, "reflect_pad2d", "needs [N, C, H, W], got " << shape_str(x.shape()));
  const auto pad_dim = [](const Tensor& t, int64_t dim, int64_t before, int64_t after) {
    const int64_t n = t.size(dim);
    GF_CHECK(before >= 0 && after >= 0 && before < n && after < n, "reflect_pad2d",
             "padding (" << before << ", " << after << ") must be >= 0 and below the size " << n << " of dim "
                         << dim);
    if (before == 0 && after == 0) return t;
    std::vector<Tensor> parts;
    if (before > 0) parts.push_back(flip(slice(t, dim, 1, before + 1), {dim}));
    parts.push_back(t);
    if (after > 0) parts.push_back(flip(slice(t, dim, n - 1 - after, n - 1), {dim}));
    return concat(parts, dim);
  };
  return pad_dim(pad_dim(x, 3, left, right), 2, top, bottom);
}

const std::vector<std::string>& augpipe_names() {
  static const std::vector<std::string> names = {"blit", "geom",  "color", "filter", "noise", "cutout",
                                                 "bg",   "bgc",   "bgcf",  "bgcfn",  "bgcfnc"};
  return names;
}

AugmentSpec augpipe_spec(const std::string& name) {
  // Each name is a string of families: b(lit), g(eom), c(olor), f(ilter), n(oise), c(utout).
  const auto blit = [](AugmentSpec& s) { s.xflip = s.rotate90 = s.xint = 1; };
  const auto geom = [](AugmentSpec& s) { s.scale = s.rotate = s.aniso = s.xfrac = 1; };
  const auto color = [](AugmentSpec& s) { s.brightness = s.contrast = s.lumaflip = s.hue = s.saturation = 1; };
  AugmentSpec s;
  if (name == "blit") {
    blit(s);
  } else if (name == "geom") {
    geom(s);
  } else if (name == "color") {
    color(s);
  } else if (name == "filter") {
    s.imgfilter = 1;
  } else if (name == "noise") {
    s.noise = 1;
  } else if (name == "cutout") {
    s.cutout = 1;
  } else if (name == "bg" || name == "bgc" || name == "bgcf" || name == "bgcfn" || name == "bgcfnc") {
    blit(s), geom(s);
    if (name.size() > 2) color(s);
    if (name.size() > 3) s.imgfilter = 1;
    if (name.size() > 4) s.noise = 1;
    if (name.size() > 5) s.cutout = 1;
  } else {
    std::ostringstream valid;
    for (const std::string& n : augpipe_names()) valid << (n == augpipe_names().front() ? "" : ", ") << n;
    GF_CHECK(false, "augpipe", "unknown pipe '" << name << "'; valid: " << valid.str());
  }
  return s;
}

AugmentPipe::AugmentPipe(const AugmentSpec& spec)
    : spec_(spec), geom_taps_(geom_filter()), fbank_(filter_bank()) {
  GF_CHECK(spec.imgfilter_bands.size() == static_cast<size_t>(kBands), kWho,
           "imgfilter_bands needs " << kBands << " entries, got " << spec.imgfilter_bands.size());
}

Tensor AugmentPipe::operator()(const Tensor& images, Generator& rng, DrawLog* draws, const std::string& prefix) const {
  GF_CHECK(images.defined() && images.dim() == 4, kWho,
           "images must be [N, C, H, W], got " << (images.defined() ? shape_str(images.shape()) : "undefined"));
  const int64_t N = images.size(0), C = images.size(1), H = images.size(2), W = images.size(3);
  GF_CHECK(C == 1 || C == 3, kWho, "images must have 1 or 3 channels (L or RGB), got " << C);
  GF_CHECK(N >= 1 && H >= 1 && W >= 1, kWho, "empty images " << shape_str(images.shape()));
  GF_CHECK(images.dtype() == DType::f32 || images.dtype() == DType::f64, kWho,
           "images must be float32 or float64, got " << images.desc());
  const AugmentSpec& s = spec_;
  const int64_t fbank_taps = static_cast<int64_t>(fbank_.size()) / kBands;
  GF_CHECK(s.imgfilter <= 0 || (H > fbank_taps / 2 && W > fbank_taps / 2), kWho,
           "imgfilter pads by reflection by " << fbank_taps / 2 << " pixels, so images need at least "
                                              << fbank_taps / 2 + 1 << " rows and columns, got "
                                              << shape_str(images.shape()));
  const DType dt = images.dtype();
  const Device dev = images.device();
  const size_t n_img = static_cast<size_t>(N);
  const float fw = static_cast<float>(W), fh = static_cast<float>(H);
  const float pi = f32(kPi);
  Draws d{rng, draws, prefix};
  // Every parameter the pixel work needs goes to the device in one copy (a
  // host-to-device copy waits for the device): staged here as float32 while
  // the draws are taken in the official order, then uploaded once below.
  std::vector<float> staged;
  const auto stage = [&staged](const std::vector<float>& v) {
    const size_t at = staged.size();
    staged.insert(staged.end(), v.begin(), v.end());
    return at;
  };

  // ---- geometric: G_inv @ pixel_out -> pixel_in, one per image ----
  std::vector<M3> G(n_img, eye3());
  bool geometric = false;
  // Right-multiplies each G by make(n) when the option is on (after its draws).
  const auto then = [&](auto make) {
    for (size_t n = 0; n < n_img; ++n) G[n] = G[n] * make(n);
    geometric = true;
  };
  if (s.xflip > 0) {
    const auto u = d.uniform("xflip_i", {N}), q = d.uniform("xflip_p", {N});
    const float thr = f32(s.xflip) * p;
    then([&](size_t n) {
      const float i = q[n] < thr ? std::floor(u[n] * 2.f) : 0.f;
      return scale2d(1.f / (1.f - 2.f * i), 1.f);
    });
  }
  if (s.rotate90 > 0) {
    const auto u = d.uniform("rotate90_i", {N}), q = d.uniform("rotate90_p", {N});
    const float thr = f32(s.rotate90) * p;
    then([&](size_t n) {
      const float i = q[n] < thr ? std::floor(u[n] * 4.f) : 0.f;
      return rotate2d(-(f32(-kPi / 2) * i));  // rotate2d_inv(-pi/2 * i)
    });
  }
  if (s.xint > 0) {
    const auto u = d.uniform("xint_t", {N, 2}), q = d.uniform("xint_p", {N, 1});
    const float thr = f32(s.xint) * p;
    then([&](size_t n) {
      const bool on = q[n] < thr;
      const float tx = on ? (u[2 * n] * 2.f - 1.f) * f32(s.xint_max) : 0.f;
      const float ty = on ? (u[2 * n + 1] * 2.f - 1.f) * f32(s.xint_max) : 0.f;
      return translate2d(-std::nearbyint(tx * fw), -std::nearbyint(ty * fh));  // torch.round: half to even
    });
  }
  if (s.scale > 0) {
    const auto z = d.normal("scale_s", {N}), q = d.uniform("scale_p", {N});
    const float thr = f32(s.scale) * p;
    then([&](size_t n) {
      const float v = q[n] < thr ? std::exp2(z[n] * f32(s.scale_std)) : 1.f;
      return scale2d(1.f / v, 1.f / v);
    });
  }
  // Pre and post rotation each with p_rot, so that P(pre or post) = rotate * p.
  const float p_rot = 1.f - std::sqrt(std::clamp(1.f - f32(s.rotate) * p, 0.f, 1.f));
  const auto rotation = [&](const char* theta_name, const char* p_name) {
    const auto u = d.uniform(theta_name, {N}), q = d.uniform(p_name, {N});
    then([&](size_t n) {
      const float theta = q[n] < p_rot ? (u[n] * 2.f - 1.f) * pi * f32(s.rotate_max) : 0.f;
      return rotate2d(theta);  // rotate2d_inv(-theta)
    });
  };
  if (s.rotate > 0) rotation("rotate_pre_theta", "rotate_pre_p");
  if (s.aniso > 0) {
    const auto z = d.normal("aniso_s", {N}), q = d.uniform("aniso_p", {N});
    const float thr = f32(s.aniso) * p;
    then([&](size_t n) {
      const float v = q[n] < thr ? std::exp2(z[n] * f32(s.aniso_std)) : 1.f;
      const float inv = 1.f / v;
      return scale2d(inv, 1.f / inv);  // scale2d_inv(v, 1 / v)
    });
  }
  if (s.rotate > 0) rotation("rotate_post_theta", "rotate_post_p");
  if (s.xfrac > 0) {
    const auto z = d.normal("xfrac_t", {N, 2}), q = d.uniform("xfrac_p", {N, 1});
    const float thr = f32(s.xfrac) * p;
    then([&](size_t n) {
      const bool on = q[n] < thr;
      const float tx = on ? z[2 * n] * f32(s.xfrac_std) : 0.f, ty = on ? z[2 * n + 1] * f32(s.xfrac_std) : 0.f;
      return translate2d(-(tx * fw), -(ty * fh));
    });
  }

  const int64_t k_geom = static_cast<int64_t>(geom_taps_.size()), hz_pad = k_geom / 4;
  const int64_t out_h = (H + hz_pad * 2) * 2, out_w = (W + hz_pad * 2) * 2;
  std::array<int64_t, 4> pad{};  // left, right, top, bottom
  size_t taps_at = 0, theta_at = 0;
  if (geometric) {
    // Padding: as far as the transformed corners reach, plus the filter's support.
    const float cx = f32((static_cast<double>(W) - 1) / 2), cy = f32((static_cast<double>(H) - 1) / 2);
    const float corners[4][2] = {{-cx, -cy}, {cx, -cy}, {cx, cy}, {-cx, cy}};
    std::array<float, 4> reach{-INFINITY, -INFINITY, -INFINITY, -INFINITY};  // -x, -y, x, y
    for (const M3& g : G)
      for (const auto& c : corners)
        for (int r = 0; r < 2; ++r) {
          float acc = 0.f;
          acc += g[size_t(r) * 3] * c[0];
          acc += g[size_t(r) * 3 + 1] * c[1];
          acc += g[size_t(r) * 3 + 2] * 1.f;
          reach[size_t(r)] = std::max(reach[size_t(r)], -acc);
          reach[size_t(r) + 2] = std::max(reach[size_t(r) + 2], acc);
        }
    const float extra[2] = {f32(static_cast<double>(hz_pad * 2) - (static_cast<double>(W) - 1) / 2),
                            f32(static_cast<double>(hz_pad * 2) - (static_cast<double>(H) - 1) / 2)};
    const float limit[2] = {f32(W - 1), f32(H - 1)};
    int64_t m[4];  // x0, y0, x1, y1
    for (size_t i = 0; i < 4; ++i) {
      const float v = std::min(std::max(reach[i] + extra[i % 2], 0.f), limit[i % 2]);
      m[i] = static_cast<int64_t>(std::ceil(v));
    }
    pad = {m[0], m[2], m[1], m[3]};
    const M3 origin = translate2d(static_cast<float>(m[0] - m[2]) / 2.f, static_cast<float>(m[1] - m[3]) / 2.f);
    taps_at = stage(geom_taps_);
    // The 2x image of the padded one (upsample2d keeps in * 2).
    const int64_t up_h = (H + m[1] + m[3]) * 2, up_w = (W + m[0] + m[2]) * 2;
    // Pixel coordinates of the 2x image, then affine_grid's [-1, 1] coordinates.
    const M3 up = scale2d(2, 2), up_inv = scale2d(0.5f, 0.5f);
    const M3 shift = translate2d(-0.5f, -0.5f), shift_inv = translate2d(0.5f, 0.5f);
    const M3 to_in = scale2d(f32(2.0 / static_cast<double>(up_w)), f32(2.0 / static_cast<double>(up_h)));
    const M3 from_out =
        scale2d(f32(1.0 / (2.0 / static_cast<double>(out_w))), f32(1.0 / (2.0 / static_cast<double>(out_h))));
    std::vector<float> theta;
    theta.reserve(n_img * 6);
    for (const M3& g0 : G) {
      M3 g = origin * g0;
      g = up * g * up_inv;
      g = shift * g * shift_inv;
      g = to_in * g * from_out;
      theta.insert(theta.end(), g.begin(), g.begin() + 6);
    }
    theta_at = stage(theta);
  }

  // ---- color: C @ [r, g, b, 1], one per image ----
  std::vector<M4> Cm(n_img, eye4());
  bool color = false;
  const auto before = [&](auto make) {  // left-multiplies each C by make(n)
    for (size_t n = 0; n < n_img; ++n) Cm[n] = make(n) * Cm[n];
    color = true;
  };
  if (s.brightness > 0) {
    const auto z = d.normal("brightness_b", {N}), q = d.uniform("brightness_p", {N});
    const float thr = f32(s.brightness) * p;
    before([&](size_t n) { return translate3d(q[n] < thr ? z[n] * f32(s.brightness_std) : 0.f); });
  }
  if (s.contrast > 0) {
    const auto z = d.normal("contrast_c", {N}), q = d.uniform("contrast_p", {N});
    const float thr = f32(s.contrast) * p;
    before([&](size_t n) { return scale3d(q[n] < thr ? std::exp2(z[n] * f32(s.contrast_std)) : 1.f); });
  }
  const float v = f32(1 / std::sqrt(3.0));  // the luma axis (v, v, v, 0)
  const float vv = v * v;
  const auto luma_outer = [&](size_t e) { return (e / 4 < 3 && e % 4 < 3) ? vv : 0.f; };
  const M4 I4 = eye4();
  if (s.lumaflip > 0) {
    const auto u = d.uniform("lumaflip_i", {N, 1, 1}), q = d.uniform("lumaflip_p", {N, 1, 1});
    const float thr = f32(s.lumaflip) * p;
    before([&](size_t n) {
      const float i = q[n] < thr ? std::floor(u[n] * 2.f) : 0.f;
      M4 r;  // Householder reflection I - 2 v v^T, when i = 1
      for (size_t e = 0; e < 16; ++e) r[e] = I4[e] - 2.f * luma_outer(e) * i;
      return r;
    });
  }
  if (s.hue > 0 && C > 1) {
    const auto u = d.uniform("hue_theta", {N}), q = d.uniform("hue_p", {N});
    const float thr = f32(s.hue) * p;
    before([&](size_t n) {
      return rotate3d_luma(v, q[n] < thr ? (u[n] * 2.f - 1.f) * pi * f32(s.hue_max) : 0.f);
    });
  }
  if (s.saturation > 0 && C > 1) {
    const auto z = d.normal("saturation_s", {N, 1, 1}), q = d.uniform("saturation_p", {N, 1, 1});
    const float thr = f32(s.saturation) * p;
    before([&](size_t n) {
      const float k = q[n] < thr ? std::exp2(z[n] * f32(s.saturation_std)) : 1.f;
      M4 r;  // keeps the luma component, scales the rest
      for (size_t e = 0; e < 16; ++e) r[e] = luma_outer(e) + (I4[e] - luma_outer(e)) * k;
      return r;
    });
  }
  size_t color_a_at = 0, color_b_at = 0;
  if (color) {
    std::vector<float> a, b;  // RGB: [N, 3, 3] and [N, 3, 1]; L: the gain and offset [N, 1, 1]
    for (const M4& c : Cm) {
      if (C == 3) {
        for (size_t r = 0; r < 3; ++r) {
          a.insert(a.end(), c.begin() + long(r) * 4, c.begin() + long(r) * 4 + 3);
          b.push_back(c[r * 4 + 3]);
        }
      } else {  // one channel: the mean of C's three rows, its color part summed
        float row[4];
        for (size_t j = 0; j < 4; ++j) row[j] = (c[j] + c[4 + j] + c[8 + j]) / 3.f;
        a.push_back(row[0] + row[1] + row[2]);
        b.push_back(row[3]);
      }
    }
    color_a_at = stage(a);
    color_b_at = stage(b);
  }

  // ---- image-space filtering ----
  size_t fbank_at = 0;
  if (s.imgfilter > 0) {
    const float expected_power[kBands] = {f32(10.0 / 13), f32(1.0 / 13), f32(1.0 / 13), f32(1.0 / 13)};  // 1/f
    std::vector<std::array<float, kBands>> g(n_img, {1.f, 1.f, 1.f, 1.f});
    for (int i = 0; i < kBands; ++i) {
      const std::string t_name = "imgfilter" + std::to_string(i) + "_t", p_name = "imgfilter" + std::to_string(i) + "_p";
      const auto z = d.normal(t_name.c_str(), {N}), q = d.uniform(p_name.c_str(), {N});
      const float thr = f32(s.imgfilter) * p * f32(s.imgfilter_bands[size_t(i)]);
      for (size_t n = 0; n < n_img; ++n) {
        std::array<float, kBands> t{1.f, 1.f, 1.f, 1.f};
        t[size_t(i)] = q[n] < thr ? std::exp2(z[n] * f32(s.imgfilter_std)) : 1.f;
        float power = 0.f;  // keeps the expected power of the image
        for (size_t b = 0; b < kBands; ++b) power += expected_power[b] * (t[b] * t[b]);
        const float norm = std::sqrt(power);
        for (size_t b = 0; b < kBands; ++b) g[n][b] *= t[b] / norm;
      }
    }
    const int64_t k = fbank_taps;
    std::vector<float> taps;  // [N * C, k]: each image's filter, repeated per channel
    for (size_t n = 0; n < n_img; ++n) {
      std::vector<float> row(size_t(k), 0.f);
      for (size_t t = 0; t < size_t(k); ++t) {
        float acc = 0.f;
        for (size_t b = 0; b < kBands; ++b) acc += g[n][b] * fbank_[b * size_t(k) + t];
        row[t] = acc;
      }
      for (int64_t c = 0; c < C; ++c) taps.insert(taps.end(), row.begin(), row.end());
    }
    fbank_at = stage(taps);
  }

  // ---- image-space corruptions ----
  Tensor noise;  // drawn on the device, in the official order of the draws
  size_t sigma_at = 0;
  if (s.noise > 0) {
    const auto z = d.normal("noise_sigma", {N, 1, 1, 1}), q = d.uniform("noise_p", {N, 1, 1, 1});
    const float thr = f32(s.noise) * p;
    std::vector<float> sigma(n_img);
    for (size_t n = 0; n < n_img; ++n) sigma[n] = q[n] < thr ? std::abs(z[n]) * f32(s.noise_std) : 0.f;
    const Shape shape{N, C, H, W};
    const std::string name = prefix + "noise";
    noise = logged_draw(draws, name.c_str(), shape, DType::f32, dev, [&] { return randn(shape, rng, DType::f32, dev); });
    sigma_at = stage(sigma);
  }
  size_t half_at = 0, cx_at = 0, cy_at = 0, xs_at = 0, ys_at = 0;
  if (s.cutout > 0) {
    const auto q = d.uniform("cutout_p", {N, 1, 1, 1, 1}), center = d.uniform("cutout_center", {N, 2, 1, 1, 1});
    const float thr = f32(s.cutout) * p;
    std::vector<float> half(n_img), cx(n_img), cy(n_img), xs(static_cast<size_t>(W)), ys(static_cast<size_t>(H));
    for (size_t n = 0; n < n_img; ++n) {
      half[n] = (q[n] < thr ? f32(s.cutout_size) : 0.f) / 2.f;
      cx[n] = center[2 * n], cy[n] = center[2 * n + 1];
    }
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = (static_cast<float>(i) + 0.5f) / fw;  // pixel centres in [0, 1]
    for (size_t i = 0; i < ys.size(); ++i) ys[i] = (static_cast<float>(i) + 0.5f) / fh;
    half_at = stage(half), cx_at = stage(cx), cy_at = stage(cy), xs_at = stage(xs), ys_at = stage(ys);
  }

  // ---- the pixel work, in the official order, on the parameters uploaded once ----
  const Tensor params = host_tensor(staged, {static_cast<int64_t>(staged.size())}, DType::f32, dev);
  const auto param = [&params](size_t at, const Shape& shape, DType t) {
    int64_t n = 1;
    for (int64_t e : shape) n *= e;
    return slice(params, 0, static_cast<int64_t>(at), static_cast<int64_t>(at) + n).reshape(shape).to(t);
  };
  Tensor x = images;
  if (geometric) {
    const Tensor taps = param(taps_at, {k_geom}, dt);
    x = reflect_pad2d(x, pad[0], pad[1], pad[2], pad[3]);
    x = upsample2d(x, taps, 2);
    x = affine_grid_sample(x, param(theta_at, {N, 2, 3}, dt), out_h, out_w);
    x = downsample2d(x, taps, 2, static_cast<int>(-hz_pad * 2), /*flip_filter=*/true);
  }
  if (color) {
    const Tensor flat = x.reshape({N, C, H * W});
    x = C == 3 ? matmul(param(color_a_at, {N, 3, 3}, dt), flat) + param(color_b_at, {N, 3, 1}, dt)
               : flat * param(color_a_at, {N, 1, 1}, dt) + param(color_b_at, {N, 1, 1}, dt);
    x = x.reshape({N, C, H, W});
  }
  if (s.imgfilter > 0) {
    Conv2dParams groups;
    groups.groups = static_cast<int>(N * C);
    const int64_t k = fbank_taps, r = k / 2;
    Tensor y = reflect_pad2d(x.reshape({1, N * C, H, W}), r, r, r, r);
    y = conv2d(y, param(fbank_at, {N * C, 1, 1, k}, dt), groups);  // along x
    y = conv2d(y, param(fbank_at, {N * C, 1, k, 1}, dt), groups);  // along y
    x = y.reshape({N, C, H, W});
  }
  // Noise scaled in float32, as the official noise, then in the images' dtype.
  if (s.noise > 0) x = x + (noise * param(sigma_at, {N, 1, 1, 1}, DType::f32)).to(dt);
  if (s.cutout > 0) {
    // Formed on the device in float32 from a few values per image (no [N, H, W] upload):
    // a pixel is cut when it lies within half the size of the centre along both axes.
    const Shape per_image{N, 1, 1, 1};
    const Tensor h = param(half_at, per_image, DType::f32);
    const Tensor inside_x = gt(h, abs(param(xs_at, {1, 1, 1, W}, DType::f32) - param(cx_at, per_image, DType::f32)));
    const Tensor inside_y = gt(h, abs(param(ys_at, {1, 1, H, 1}, DType::f32) - param(cy_at, per_image, DType::f32)));
    x = x * (1.0 - inside_x * inside_y).to(dt);
  }
  return x;
}

}  // namespace gf
