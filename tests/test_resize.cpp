// resize_bilinear in its four coordinate modes: golden values from torch's
// F.interpolate (half_pixel, align_corners, nearest) and from the FID detector's
// affine_grid + grid_sample formulation of TF1's resize (asymmetric), the
// backward against the transposed forward, gradients to second order,
// argument errors, CUDA vs CPU.
#include <catch2/catch.hpp>
#include <algorithm>
#include <limits>
#include <string>

#include "engine/io/safetensors.h"
#include "engine/ops/resize.h"
#include "tests/testing.h"

using namespace gf;
using gf::test::allclose;
using gf::test::large_case_runs;
using gf::test::Check;
using gf::test::Fn;
using gf::test::check_first_and_second_order;
using gf::test::random_tensor;

namespace {
constexpr ResizeCoords kAllCoords[] = {ResizeCoords::half_pixel, ResizeCoords::align_corners, ResizeCoords::asymmetric,
                                       ResizeCoords::nearest};
const char* coords_name(ResizeCoords c) {
  return c == ResizeCoords::half_pixel      ? "half_pixel"
         : c == ResizeCoords::align_corners ? "align_corners"
         : c == ResizeCoords::asymmetric    ? "asymmetric"
                                            : "nearest";
}
}  // namespace

TEST_CASE("resize_bilinear matches torch (golden values)", "[resize]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/psp_ops_golden.bin");
  for (bool align : {true, false})
    for (const auto& [name, size] : std::vector<std::pair<std::string, Shape>>{
             {"up", {9, 13}}, {"down", {4, 3}}, {"x2", {8, 8}}, {"one", {1, 2}}}) {
      const std::string key = "rs_" + name + (align ? "_ac" : "_hp");
      INFO(key);
      Tensor x = g.at(key + ".x").clone().requires_grad_();
      const ResizeCoords coords = align ? ResizeCoords::align_corners : ResizeCoords::half_pixel;
      const Tensor y = resize_bilinear(x, size[0], size[1], coords);
      const Check cy = allclose(y, g.at(key + ".y"), 1e-13, 1e-14);
      INFO(cy.message);
      CHECK(cy.ok);
      const Check cg = allclose(grad({y}, {x}, {g.at(key + ".gy")})[0], g.at(key + ".gx"), 1e-13, 1e-14);
      INFO(cg.message);
      CHECK(cg.ok);
    }
}

TEST_CASE("resize_bilinear asymmetric matches the detector's affine_grid + grid_sample (golden values)", "[resize]") {
  // tools/fixtures/make_resize_tf1_golden.py: theta shifted by 1/in - 1/out, border padding, float64.
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/resize_tf1_golden.bin");
  for (const std::string name : {"up", "down", "mixed", "one", "from_one", "odd"}) {
    const std::string key = "tf1_" + name;
    INFO(key);
    Tensor x = g.at(key + ".x").clone().requires_grad_();
    const Tensor& want = g.at(key + ".y");
    const Tensor y = resize_bilinear(x, want.size(2), want.size(3), ResizeCoords::asymmetric);
    const Check cy = allclose(y, want, 1e-13, 1e-14);
    INFO(cy.message);
    CHECK(cy.ok);
    const Check cg = allclose(grad({y}, {x}, {g.at(key + ".gy")})[0], g.at(key + ".gx"), 1e-13, 1e-14);
    INFO(cg.message);
    CHECK(cg.ok);
  }
}

TEST_CASE("resize_nearest matches torch's mode='nearest' exactly (golden values)", "[resize]") {
  // tools/fixtures/make_resize_nearest_golden.py: float32 and float64; the MoCo loss's
  // 256 -> 224 and 32 -> 224 one axis at a time, sizes where float rounding moves an
  // index (248 -> 224, 62 -> 224, 2 -> 82), down, up, x2, same, to one, odd.
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/resize_nearest_golden.bin");
  int cases = 0;
  for (const std::string dt : {"f32", "f64"})
    for (const std::string name : {"moco_w", "moco_h", "moco_up_w", "moco_up_h", "float_248_w", "float_62_h",
                                   "float_2_82_w", "down", "up", "x2", "same", "one", "odd"}) {
      const std::string key = "nearest_" + name + "_" + dt;
      INFO(key);
      Tensor x = g.at(key + ".x").clone().requires_grad_();
      const Tensor& want = g.at(key + ".y");
      const Tensor y = resize_nearest(x, want.size(2), want.size(3));
      CHECK(y.to_vector() == want.to_vector());  // a copy: exact
      const Check cg = allclose(grad({y}, {x}, {g.at(key + ".gy")})[0], g.at(key + ".gx"), 1e-6, 1e-6);
      INFO(cg.message);
      CHECK(cg.ok);
      ++cases;
    }
  CHECK(cases == 26);
  // One source each: an infinity is copied, not turned into NaN by a zero weight.
  const Tensor inf = full({1, 1, 3, 3}, std::numeric_limits<double>::infinity(), DType::f32);
  for (double v : resize_nearest(inf, 2, 5).to_vector()) CHECK(v == std::numeric_limits<double>::infinity());
}

