// affine_grid_sample and its adjoint: golden values from torch's affine_grid
// + grid_sample (tools/fixtures/make_grid_sample_golden.py), the CPU forward against
// the point form, the CPU adjoint (a scatter) against the gather that the
// CUDA kernel runs and as the exact transpose, the same bits on any thread
// count, gradients to second order, identity and range properties, argument
// errors, CUDA vs CPU.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "engine/ops/grid_sample.h"
#include "kernels/grid_sample.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::Check;
using gf::test::check_first_and_second_order;
using gf::test::Fn;
using gf::test::random_tensor;

namespace {

// theta [n, 2, 3] from per-sample rows {t00, t01, t02, t10, t11, t12}.
Tensor thetas(const std::vector<std::vector<double>>& rows, DType t = DType::f64) {
  std::vector<double> v;
  for (const auto& r : rows) v.insert(v.end(), r.begin(), r.end());
  return Tensor::from_vector(v, {static_cast<int64_t>(rows.size()), 2, 3}, t);
}

// Rotation by a, scales sx, sy, shear, translation: ADA's kinds of map.
std::vector<double> affine(double a, double sx = 1, double sy = 1, double tx = 0, double ty = 0, double shear = 0) {
  const double c = std::cos(a), s = std::sin(a);
  return {c * sx, -s * sy + shear, tx, s * sx, c * sy, ty};
}

// Random invertible maps from mild (ADA's range) to extreme: strong zoom in
// and out, shear, anisotropy, translations that leave the plane.
std::vector<double> random_affine(std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-1, 1);
  const double zoom = std::exp(2.5 * u(rng));  // 0.08 .. 12
  const double aniso = std::exp(0.7 * u(rng));
  std::vector<double> t = affine(3.2 * u(rng), zoom * aniso, zoom / aniso, 0.8 * u(rng), 0.8 * u(rng), 0.6 * u(rng));
  if (u(rng) > 0.6) t[0] = -t[0], t[3] = -t[3];  // a flip
  return t;
}

// The adjoint as the definition says: every output pixel scatters g * weight
// into its in-plane neighbours, with the forward's own source points.
template <class T>
std::vector<T> scatter_adjoint(const std::vector<T>& g, const std::vector<T>& th, const AffineGridDims& d) {
  std::vector<T> dx(static_cast<size_t>(d.n * d.c * d.in_h * d.in_w), T(0));
  for (int64_t p = 0; p < d.n * d.c; ++p)
    for (int64_t i = 0; i < d.out_h; ++i)
      for (int64_t j = 0; j < d.out_w; ++j) {
        GridSource<T> s;
        if (!affine_grid_source(th.data() + (p / d.c) * 6, i, j, d, s)) continue;
        const T v = g[static_cast<size_t>((p * d.out_h + i) * d.out_w + j)];
        const T wy[2] = {T(1) - s.fy, s.fy}, wx[2] = {T(1) - s.fx, s.fx};
        for (int a = 0; a < 2; ++a)
          for (int b = 0; b < 2; ++b) {
            const int64_t y = s.y0 + a, x = s.x0 + b;
            if (y >= 0 && y < d.in_h && x >= 0 && x < d.in_w)
              dx[static_cast<size_t>((p * d.in_h + y) * d.in_w + x)] += v * (wy[a] * wx[b]);
          }
      }
  return dx;
}

// The adjoint as a gather, input pixel by input pixel over its box: what
// the CUDA kernel computes (kernels/grid_sample.cu), here on the CPU.
template <class T>
std::vector<T> gather_adjoint(const std::vector<T>& g, const std::vector<T>& th, const AffineGridDims& d) {
  std::vector<T> dx(static_cast<size_t>(d.n * d.c * d.in_h * d.in_w));
  for (int64_t p = 0; p < d.n * d.c; ++p) {
    const T* t = th.data() + (p / d.c) * 6;
    const GridBoxMap m = affine_grid_box_map(t, d);
    for (int64_t y = 0; y < d.in_h; ++y)
      for (int64_t x = 0; x < d.in_w; ++x)
        dx[static_cast<size_t>((p * d.in_h + y) * d.in_w + x)] =
            affine_grid_sample_adjoint_point(g.data() + p * d.out_h * d.out_w, t, m, d, y, x);
  }
  return dx;
}

template <class T>
DType dtype_of() {
  return sizeof(T) == 4 ? DType::f32 : DType::f64;
}

