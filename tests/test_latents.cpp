// models/latents: what generate's modes are built from. A seed's ws are the
// mapping of its z; w files broadcast [N, w_dim]; style mixing copies exactly
// the chosen styles; the mixing canvas has the official layout; interpolation
// hits both ends exactly.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include <cmath>

#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "models/latents.h"
#include "models/stylegan2/latents.h"
#include "train/video_writer.h"
#include "tests/testing.h"

using namespace gf;
using namespace gf::stylegan2;

namespace {

GeneratorConfig small_generator() {
  GeneratorConfig c;
  c.z_dim = 8;
  c.w_dim = 8;
  c.img_resolution = 8;
  c.img_channels = 3;
  c.channel_base = 64;
  c.channel_max = 8;
  c.mapping_layers = 2;
  return c;
}

using gf::test::bit_equal;

Tensor at(const Tensor& t, int64_t i) { return slice(t, 0, i, i + 1); }

std::string temp_npy(const std::string& name, const Tensor& t) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("gf_test_latents_" + std::to_string(::getpid()) + "_" + name)).string();
  io::save_npy(path, t);
  return path;
}

}  // namespace

TEST_CASE("latents: a seed's ws are its z through the mapping, and give G.forward's image", "[latents]") {
  stylegan2::Generator G(small_generator(), 3);
  NoGradGuard ng;
  const Tensor ws = seed_ws(G, {5, 9}, Tensor(), 0.5, Device::cpu());
  REQUIRE(ws.shape() == Shape{2, int64_t{G.num_ws()}, 8});
  const Tensor z9 = seed_latent(9, 8, Device::cpu());
  REQUIRE(bit_equal(at(ws, 1), G.mapping.forward(z9, Tensor(), 0.5)));
  SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  REQUIRE(bit_equal(G.synthesis.forward(at(ws, 1), so), G.forward(z9, Tensor(), 0.5, std::nullopt, so)));
  // A seed's ws do not depend on the other seeds of the run.
  REQUIRE(bit_equal(seed_ws(G, {9}, Tensor(), 0.5, Device::cpu()), at(ws, 1)));
}

TEST_CASE("latents: w files of [N, w_dim] broadcast to every layer; other shapes are one error", "[latents]") {
  const Tensor w = test::random_tensor({2, 4}, 1, DType::f64);  // float64, as numpy makes it
  const std::string path = temp_npy("w.npy", w);
  const Tensor ws = read_ws(path, 3, 4, "--w");
  REQUIRE(ws.shape() == Shape{2, 3, 4});
  REQUIRE(ws.dtype() == DType::f32);
  for (int64_t l = 0; l < 3; ++l) REQUIRE(slice(ws, 1, l, l + 1).reshape({2, 4}).to_vector() == w.to(DType::f32).to_vector());
  REQUIRE(read_ws(path, 2, 4, "--w").shape() == Shape{2, 2, 4});
  REQUIRE_THROWS_WITH(read_ws(path, 3, 5, "--w"),
                      Catch::Contains("--w " + path) && Catch::Contains("[2, 4]") && Catch::Contains("[N, 3, 5]"));
  REQUIRE_THROWS_WITH(read_rows(path, 5, "--z", "z_dim"), Catch::Contains("--z " + path) && Catch::Contains("[N, 5]"));
  std::filesystem::remove(path);
}

TEST_CASE("latents: style mixing takes exactly the chosen styles from the column", "[latents]") {
  const Tensor rows = test::random_tensor({2, 5, 3}, 1, DType::f32), cols = test::random_tensor({3, 5, 3}, 2, DType::f32);
  const Tensor mixed = style_mix(rows, cols, {0, 3});
  REQUIRE(mixed.shape() == Shape{6, 5, 3});
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t s = 0; s < 5; ++s) {
        const Tensor& src = (s == 0 || s == 3) ? cols : rows;
        const int64_t k = (s == 0 || s == 3) ? c : r;
        REQUIRE(bit_equal(slice(at(mixed, r * 3 + c), 1, s, s + 1), slice(at(src, k), 1, s, s + 1)));
      }
  REQUIRE_THROWS_WITH(style_mix(rows, cols, {5}), Catch::Contains("style 5 is outside [0, 5)"));
}

TEST_CASE("latents: the mixing canvas is black, column originals, then each row's original and mixes", "[latents]") {
  // Images that are constant at their own value, so each cell says where it came from.
  auto imgs = [](std::vector<double> v) {
    std::vector<Tensor> out;
    for (double x : v) out.push_back(full({1, 1, 2, 2}, x));
    return concat(out, 0);
  };
  const Tensor canvas = mixing_canvas(imgs({10, 20}), imgs({1, 2, 3}), imgs({11, 12, 13, 21, 22, 23}));
  REQUIRE(canvas.shape() == Shape{12, 1, 2, 2});
  const std::vector<double> want{-1, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};
  for (int64_t i = 0; i < 12; ++i) REQUIRE(at(canvas, i).to_vector() == std::vector<double>(4, want[i]));
}

