// models/latents: what generate's modes are built from. A seed's ws are the
// mapping of its z; w files broadcast [N, w_dim]; style mixing copies exactly
// the chosen styles; the mixing canvas has the official layout; interpolation
// hits both ends exactly.
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "engine/io/npy.h"
#include "models/stylegan2/latents.h"
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