template <class T>
std::vector<T> values(const Tensor& t) {
  const Tensor c = t.to(Device::cpu());
  return std::vector<T>(c.data<T>(), c.data<T>() + c.numel());
}

}  // namespace

TEST_CASE("affine_grid_sample matches torch's affine_grid + grid_sample (golden values)", "[grid_sample]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/grid_sample_golden.bin");
  for (const std::string name : {"identity", "flip", "flip_y", "rotate", "aniso", "translate_out", "resize", "batch",
                                 "zoom_in", "general_f64"}) {
    INFO(name);
    Tensor x = g.at(name + ".x").clone().requires_grad_();
    const Tensor th = g.at(name + ".theta"), want = g.at(name + ".y");
    const double tol = x.dtype() == DType::f64 ? 1e-12 : 1e-5;
    const Tensor y = affine_grid_sample(x, th, want.size(2), want.size(3));
    REQUIRE(y.shape() == want.shape());
    const Check cy = allclose(y, want, tol, tol);
    INFO(cy.message);
    CHECK(cy.ok);
    const Tensor gx = grad({sum(y * g.at(name + ".w"))}, {x})[0];
    const Check cg = allclose(gx, g.at(name + ".gx"), tol, tol);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("affine_grid_sample_adjoint: the CPU scatter equals the gather (CUDA's form) bit for bit, for any theta",
          "[grid_sample]") {
  // The CPU kernel scatters (each output pixel adds its terms, rows in
  // order); the gather (the CUDA kernel's form) finds each input pixel's
  // readers through a bounding box, where a box too small would drop terms.
  // Both sum the same products in the same order (output pixels row by row),
  // so they agree to the bit, in float32 and float64; and both agree with a
  // plain scatter written from the definition. Singular maps too: the kernels
  // take them (the gather then scans the whole output), the op refuses them.
  std::mt19937 rng(5);
  int nonzero = 0;
  for (int it = 0; it < 120; ++it) {
    const int64_t n = 2, c = 2, h = 3 + it % 13, w = 2 + (it * 7) % 17, oh = 1 + (it * 5) % 19, ow = 1 + (it * 3) % 23;
    std::vector<double> t1 = random_affine(rng);
    if (it % 10 == 0) t1 = {1.5, -0.75, 0.1, -0.6, 0.3, -0.2};  // rank 1: every output reads one line
    const Tensor th = thetas({random_affine(rng), t1});
    const Tensor gr = random_tensor({n, c, oh, ow}, 1000 + it);
    AffineGridDims d;
    d.n = n, d.c = c, d.in_h = h, d.in_w = w, d.out_h = oh, d.out_w = ow;
    INFO("it " << it << " in " << h << "x" << w << " out " << oh << "x" << ow);
    auto run = [&](auto zero) {
      using T = decltype(zero);
      const std::vector<T> g = values<T>(gr.to(dtype_of<T>())), t = values<T>(th.to(dtype_of<T>()));
      std::vector<T> got(static_cast<size_t>(n * c * h * w), std::numeric_limits<T>::quiet_NaN());
      cpu::affine_grid_sample_adjoint(g.data(), t.data(), got.data(), d);
      const std::vector<T> gathered = gather_adjoint(g, t, d);
      CHECK(std::memcmp(got.data(), gathered.data(), got.size() * sizeof(T)) == 0);
      const std::vector<T> want = scatter_adjoint(g, t, d);
      CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(T)) == 0);
      double s = 0;
      for (T v : got) s += std::fabs(double(v));
      return s;
    };
    run(0.0f);
    nonzero += run(0.0) > 0;
  }
  CHECK(nonzero > 90);  // most maps see part of the plane
}

// Every output pixel lies in the boxes of the four input pixels it reads, also
// where rounding in T puts its source point on the other side of a pixel
// boundary than exact arithmetic would: maps one ulp away from the identity, a
// flip and a scale by 2, and random ones.
template <class T>
void check_boxes_hold_their_readers(const std::vector<T>& th, const AffineGridDims& d, int& checked) {
  const GridBoxMap m = affine_grid_box_map(th.data(), d);
  REQUIRE_FALSE(m.whole);
  for (int64_t i = 0; i < d.out_h; ++i)
    for (int64_t j = 0; j < d.out_w; ++j) {
      GridSource<T> s;
      if (!affine_grid_source(th.data(), i, j, d, s)) continue;
      for (int64_t y = s.y0; y <= s.y0 + 1; ++y)
        for (int64_t x = s.x0; x <= s.x0 + 1; ++x) {
          if (y < 0 || y >= d.in_h || x < 0 || x >= d.in_w) continue;
          int64_t i0 = 0, i1 = -1, j0 = 0, j1 = -1;
          const bool any = affine_grid_box(m, d, y, x, i0, i1, j0, j1);
          const bool in = any && i0 <= i && i <= i1 && j0 <= j && j <= j1;
          if (!in) {
            INFO("output (" << i << ", " << j << ") reads input (" << y << ", " << x << "), box [" << i0 << ", " << i1
                            << "] x [" << j0 << ", " << j1 << "]");
            REQUIRE(in);
          }
          ++checked;
        }
    }
}

