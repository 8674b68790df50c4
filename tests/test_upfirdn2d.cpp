// upfirdn2d and its helpers: values against a literal zero-insert / pad /
// convolve / decimate loop, golden values from the official reference in
// PyTorch, first- and second-order gradients, argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/ops/upfirdn2d.h"
#include "kernels/upfirdn2d.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::gradcheck;
using gf::test::gradgradcheck;
using gf::test::random_tensor;

namespace {

// The definition, step by step: build the zero-inserted, padded (or cropped)
// image, convolve it with the (flipped unless flip_filter) filter, decimate.
std::vector<double> naive_upfirdn2d(const Tensor& x, const Tensor& f, const UpFirDn2dParams& p) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  std::vector<double> fv = f.to_vector();
  int64_t fh = f.size(0), fw = f.dim() == 2 ? f.size(1) : f.size(0);
  if (f.dim() == 1) {  // separable: outer product
    std::vector<double> o(size_t(fh * fw));
    for (int64_t i = 0; i < fh; ++i)
      for (int64_t j = 0; j < fw; ++j) o[size_t(i * fw + j)] = fv[size_t(i)] * fv[size_t(j)];
    fv = o;
  }
  const int64_t UH = H * p.up_y, UW = W * p.up_x;
  const int64_t PH = UH + p.pad_y0 + p.pad_y1, PW = UW + p.pad_x0 + p.pad_x1;
  const int64_t CH = PH - fh + 1, CW = PW - fw + 1;  // full convolution output
  const int64_t OH = (CH + p.down_y - 1) / p.down_y, OW = (CW + p.down_x - 1) / p.down_x;
  const std::vector<double> xv = x.to_vector();
  std::vector<double> out;
  for (int64_t nc = 0; nc < N * C; ++nc) {
    std::vector<double> padded(size_t(PH * PW), 0.0);
    for (int64_t i = 0; i < PH; ++i)
      for (int64_t j = 0; j < PW; ++j) {
        const int64_t u = i - p.pad_y0, v = j - p.pad_x0;
        if (u >= 0 && u < UH && v >= 0 && v < UW && u % p.up_y == 0 && v % p.up_x == 0)
          padded[size_t(i * PW + j)] = xv[size_t(nc * H * W + (u / p.up_y) * W + v / p.up_x)];
      }
    for (int64_t oy = 0; oy < OH; ++oy)
      for (int64_t ox = 0; ox < OW; ++ox) {
        const int64_t i0 = oy * p.down_y, j0 = ox * p.down_x;
        double acc = 0;
        for (int64_t a = 0; a < fh; ++a)
          for (int64_t b = 0; b < fw; ++b) {
            // True convolution: tap (a, b) of the window meets f[fh-1-a, fw-1-b].
            const int64_t fa = p.flip_filter ? a : fh - 1 - a, fb = p.flip_filter ? b : fw - 1 - b;
            acc += padded[size_t((i0 + a) * PW + j0 + b)] * fv[size_t(fa * fw + fb)];
          }
        out.push_back(acc * p.gain);
      }
  }
  return out;
}

UpFirDn2dParams params(int upx, int upy, int downx, int downy, int px0, int px1, int py0, int py1, bool flip = false,
                       double gain = 1.0) {
  UpFirDn2dParams p;
  p.up_x = upx, p.up_y = upy, p.down_x = downx, p.down_y = downy;
  p.pad_x0 = px0, p.pad_x1 = px1, p.pad_y0 = py0, p.pad_y1 = py1;
  p.flip_filter = flip, p.gain = gain;
  return p;
}

struct Case {
  Shape x, f;
  UpFirDn2dParams p;
};