TEST_CASE("latents: interpolation in W is exact at both ends and even between", "[latents]") {
  const Tensor a = test::random_tensor({1, 4, 3}, 1, DType::f32), b = test::random_tensor({1, 4, 3}, 2, DType::f32);
  REQUIRE(interpolate_w(a, b, 2, 5).shape() == Shape{1, 4, 3});
  REQUIRE(bit_equal(interpolate_w(a, b, 0, 5), a));
  REQUIRE(bit_equal(interpolate_w(a, b, 4, 5), b));
  CHECK(test::allclose(interpolate_w(a, b, 2, 5), affine(add(a, b), 0.5, 0)).ok);
  CHECK(test::allclose(interpolate_w(a, b, 1, 5), add(affine(a, 0.75, 0), affine(b, 0.25, 0))).ok);
  REQUIRE_THROWS_WITH(interpolate_w(a, b, 0, 1), Catch::Contains("at least 2 frames"));
  REQUIRE_THROWS_WITH(interpolate_w(a, b, 5, 5), Catch::Contains("outside [0, 5)"));
}

// PGGAN's latent walk against scipy's gaussian_filter of numpy's draws
// (tools/fixtures/make_latent_walk_golden.py): the smoothing's float64 sums are
// scipy's, the normalizing weights and the float32 mean of squares numpy's
// pairwise sums, so a few float32 steps apart at most.
TEST_CASE("latents: the latent walk equals the official smoothed, normalized draws", "[latents]") {
  const io::TensorMap g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/latent_walk_golden.bin");
  for (const std::string name : {"walk_50", "walk_short", "walk_sharp"}) {
    INFO(name);
    const std::vector<double> p = g.at(name + ".params").to_vector();
    const Tensor z = latent_walk(int64_t(p[0]), int64_t(p[1]), int(p[2]), p[3], uint32_t(p[4]));
    const Tensor& want = g.at(name + ".z");
    REQUIRE(z.shape() == want.shape());
    const std::vector<double> a = z.to_vector(), b = want.to_vector();
    double worst = 0;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]));
    CHECK(worst < 1e-6);
  }
  // The walk loops: the last frame is as close to the first as to the one before it.
  const std::vector<double> w = latent_walk(40, 1, 16, 4.0, 3).to_vector();
  double wrap = 0, step = 0;
  for (int k = 0; k < 16; ++k) {
    wrap += std::fabs(w[size_t(39 * 16 + k)] - w[size_t(k)]);
    step += std::fabs(w[size_t(39 * 16 + k)] - w[size_t(38 * 16 + k)]);
  }
  CHECK(wrap < 2 * step);
  CHECK_THROWS_WITH(latent_walk(0, 1, 4, 1.0, 0), Catch::Contains("needs frames"));
}

// A video frame's enlargement equals scipy.ndimage.zoom(order=0)'s, whose
// nearest input is not always o / zoom (tools/fixtures/make_latent_walk_golden.py).
TEST_CASE("latents: a video frame is enlarged as scipy's zoom, grey repeated to RGB", "[latents]") {
  const io::TensorMap g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/latent_walk_golden.bin");
  for (const std::string name : {"zoom_grey", "zoom_rgb"}) {
    INFO(name);
    const Tensor& grid = g.at(name + ".grid");
    const int64_t h = grid.size(0), w = grid.size(1), c = grid.size(2);
    const int zoom = int(g.at(name + ".zoom").to_vector()[0]);
    // As one [1, c, h, w] image whose values PGGAN's 8-bit conversion turns back into the grid's.
    const std::vector<double> v = grid.to_vector();
    std::vector<double> chw(v.size());
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t k = 0; k < c; ++k) chw[size_t((k * h + y) * w + x)] = v[size_t((y * w + x) * c + k)] / 127.5 - 1;
    const std::vector<uint8_t> frame =
        grid_video_frame(Tensor::from_vector(chw, {1, c, h, w}), 1, 1, zoom, To8Bit::tf_grid);
    const std::vector<double> want = g.at(name + ".out").to_vector();
    REQUIRE(frame.size() == want.size() / size_t(c) * 3);
    size_t differ = 0;
    for (size_t p = 0; p < want.size() / size_t(c); ++p)
      for (size_t k = 0; k < 3; ++k) differ += frame[p * 3 + k] != uint8_t(want[p * size_t(c) + (c == 1 ? 0 : k)]);
    CHECK(differ == 0);
  }
  // Two images side by side, row-major: the second's pixels start at column w.
  const Tensor two = Tensor::from_vector({-1, -1, -1, -1, 1, 1, 1, 1}, {2, 1, 2, 2});
  const std::vector<uint8_t> f = grid_video_frame(two, 2, 1, 1, To8Bit::tf_grid);
  CHECK(f == std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255,
                                  0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255});
}
