// resize_bilinear_pil: equal, byte for byte, to PIL's Image.resize(size,
// Image.BILINEAR) (golden values from tools/make_pil_resize_golden.py), which
// is how pSp's transforms resize every input image.
#include <catch2/catch.hpp>
#include <string>

#include "engine/io/safetensors.h"
#include "train/image_resize.h"

using namespace gf;

TEST_CASE("resize_bilinear_pil equals PIL's bilinear resize", "[image_resize]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/pil_resize_golden.bin");
  for (const std::string name : {"down", "up", "wide", "tall", "odd", "same"}) {
    INFO(name);
    const Tensor& in = g.at(name + ".in");
    const Tensor& want = g.at(name + ".out");
    std::vector<uint8_t> px;
    for (double v : in.to_vector()) px.push_back(static_cast<uint8_t>(v));
    const auto got = resize_bilinear_pil(px, int(in.size(1)), int(in.size(0)), 3, int(want.size(1)), int(want.size(0)));
    const std::vector<double> w = want.to_vector();
    REQUIRE(got.size() == w.size());
    size_t diff = 0;
    for (size_t i = 0; i < w.size(); ++i) diff += got[i] != static_cast<uint8_t>(w[i]);
    CHECK(diff == 0);
  }
  REQUIRE_THROWS_WITH(resize_bilinear_pil(std::vector<uint8_t>(12), 2, 2, 3, 0, 4),
                      Catch::Contains("sizes must be positive"));
}

TEST_CASE("resize_lanczos_pil equals PIL's Lanczos resize", "[image_resize]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/pil_resize_golden.bin");
  for (const std::string name : {"lanczos_down", "lanczos_up", "lanczos_odd", "lanczos_strong"}) {
    INFO(name);
    const Tensor& in = g.at(name + ".in");
    const Tensor& want = g.at(name + ".out");
    std::vector<uint8_t> px;
    for (double v : in.to_vector()) px.push_back(static_cast<uint8_t>(v));
    const auto got = resize_lanczos_pil(px, int(in.size(1)), int(in.size(0)), 3, int(want.size(1)), int(want.size(0)));
    const std::vector<double> w = want.to_vector();
    REQUIRE(got.size() == w.size());
    size_t diff = 0;
    for (size_t i = 0; i < w.size(); ++i) diff += got[i] != static_cast<uint8_t>(w[i]);
    CHECK(diff == 0);
    // The bilinear filter gives other bytes: the case tells the filters apart.
    CHECK(resize_bilinear_pil(px, int(in.size(1)), int(in.size(0)), 3, int(want.size(1)), int(want.size(0))) != got);
  }
}

TEST_CASE("resize_box_pil equals PIL's box resize", "[image_resize]") {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/pil_resize_golden.bin");
  for (const std::string name : {"box_exact", "box_down", "box_up", "box_odd"}) {
    INFO(name);
    const Tensor& in = g.at(name + ".in");
    const Tensor& want = g.at(name + ".out");
    std::vector<uint8_t> px;
    for (double v : in.to_vector()) px.push_back(static_cast<uint8_t>(v));
    const int iw = int(in.size(1)), ih = int(in.size(0)), ow = int(want.size(1)), oh = int(want.size(0));
    const auto got = resize_box_pil(px, iw, ih, 3, ow, oh);
    const std::vector<double> w = want.to_vector();
    REQUIRE(got.size() == w.size());
    size_t diff = 0;
    for (size_t i = 0; i < w.size(); ++i) diff += got[i] != static_cast<uint8_t>(w[i]);
    CHECK(diff == 0);
    CHECK(resize_lanczos_pil(px, iw, ih, 3, ow, oh) != got);
  }
}