TEST_CASE("resize_bilinear asymmetric: output j reads source j * in / out", "[resize]") {
  // A ramp along W: the output is the source coordinate itself, clamped to in - 1.
  const Tensor ramp = Tensor::from_vector({0, 1, 2, 3, 4}, {1, 1, 1, 5}, DType::f64);
  const Tensor y = resize_bilinear(ramp, 1, 8, ResizeCoords::asymmetric);
  for (int64_t j = 0; j < 8; ++j) CHECK(y.to_vector()[size_t(j)] == Approx(std::min(j * 5.0 / 8.0, 4.0)));
}

TEST_CASE("resize_bilinear: the backward is the transpose of the forward", "[resize]") {
  // <resize(x), g> == <x, resize_backward(g)> for every size pair, every mode.
  uint64_t seed = 3;
  for (ResizeCoords align : kAllCoords)
    for (const auto& [in, out] : std::vector<std::pair<Shape, Shape>>{
             {{4, 4}, {8, 8}}, {{16, 16}, {32, 32}}, {{7, 5}, {3, 11}}, {{9, 9}, {2, 2}}, {{1, 3}, {4, 1}}}) {
      INFO(coords_name(align) << " " << shape_str(in) << " -> " << shape_str(out));
      const Tensor x = random_tensor({2, 1, in[0], in[1]}, seed++), g = random_tensor({2, 1, out[0], out[1]}, seed++);
      const double a = sum(resize_bilinear(x, out[0], out[1], align) * g).item();
      const double b = sum(x * resize_bilinear_backward(g, in[0], in[1], align)).item();
      CHECK(a == Approx(b).epsilon(1e-12));
    }
  // Same size, any mode: the identity.
  const Tensor x = random_tensor({1, 2, 5, 6}, 9);
  for (ResizeCoords c : kAllCoords) CHECK(allclose(resize_bilinear(x, 5, 6, c), x, 1e-15, 1e-15).ok);
}

TEST_CASE("resize_bilinear: gradients to second order", "[resize][grad]") {
  uint64_t seed = 20;
  for (ResizeCoords align : kAllCoords)
    for (const auto& [in, out] : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {6, 7}}, {{6, 5}, {2, 3}}}) {
      INFO(coords_name(align) << " " << shape_str(in) << " -> " << shape_str(out));
      const Tensor x = random_tensor({1, 2, in[0], in[1]}, seed++).requires_grad_();
      const Fn f = [o = out, align](const std::vector<Tensor>& v) { return resize_bilinear(v[0], o[0], o[1], align); };
      check_first_and_second_order(f, {x});
      const Tensor g = random_tensor({1, 2, out[0], out[1]}, seed++).requires_grad_();
      const Fn fb = [i = in, align](const std::vector<Tensor>& v) {
        return resize_bilinear_backward(v[0], i[0], i[1], align);
      };
      check_first_and_second_order(fb, {g});
    }
}

TEST_CASE("resize_bilinear rejects bad arguments with a clear message", "[resize]") {
  REQUIRE_THROWS_WITH(resize_bilinear(ones({3, 4, 4}), 2, 2, ResizeCoords::align_corners),
                      Catch::Contains("[N, C, H, W]"));
  REQUIRE_THROWS_WITH(resize_bilinear(ones({1, 3, 4, 4}), 0, 2, ResizeCoords::half_pixel),
                      Catch::Contains("size must be positive"));
}

TEST_CASE("resize_bilinear on cuda matches the cpu", "[resize][cuda]") {
  const Device gpu = Device::cuda(0);
  uint64_t seed = 60;
  size_t large = 0;
  for (ResizeCoords align : kAllCoords)
    for (const auto& [s, o] : std::vector<std::pair<Shape, Shape>>{
             {{4, 512, 16, 16}, {32, 32}}, {{4, 512, 32, 32}, {64, 64}}, {{2, 3, 37, 29}, {11, 53}},
             {{1, 3, 1024, 1024}, {256, 256}}, {{3, 2, 1, 5}, {4, 1}}}) {
      if (!large_case_runs(shape_numel(s), large, 4)) continue;
      INFO(coords_name(align) << " " << shape_str(s) << " -> " << shape_str(o));
      const Tensor x = random_tensor(s, seed++, DType::f32);
      Tensor xc = x.detach().requires_grad_(), xg = x.to(gpu).requires_grad_();
      const Tensor want = resize_bilinear(xc, o[0], o[1], align);
      full(want.shape(), std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
      const Tensor got = resize_bilinear(xg, o[0], o[1], align);
      CHECK(allclose(got, want, 1e-5, 1e-6).ok);
      const Tensor gy = random_tensor(want.shape(), seed++, DType::f32);
      const Tensor dc = grad({want}, {xc}, {gy})[0];
      full(s, std::numeric_limits<double>::quiet_NaN(), DType::f32, gpu);
      const Check cg = allclose(grad({got}, {xg}, {gy.to(gpu)})[0], dc, 1e-4, 1e-5);
      INFO(cg.message);
      CHECK(cg.ok);
    }
}