TEST_CASE("affine_grid_box holds every output pixel that reads the input pixel", "[grid_sample]") {
  auto run = [](auto zero) {
    using T = decltype(zero);
    const T ulp = std::numeric_limits<T>::epsilon();
    std::vector<std::vector<T>> maps;
    for (int k = -3; k <= 3; ++k) {
      const T a = T(1) + T(k) * ulp / 2, b = T(k) * ulp;
      maps.push_back({a, b, b, -b, a, T(k) * ulp / 4});
      maps.push_back({-a, T(0), b, T(0), T(2) * a, T(0)});
    }
    std::mt19937 rng(9);
    for (int k = 0; k < 20; ++k) {
      const std::vector<double> t = random_affine(rng);
      maps.emplace_back(t.begin(), t.end());
    }
    int checked = 0;
    for (const auto& hw : std::vector<std::pair<int64_t, int64_t>>{{5, 7}, {33, 29}, {96, 80}, {17, 1}})
      for (const auto& th : maps) {
        AffineGridDims d;
        d.n = d.c = 1, d.in_h = hw.first, d.in_w = hw.second;
        d.out_h = hw.first + (hw.second % 3), d.out_w = hw.second;
        INFO("in " << d.in_h << "x" << d.in_w << " theta " << th[0] << " " << th[1] << " " << th[2] << " " << th[3]
                   << " " << th[4] << " " << th[5] << " bytes " << sizeof(T));
        check_boxes_hold_their_readers(th, d, checked);
      }
    CHECK(checked > 10000);
  };
  run(0.0f);
  run(0.0);
}

TEST_CASE("affine_grid_sample_adjoint is the transpose: <A x, g> == <x, A^T g>", "[grid_sample]") {
  std::mt19937 rng(7);
  for (int it = 0; it < 40; ++it) {
    const int64_t h = 4 + it % 9, w = 5 + (it * 3) % 11, oh = 3 + (it * 7) % 13, ow = 2 + (it * 5) % 15;
    const Tensor th = thetas({random_affine(rng), affine(0.1 * it, 1.1, 0.9, 0.05, -0.1), random_affine(rng)});
    const Tensor x = random_tensor({3, 2, h, w}, 2000 + it), g = random_tensor({3, 2, oh, ow}, 3000 + it);
    INFO("it " << it);
    const double a = sum(affine_grid_sample(x, th, oh, ow) * g).item();
    const double b = sum(x * affine_grid_sample_adjoint(g, th, h, w)).item();
    CHECK(a == Approx(b).epsilon(1e-13).margin(1e-13));
  }
  // Larger planes, ADA-like maps (float64: the terms are the same, only the order of the sums differs).
  const Tensor th = thetas({affine(0.4, 1.2, 1.1, 0.1, -0.05), affine(-2.9, 0.8, 0.85, -0.2, 0.1, 0.1)});
  const Tensor x = random_tensor({2, 3, 40, 48}, 11), g = random_tensor({2, 3, 36, 52}, 12);
  const double a = sum(affine_grid_sample(x, th, 36, 52) * g).item();
  const double b = sum(x * affine_grid_sample_adjoint(g, th, 40, 48)).item();
  CHECK(a == Approx(b).epsilon(1e-13));
}