const std::vector<Case> kCases = {
    {{2, 3, 5, 6}, {4, 4}, params(2, 2, 1, 1, 2, 1, 2, 1, false, 4.0)},
    {{2, 3, 8, 7}, {3, 2}, params(1, 1, 2, 2, 1, -1, 0, 2)},
    {{1, 2, 6, 5}, {3, 3}, params(3, 3, 2, 2, -1, 2, 1, 0, true, 1.5)},
    {{1, 2, 7, 4}, {2, 3}, params(2, 1, 1, 2, 1, 1, 0, 1)},
    {{2, 2, 5, 5}, {3}, params(1, 1, 1, 1, 1, 1, 1, 1, false, 2.0)},
    {{1, 1, 9, 9}, {4}, params(1, 1, 2, 2, 1, 1, 1, 1, true)},
    {{1, 2, 4, 3}, {1, 1}, params(2, 3, 1, 1, -2, 0, 0, -3)},
    // Rows wide enough for the CPU kernel's SIMD interior (no upsampling along x).
    {{1, 2, 5, 40}, {4, 4}, params(1, 1, 1, 1, 2, 1, 1, 2)},
    {{1, 1, 6, 37}, {3}, params(1, 1, 2, 2, 1, 1, 1, 1, false, 1.5)},
    {{2, 1, 3, 30}, {2, 4}, params(1, 2, 1, 1, -1, 3, 1, 0, true)},
    // Tall and wide enough for blocks of several rows by 8 columns in both phases of up = 2.
    {{1, 2, 9, 12}, {4, 4}, params(2, 2, 1, 1, 2, 1, 2, 1, true, 4.0)},
};

}  // namespace

TEST_CASE("upfirdn2d matches zero insertion, padding, convolution and decimation", "[upfirdn2d]") {
  uint64_t seed = 1;
  for (const Case& c : kCases) {
    for (bool flip : {false, true}) {
      UpFirDn2dParams p = c.p;
      p.flip_filter = flip;
      const Tensor x = random_tensor(c.x, seed++), f = random_tensor(c.f, seed++);
      INFO("x " << shape_str(c.x) << " f " << shape_str(c.f) << " up " << p.up_x << "x" << p.up_y << " down "
                << p.down_x << "x" << p.down_y << " flip " << flip);
      const std::vector<double> want = naive_upfirdn2d(x, f, p);
      for (DType t : {DType::f64, DType::f32}) {
        const Tensor y = upfirdn2d(x.to(t), f.to(t), p);
        REQUIRE(y.numel() == static_cast<int64_t>(want.size()));
        const double tol = t == DType::f64 ? 1e-12 : 1e-5;
        const Check ck = allclose(y.to(DType::f64), Tensor::from_vector(want, y.shape(), DType::f64), tol, tol);
        INFO(ck.message);
        CHECK(ck.ok);
      }
    }
  }
}

TEST_CASE("the CPU kernel sums the same terms in the same order as upfirdn2d_point (the CUDA definition)", "[upfirdn2d]") {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    for (bool flip : {false, true}) {
      const Tensor x = random_tensor(c.x, seed++, DType::f32), f = random_tensor(c.f, seed++, DType::f32);
      const Tensor f2 = c.f.size() == 1 ? mul(f.reshape({c.f[0], 1}), f.reshape({1, c.f[0]})) : f;
      UpFirDn2dDesc d;
      d.planes = c.x[0] * c.x[1];
      d.in_h = c.x[2], d.in_w = c.x[3];
      d.up_x = c.p.up_x, d.up_y = c.p.up_y, d.down_x = c.p.down_x, d.down_y = c.p.down_y;
      d.pad_x0 = c.p.pad_x0, d.pad_y0 = c.p.pad_y0;
      d.f_h = static_cast<int>(f2.size(0)), d.f_w = static_cast<int>(f2.size(1));
      d.flip = flip;
      d.out_h = (d.in_h * d.up_y + c.p.pad_y0 + c.p.pad_y1 - d.f_h + d.down_y) / d.down_y;
      d.out_w = (d.in_w * d.up_x + c.p.pad_x0 + c.p.pad_x1 - d.f_w + d.down_x) / d.down_x;
      std::vector<float> fast(static_cast<size_t>(d.planes * d.out_h * d.out_w));
      cpu::upfirdn2d<float>(x.data<float>(), f2.data<float>(), fast.data(), d, 1.5);
      INFO("x " << shape_str(c.x) << " flip " << flip);
      size_t i = 0, same = 0;
      for (int64_t p = 0; p < d.planes; ++p)
        for (int oy = 0; oy < d.out_h; ++oy)
          for (int ox = 0; ox < d.out_w; ++ox, ++i)
            same += fast[i] == 1.5f * upfirdn2d_point(x.data<float>(), f2.data<float>(), d, p, oy, ox);
      CHECK(same == fast.size());
    }
  }
}

