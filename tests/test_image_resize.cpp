// resize_*_pil: equal, byte for byte, to PIL's Image.resize with the same
// filter (golden values from tools/make_pil_resize_golden.py, Pillow 9.4):
// bilinear is how pSp's transforms resize every input image, Lanczos how the
// official projector.py resizes its target, box one of dataset_tool.py's
// filters, bicubic (Image.resize's default) how pSp's scripts size the
// panels of their side-by-side images.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "train/image_resize.h"

using namespace gf;

namespace {

using Resize = std::vector<uint8_t> (*)(const std::vector<uint8_t>&, int, int, int, int, int);

// Each golden case `name` (.in, .out: float HWC of 8-bit RGB values) through
// `resize` gives PIL's bytes; through `other` (another filter) it does not,
// where the sizes differ, so the cases tell the filters apart.
void check_against_pil(const std::vector<std::string>& names, Resize resize, Resize other) {
  const auto g = io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/pil_resize_golden.bin");
  for (const std::string& name : names) {
    INFO(name);
    const Tensor& in = g.at(name + ".in");
    const Tensor& want = g.at(name + ".out");
    std::vector<uint8_t> px;
    for (double v : in.to_vector()) px.push_back(static_cast<uint8_t>(v));
    const int iw = int(in.size(1)), ih = int(in.size(0)), ow = int(want.size(1)), oh = int(want.size(0));
    const auto got = resize(px, iw, ih, 3, ow, oh);
    const std::vector<double> w = want.to_vector();
    REQUIRE(got.size() == w.size());
    size_t diff = 0;
    for (size_t i = 0; i < w.size(); ++i) diff += got[i] != static_cast<uint8_t>(w[i]);
    CHECK(diff == 0);
    if (iw != ow || ih != oh) CHECK(other(px, iw, ih, 3, ow, oh) != got);
  }
}

}  // namespace

TEST_CASE("resize_bilinear_pil equals PIL's bilinear resize", "[image_resize]") {
  check_against_pil({"down", "up", "wide", "tall", "odd", "same"}, resize_bilinear_pil, resize_lanczos_pil);
  REQUIRE_THROWS_WITH(resize_bilinear_pil(std::vector<uint8_t>(12), 2, 2, 3, 0, 4),
                      Catch::Contains("sizes must be positive"));
}

TEST_CASE("resize_lanczos_pil equals PIL's Lanczos resize", "[image_resize]") {
  check_against_pil({"lanczos_down", "lanczos_up", "lanczos_odd", "lanczos_strong"}, resize_lanczos_pil,
                    resize_bilinear_pil);
}

TEST_CASE("resize_box_pil equals PIL's box resize", "[image_resize]") {
  check_against_pil({"box_exact", "box_down", "box_up", "box_odd"}, resize_box_pil, resize_lanczos_pil);
}

TEST_CASE("resize_bicubic_pil equals PIL's bicubic resize", "[image_resize]") {
  check_against_pil({"bicubic_down", "bicubic_up", "bicubic_odd", "bicubic_same"}, resize_bicubic_pil,
                    resize_bilinear_pil);
}