TEST_CASE("affine_grid_sample: the identity map returns x; outputs stay within x's range and 0", "[grid_sample]") {
  for (const auto& hw : std::vector<Shape>{{8, 8}, {5, 7}, {13, 1}, {32, 24}}) {
    INFO(shape_str(hw));
    const Tensor x = random_tensor({2, 3, hw[0], hw[1]}, 31);
    const Tensor id = thetas({{1, 0, 0, 0, 1, 0}, {1, 0, 0, 0, 1, 0}});
    CHECK(allclose(affine_grid_sample(x, id, hw[0], hw[1]), x, 1e-14, 1e-14).ok);
    CHECK(allclose(affine_grid_sample(x.to(DType::f32), id.to(DType::f32), hw[0], hw[1]), x.to(DType::f32), 1e-6,
                   1e-6)
              .ok);
    // And its adjoint, likewise.
    CHECK(allclose(affine_grid_sample_adjoint(x, id, hw[0], hw[1]), x, 1e-14, 1e-14).ok);
  }
  // Bilinear weights are >= 0 and sum to at most 1: every output lies between
  // min(x, 0) and max(x, 0).
  std::mt19937 rng(3);
  const Tensor x = random_tensor({2, 2, 9, 11}, 32);
  const std::vector<double> xv = x.to_vector();
  const double lo = std::min(0.0, *std::min_element(xv.begin(), xv.end()));
  const double hi = std::max(0.0, *std::max_element(xv.begin(), xv.end()));
  for (int it = 0; it < 20; ++it) {
    const std::vector<double> y =
        affine_grid_sample(x, thetas({random_affine(rng), random_affine(rng)}), 10, 7).to_vector();
    CHECK(*std::min_element(y.begin(), y.end()) >= lo - 1e-12);
    CHECK(*std::max_element(y.begin(), y.end()) <= hi + 1e-12);
  }
}

TEST_CASE("affine_grid_sample_adjoint: the same bits on one thread or many", "[grid_sample]") {
  // Each plane has one owner thread, whether a task is a sample's channels
  // (many samples) or one plane (few): two threads adding into one plane
  // would lose updates or change the order of the sums.
  for (const int64_t n : {int64_t(2), int64_t(9)}) {
    std::vector<std::vector<double>> rows;
    for (int64_t k = 0; k < n; ++k) rows.push_back(affine(0.3 * double(k) - 1.0, 1.1, 0.9 - 0.03 * double(k), 0.05 * k));
    const Tensor th = thetas(rows, DType::f32);
    // Planes large enough that the kernel opens a parallel region (its
    // threshold: 16384 output elements), for the few-samples split too.
    const Tensor g = random_tensor({n, 3, 64, 72}, 41 + n, DType::f32);
    REQUIRE(g.numel() > 16384);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const std::vector<float> one = values<float>(affine_grid_sample_adjoint(g, th, 48, 36));
    for (int k : {2, 3, 4}) {
      INFO("n " << n << ", " << k << " threads");
      omp_set_num_threads(k);
      const std::vector<float> many = values<float>(affine_grid_sample_adjoint(g, th, 48, 36));
      REQUIRE(one.size() == many.size());
      CHECK(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0);
    }
    omp_set_num_threads(threads);
  }
}

TEST_CASE("affine_grid_sample: the CPU forward equals the point form bit for bit, on one thread or many",
          "[grid_sample]") {
  // The kernel forms each output row's source points and weights once per
  // sample and applies them to every channel; each output pixel must still
  // be affine_grid_sample_point's sum, term for term (same products, same
  // order, from 0). Few samples (below twice the threads) and many, outputs
  // past the kernel's parallel threshold (16384 elements), output widths
  // that are not a multiple of the kernel's chunk of terms.
  std::mt19937 rng(17);
  const int threads = omp_get_max_threads();
  for (const int64_t n : {int64_t(2), int64_t(9)}) {
    std::vector<std::vector<double>> rows;
    for (int64_t k = 0; k < n; ++k) rows.push_back(k == 0 ? affine(0.0) : random_affine(rng));
    const Tensor th = thetas(rows);
    AffineGridDims d;
    d.n = n, d.c = 3, d.in_h = 41, d.in_w = 57, d.out_h = 50, d.out_w = 70 + n;
    REQUIRE(d.n * d.c * d.out_h * d.out_w > 16384);
    const Tensor xr = random_tensor({d.n, d.c, d.in_h, d.in_w}, 300 + n);
    auto run = [&](auto zero) {
      using T = decltype(zero);
      const std::vector<T> x = values<T>(xr.to(dtype_of<T>())), t = values<T>(th.to(dtype_of<T>()));
      std::vector<T> want(static_cast<size_t>(d.n * d.c * d.out_h * d.out_w));
      for (int64_t p = 0; p < d.n * d.c; ++p)
        for (int64_t i = 0; i < d.out_h; ++i)
          for (int64_t j = 0; j < d.out_w; ++j)
            want[static_cast<size_t>((p * d.out_h + i) * d.out_w + j)] =
                affine_grid_sample_point(x.data() + p * d.in_h * d.in_w, t.data() + (p / d.c) * 6, d, i, j);
      for (int k : {1, 2, 3}) {
        INFO("n " << n << ", " << k << " threads, " << sizeof(T) * 8 << "-bit");
        omp_set_num_threads(k);
        std::vector<T> got(want.size(), std::numeric_limits<T>::quiet_NaN());
        cpu::affine_grid_sample(x.data(), t.data(), got.data(), d);
        CHECK(std::memcmp(got.data(), want.data(), want.size() * sizeof(T)) == 0);
      }
      omp_set_num_threads(threads);
    };
    run(0.0f);
    run(0.0);
  }
}