TEST_CASE("the CPU kernel matches upfirdn2d_point bit for bit on random configurations", "[upfirdn2d]") {
  // Every block shape of the kernel (rows by columns, their overlapping last
  // blocks, single rows and columns), every phase count up to 3 per axis,
  // strides 1 to 3, crops and pads, both flips, both types; then a wide sweep
  // (up and down to 20: many phases and the many-phase fallback; filters to
  // 12x12: more than 64 taps; pads and crops to 20) with a negative gain too.
  std::mt19937 rng(11);
  auto pick = [&](int a, int b) { return std::uniform_int_distribution<int>(a, b)(rng); };
  auto run = [&](auto zero, bool wide) {
    using T = decltype(zero);
    const int updown = wide ? 20 : 3, taps = wide ? 12 : 6, crop = wide ? -20 : -3, pad = wide ? 20 : 5;
    UpFirDn2dDesc d;
    d.planes = pick(1, 3), d.in_h = pick(1, wide ? 12 : 30), d.in_w = pick(1, wide ? 16 : 40);
    d.up_x = pick(1, updown), d.up_y = pick(1, updown), d.down_x = pick(1, updown), d.down_y = pick(1, updown);
    d.f_h = pick(1, taps), d.f_w = pick(1, taps), d.flip = pick(0, 1);
    d.pad_x0 = pick(crop, pad), d.pad_y0 = pick(crop, pad);
    const int pad_x1 = pick(crop, pad), pad_y1 = pick(crop, pad);
    const double gain = wide && pick(0, 1) ? -2.5 : 1.5;
    const int64_t uh = d.in_h * d.up_y + d.pad_y0 + pad_y1, uw = d.in_w * d.up_x + d.pad_x0 + pad_x1;
    if (uh < d.f_h || uw < d.f_w) return 0;
    d.out_h = (uh - d.f_h + d.down_y) / d.down_y, d.out_w = (uw - d.f_w + d.down_x) / d.down_x;
    std::normal_distribution<double> normal;
    std::vector<T> x(static_cast<size_t>(d.planes * d.in_h * d.in_w)), f(static_cast<size_t>(d.f_h * d.f_w));
    for (T& v : x) v = static_cast<T>(normal(rng));
    for (T& v : f) v = static_cast<T>(normal(rng));
    // Both builds of the kernel's blocks (the AVX2 one where this CPU has it).
    std::vector<T> y(static_cast<size_t>(d.planes * d.out_h * d.out_w), T(-7)), yp(y.size(), T(-7));
    cpu::upfirdn2d<T>(x.data(), f.data(), y.data(), d, gain);
    cpu::upfirdn2d_portable<T>(x.data(), f.data(), yp.data(), d, gain);
    size_t i = 0, same = 0, same_portable = 0;
    for (int64_t p = 0; p < d.planes; ++p)
      for (int oy = 0; oy < d.out_h; ++oy)
        for (int ox = 0; ox < d.out_w; ++ox, ++i) {
          const T want = T(gain) * upfirdn2d_point(x.data(), f.data(), d, p, oy, ox);
          same += std::memcmp(&want, &y[i], sizeof(T)) == 0;
          same_portable += std::memcmp(&want, &yp[i], sizeof(T)) == 0;
        }
    INFO("x [" << d.planes << "," << d.in_h << "," << d.in_w << "] f " << d.f_h << "x" << d.f_w << " up "
               << d.up_x << "," << d.up_y << " down " << d.down_x << "," << d.down_y << " pad " << d.pad_x0 << ","
               << pad_x1 << "," << d.pad_y0 << "," << pad_y1 << " flip " << d.flip << " gain " << gain << " bytes "
               << sizeof(T));
    CHECK(same == y.size());
    CHECK(same_portable == y.size());
    return 1;
  };
  int ran = 0, ran_wide = 0;
  for (int it = 0; it < 400; ++it) ran += run(0.0f, false) + run(0.0, false);
  for (int it = 0; it < 400; ++it) ran_wide += run(0.0f, true) + run(0.0, true);
  CHECK(ran > 500);  // most configurations are valid
  CHECK(ran_wide > 100);
}