TEST_CASE("affine_grid_sample: gradients to second order", "[grid_sample][grad]") {
  uint64_t seed = 50;
  for (const auto& t : std::vector<std::vector<double>>{affine(0.5, 1.2, 0.8, 0.1, -0.2, 0.2),
                                                        affine(2.5, 0.4, 0.5, 0.3, 0.1), {-1, 0, 0.7, 0, 1, 0}}) {
    const Tensor th = thetas({t});
    const Tensor x = random_tensor({1, 2, 5, 6}, seed++).requires_grad_();
    // Squared, so the second order runs the gradient's own gradient.
    const Fn f = [th](const std::vector<Tensor>& v) { return square(affine_grid_sample(v[0], th, 4, 7)); };
    check_first_and_second_order(f, {x});
    const Tensor g = random_tensor({1, 2, 4, 7}, seed++).requires_grad_();
    const Fn fa = [th](const std::vector<Tensor>& v) { return square(affine_grid_sample_adjoint(v[0], th, 5, 6)); };
    check_first_and_second_order(fa, {g});
  }
}

TEST_CASE("affine_grid_sample rejects bad arguments with a clear message", "[grid_sample]") {
  const Tensor x = ones({2, 3, 4, 5}, DType::f64);
  const Tensor th = thetas({affine(0.1), affine(0.2)});
  REQUIRE_THROWS_WITH(affine_grid_sample(ones({3, 4, 5}, DType::f64), th, 4, 4), Catch::Contains("[N, C, H, W]"));
  REQUIRE_THROWS_WITH(affine_grid_sample(x, ones({2, 3, 3}, DType::f64), 4, 4),
                      Catch::Contains("theta must be [N, 2, 3] with N = 2, got [2, 3, 3]"));
  REQUIRE_THROWS_WITH(affine_grid_sample(x, thetas({affine(0.1)}), 4, 4), Catch::Contains("theta must be [N, 2, 3]"));
  REQUIRE_THROWS_WITH(affine_grid_sample(x, ones({2, 6}, DType::f64), 4, 4), Catch::Contains("theta must be"));
  REQUIRE_THROWS_WITH(affine_grid_sample(x, th.to(DType::f32), 4, 4),
                      Catch::Contains("theta is float32, x is float64"));
  REQUIRE_THROWS_WITH(affine_grid_sample(x, th, 0, 4), Catch::Contains("output size must be positive"));
  REQUIRE_THROWS_WITH(affine_grid_sample(x, th.clone().requires_grad_(), 4, 4), Catch::Contains("detach it"));
  REQUIRE_THROWS_WITH(affine_grid_sample_adjoint(x, th.to(DType::f32), 4, 4),
                      Catch::Contains("theta is float32, g is float64"));
  REQUIRE_THROWS_WITH(affine_grid_sample_adjoint(x, th, 4, -1), Catch::Contains("input size must be positive"));

  // The adjoint needs invertible maps; the message names the sample.
  const Tensor singular = thetas({affine(0.1), {1, 2, 0, 0.5, 1, 0.3}});
  REQUIRE_THROWS_WITH(affine_grid_sample_adjoint(x, singular, 4, 4),
                      Catch::Contains("theta of sample 1 is singular"));
  REQUIRE_THROWS_WITH(affine_grid_sample_adjoint(x, thetas({{0, 0, 0, 0, 0, 0}, affine(0.1)}), 4, 4),
                      Catch::Contains("theta of sample 0 is singular"));
  REQUIRE_THROWS_WITH(
      affine_grid_sample_adjoint(x, thetas({affine(0.1), {1, 0, std::numeric_limits<double>::quiet_NaN(), 0, 1, 0}}),
                                 4, 4),
      Catch::Contains("theta of sample 1 is not finite"));
  REQUIRE_THROWS_WITH(affine_grid_sample_adjoint(x, thetas({{1e-7, 0, 0, 0, 1e-7, 0}, affine(0.1)}), 4, 4),
                      Catch::Contains("theta of sample 0 (determinant 1e-14) magnifies so much"));
  // The forward runs with a singular map (all of its outputs read one line);
  // its gradient, the adjoint, refuses it.
  Tensor xr = x.clone().requires_grad_();
  const Tensor y = affine_grid_sample(xr, singular, 4, 4);
  CHECK(std::isfinite(sum(y).item()));
  REQUIRE_THROWS_WITH(grad({sum(y)}, {xr}),
                      Catch::Contains("affine_grid_sample_adjoint: theta of sample 1 is singular"));
}