TEST_CASE("upfirdn2d matches the official reference (PyTorch golden values)", "[upfirdn2d]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/gan_golden_a.bin");
  const std::vector<std::pair<std::string, UpFirDn2dParams>> cases = {
      {"up2", params(2, 2, 1, 1, 2, 1, 2, 1, false, 4.0)},     {"down2", params(1, 1, 2, 2, 1, -1, 0, 2)},
      {"updown", params(3, 3, 2, 2, -1, 2, 1, 0, true, 1.5)}, {"aniso", params(2, 1, 1, 2, 1, 1, 0, 1)},
      {"sep", params(1, 1, 1, 1, 1, 1, 1, 1, false, 2.0)}};
  for (const auto& [name, p] : cases) {
    INFO(name);
    Tensor x = g.at(name + ".x");
    x.requires_grad_();
    const Tensor y = upfirdn2d(x, g.at(name + ".f"), p);
    const Check cy = allclose(y, g.at(name + ".y"), 1e-12, 1e-12);
    INFO(cy.message);
    CHECK(cy.ok);
    const Tensor gx = grad({y}, {x}, {g.at(name + ".gy")})[0];
    const Check cg = allclose(gx, g.at(name + ".gx"), 1e-12, 1e-12);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("upfirdn2d: first- and second-order gradients", "[upfirdn2d][grad]") {
  uint64_t seed = 100;
  for (const Case& c : kCases) {
    Shape xs = c.x;
    xs[0] = 1;  // keep the finite differences cheap
    const Tensor x = random_tensor(xs, seed++).requires_grad_();
    const Tensor f = random_tensor(c.f, seed++);
    INFO("x " << shape_str(xs) << " f " << shape_str(c.f) << " up " << c.p.up_x << " down " << c.p.down_x);
    const UpFirDn2dParams p = c.p;
    // Squared so the second derivative runs the gradient's own gradient.
    const Fn fn = [&](const std::vector<Tensor>& v) { return square(upfirdn2d(v[0], f, p)); };
    check_first_and_second_order(fn, {x});
  }
}

// A zero-height plane with padding gives an output of padding alone (as the
// official reference does); its gradient is the empty one, which the adjoint's
// output-size check refused.
TEST_CASE("upfirdn2d of an empty plane: zeros forward, an empty gradient", "[upfirdn2d][grad]") {
  const Tensor x = zeros({1, 1, 0, 3}, DType::f64).requires_grad_();
  UpFirDn2dParams p;
  p.pad_x0 = p.pad_x1 = p.pad_y0 = p.pad_y1 = 2;
  const Tensor y = upfirdn2d(x, random_tensor({4, 4}, 7), p);
  CHECK(y.shape() == Shape{1, 1, 1, 4});
  CHECK(y.to_vector() == std::vector<double>{0, 0, 0, 0});
  CHECK(grad({sum(y)}, {x})[0].shape() == Shape{1, 1, 0, 3});
}

TEST_CASE("upsample2d, downsample2d and filter2d resample with the official padding", "[upfirdn2d]") {
  const Tensor f = setup_filter({1, 3, 3, 1});
  REQUIRE(f.shape() == Shape{4, 4});
  const std::vector<double> fv = f.to_vector();
  CHECK(fv[0] == Approx(1.0 / 64));
  CHECK(fv[5] == Approx(9.0 / 64));
  CHECK(setup_filter({1, 2, 1}, true).to_vector() == std::vector<double>{0.25, 0.5, 0.25});

  // Each helper against the definition with the padding and gain the official
  // upfirdn2d.py helpers use (fw the filter width; p the extra padding; // is
  // Python's floor division, which rounds (2 - 3) // 2 to -1: a crop):
  //   upsample2d:   pad (fw + up - 1) // 2 + p before, (fw - up) // 2 + p after, gain * up^2
  //   downsample2d: pad (fw - down + 1) // 2 + p before, (fw - down) // 2 + p after
  //   filter2d:     pad fw // 2 + p before, (fw - 1) // 2 + p after
  // for filters of even and odd width, 2-D and separable, both flips.
  auto floordiv = [](int64_t a, int64_t b) { return static_cast<int>(a / b - ((a % b != 0) && ((a < 0) != (b < 0)))); };
  uint64_t seed = 40;
  for (const std::vector<double>& taps : {std::vector<double>{1, 3, 3, 1}, {1, 2, 1}, {1, 1}, {2, 5, 3, 1, 4}}) {
    for (bool separable : {false, true}) {
      for (int pad : {0, 1}) {
        for (bool flip : {false, true}) {
          const Tensor ff = setup_filter(taps, separable, DType::f64);
          const int64_t fw = static_cast<int64_t>(taps.size());
          const Tensor x = random_tensor({2, 3, 7, 6}, seed++);
          INFO(taps.size() << " taps, separable " << separable << ", padding " << pad << ", flip " << flip);
          auto same = [&](const Tensor& got, const UpFirDn2dParams& p) {
            const std::vector<double> want = naive_upfirdn2d(x, ff, p);
            REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
            const Check ck = allclose(got, Tensor::from_vector(want, got.shape(), DType::f64), 1e-12, 1e-14);
            INFO(ck.message);
            CHECK(ck.ok);
          };
          for (int k : {2, 3}) {
            INFO("factor " << k);
            const int up0 = floordiv(fw + k - 1, 2) + pad, up1 = floordiv(fw - k, 2) + pad;
            same(upsample2d(x, ff, k, pad, flip, 1.5), params(k, k, 1, 1, up0, up1, up0, up1, flip, 1.5 * k * k));
            const int dn0 = floordiv(fw - k + 1, 2) + pad, dn1 = floordiv(fw - k, 2) + pad;
            same(downsample2d(x, ff, k, pad, flip, 1.5), params(1, 1, k, k, dn0, dn1, dn0, dn1, flip, 1.5));
          }
          const int fl0 = floordiv(fw, 2) + pad, fl1 = floordiv(fw - 1, 2) + pad;
          same(filter2d(x, ff, pad, flip, 1.5), params(1, 1, 1, 1, fl0, fl1, fl0, fl1, flip, 1.5));
        }
      }
    }
  }

  // The official shapes: upsample2d doubles, downsample2d halves, filter2d keeps.
  const Tensor x = random_tensor({2, 3, 8, 6}, 7, DType::f32);
  CHECK(upsample2d(x, f).shape() == Shape{2, 3, 16, 12});
  CHECK(downsample2d(x, f).shape() == Shape{2, 3, 4, 3});
  CHECK(filter2d(x, f).shape() == x.shape());

  // A normalized low-pass filter keeps a constant image constant away from the
  // border; upsampling's gain of up^2 makes up for the inserted zeros.
  const Tensor ones = full({1, 1, 8, 8}, 1.0, DType::f64);
  const Tensor f64 = setup_filter({1, 3, 3, 1}, false, DType::f64);
  const Tensor up = upsample2d(ones, f64), down = downsample2d(ones, f64), same = filter2d(ones, f64);
  CHECK(slice(slice(up, 2, 2, 14), 3, 2, 14).to_vector() == std::vector<double>(144, 1.0));
  CHECK(slice(slice(down, 2, 1, 3), 3, 1, 3).to_vector() == std::vector<double>(4, 1.0));
  CHECK(slice(slice(same, 2, 2, 6), 3, 2, 6).to_vector() == std::vector<double>(16, 1.0));
}

TEST_CASE("upfirdn2d rejects bad arguments with a clear message", "[upfirdn2d]") {
  const Tensor x = random_tensor({1, 2, 4, 4}, 9, DType::f32);
  const Tensor f = setup_filter({1, 3, 3, 1});
  REQUIRE_THROWS_WITH(upfirdn2d(x, random_tensor({2, 2, 2}, 1, DType::f32)),
                      Catch::Contains("upfirdn2d") && Catch::Contains("filter must be 2-D"));
  REQUIRE_THROWS_WITH(upfirdn2d(x, f, params(-1, 1, 1, 1, 0, 0, 0, 0)), Catch::Contains("up must be >= 1"));
  REQUIRE_THROWS_WITH(upfirdn2d(x, f, params(1, 1, 1, 0, 0, 0, 0, 0)), Catch::Contains("down must be >= 1"));
  REQUIRE_THROWS_WITH(upfirdn2d(x, f, params(1, 1, 1, 1, -2, 0, 0, 0)), Catch::Contains("output would be empty"));
  REQUIRE_THROWS_WITH(upfirdn2d(x.reshape({2, 4, 4}), f), Catch::Contains("[N, C, H, W]"));
  REQUIRE_THROWS_WITH(upsample2d(x, f, 0), Catch::Contains("up must be >= 1"));
  REQUIRE_THROWS_WITH(downsample2d(x, f, -2), Catch::Contains("down must be >= 1"));
  Tensor fg = setup_filter({1, 2, 1}).requires_grad_();
  REQUIRE_THROWS_WITH(filter2d(x, fg), Catch::Contains("constant"));
  REQUIRE_THROWS_WITH(setup_filter({1, -1}), Catch::Contains("sum to zero"));
}

TEST_CASE("upfirdn2d with far-reaching pads that cancel out sizes its work by the output", "[upfirdn2d]") {
  // A crop of 1e9 columns offset by a pad of 1e9: 4 output columns, all
  // past the input (zeros). The scratch plane spanned the pads (8 GB; with 2
  // threads std::bad_alloc inside the parallel region ended the process).
  const Tensor x = random_tensor({1, 8, 4, 4}, 3, DType::f32);
  const Tensor y = upfirdn2d(x, setup_filter({1}), params(1, 1, 1, 1, -1000000000, 1000000000, 30, 30));
  CHECK(y.shape() == Shape{1, 8, 64, 4});
  CHECK(sum(abs(y)).item() == 0.0);
  // Rows kept: column 3 of the input lands at output column 3 + 1 - 1 = 3.
  const Tensor z = upfirdn2d(x, setup_filter({1}), params(1, 1, 1, 1, 1, -1, 0, 0));
  CHECK(allclose(slice(z, 3, 1, 4), slice(x, 3, 0, 3), 0, 0).ok);
  CHECK(sum(abs(slice(z, 3, 0, 1))).item() == 0.0);
}

TEST_CASE("upfirdn2d on cuda matches the cpu", "[upfirdn2d][cuda]") {
  const Device gpu = Device::cuda(0);
  const std::vector<Case> cases = {
      {{1, 1, 1, 1}, {4, 4}, params(2, 2, 1, 1, 2, 1, 2, 1, false, 4.0)},
      {{3, 5, 7, 9}, {4, 4}, params(2, 2, 1, 1, 2, 1, 2, 1, false, 4.0)},
      {{2, 7, 16, 16}, {4, 4}, params(1, 1, 2, 2, 1, 1, 1, 1)},
      {{1, 33, 13, 11}, {3, 5}, params(3, 1, 2, 3, -1, 2, 4, -2, true, 0.5)},
      {{4, 130, 8, 8}, {4}, params(2, 2, 1, 1, 2, 1, 2, 1)},
      {{2, 64, 64, 64}, {4, 4}, params(1, 1, 2, 2, 1, 1, 1, 1)},
      {{1, 3, 257, 255}, {7, 7}, params(1, 1, 1, 1, 3, 3, 3, 3)},
  };
  uint64_t seed = 300;
  for (const Case& c : cases) {
    INFO("x " << shape_str(c.x) << " f " << shape_str(c.f));
    const Tensor x = random_tensor(c.x, seed++, DType::f32), f = random_tensor(c.f, seed++, DType::f32, Device::cpu(), 0.3);
    const Tensor want = upfirdn2d(x, f, c.p);
    const Tensor got = upfirdn2d(x.to(gpu), f.to(gpu), c.p);
    const Check ck = allclose(got, want, 1e-5, 1e-5);
    INFO(ck.message);
    CHECK(ck.ok);
    // The gradient runs the adjoint configuration (up and down swapped).
    Tensor xg = x.to(gpu).requires_grad_(), xc = x.detach().requires_grad_();
    const Tensor gy = random_tensor(want.shape(), seed++, DType::f32);
    const Check cg = allclose(grad({upfirdn2d(xg, f, c.p)}, {xg}, {gy.to(gpu)})[0],
                              grad({upfirdn2d(xc, f, c.p)}, {xc}, {gy})[0], 1e-5, 1e-5);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}