TEST_CASE("affine_grid_sample on cuda matches the cpu, forward and adjoint", "[grid_sample][cuda]") {
  const Device gpu = Device::cuda(0);
  std::mt19937 rng(17);
  uint64_t seed = 70;
  struct Case {
    Shape x;
    int64_t oh, ow;
  };
  // Several blocks of threads, sizes that are not multiples of anything, a single column.
  for (const Case& c : std::vector<Case>{
           {{3, 2, 16, 16}, 16, 16}, {{2, 3, 13, 21}, 17, 9}, {{4, 3, 37, 45}, 41, 50}, {{1, 1, 1, 5}, 3, 1}}) {
    for (DType t : {DType::f32, DType::f64}) {
      std::vector<std::vector<double>> rows;
      for (int64_t k = 0; k < c.x[0]; ++k) rows.push_back(random_affine(rng));
      const Tensor th = thetas(rows, t), x = random_tensor(c.x, seed++, t);
      const Tensor g = random_tensor({c.x[0], c.x[1], c.oh, c.ow}, seed++, t);
      INFO(shape_str(c.x) << " -> " << c.oh << "x" << c.ow << " " << dtype_name(t));
      const double tol = t == DType::f32 ? 1e-5 : 1e-12;
      const Tensor want = affine_grid_sample(x, th, c.oh, c.ow);
      full(want.shape(), std::numeric_limits<double>::quiet_NaN(), t, gpu);  // a stale block for the output
      const Check cy = allclose(affine_grid_sample(x.to(gpu), th.to(gpu), c.oh, c.ow), want, tol, tol);
      INFO(cy.message);
      CHECK(cy.ok);
      const Tensor want_a = affine_grid_sample_adjoint(g, th, c.x[2], c.x[3]);
      full(want_a.shape(), std::numeric_limits<double>::quiet_NaN(), t, gpu);
      const Tensor got_a = affine_grid_sample_adjoint(g.to(gpu), th.to(gpu), c.x[2], c.x[3]);
      const Check ca = allclose(got_a, want_a, tol, tol);
      INFO(ca.message);
      CHECK(ca.ok);
      // A gather: the same bits every run.
      const std::vector<double> again = affine_grid_sample_adjoint(g.to(gpu), th.to(gpu), c.x[2], c.x[3]).to_vector();
      CHECK(again == got_a.to_vector());
      // Through autograd, to second order (the adjoint's gradient is the forward).
      Tensor xg = x.to(gpu).requires_grad_(), xc = x.detach().requires_grad_();
      const Tensor thg = th.to(gpu);
      const Tensor dg = grad({sum(square(affine_grid_sample(xg, thg, c.oh, c.ow)))}, {xg}, {}, true, true)[0];
      const Tensor dc = grad({sum(square(affine_grid_sample(xc, th, c.oh, c.ow)))}, {xc}, {}, true, true)[0];
      const Check cg = allclose(dg, dc, tol, tol);
      INFO(cg.message);
      CHECK(cg.ok);
      const Check cgg = allclose(grad({sum(square(dg))}, {xg})[0], grad({sum(square(dc))}, {xc})[0], 10 * tol, tol);
      INFO(cgg.message);
      CHECK(cgg.ok);
    }
  }
  // theta lives on x's device; the adjoint reads it back to check it.
  const Tensor x = random_tensor({2, 1, 4, 5}, 90, DType::f32, gpu);
  const Tensor th = thetas({affine(0.1), affine(0.2)}, DType::f32);
  REQUIRE_THROWS_WITH(affine_grid_sample(x, th, 3, 3), Catch::Contains("theta on cpu, x on cuda:0"));
  const Tensor singular = thetas({affine(0.1), {1, 2, 0, 0.5, 1, 0}}, DType::f32).to(gpu);
  REQUIRE_THROWS_WITH(affine_grid_sample_adjoint(x, singular, 4, 4), Catch::Contains("theta of sample 1 is singular"));
}
