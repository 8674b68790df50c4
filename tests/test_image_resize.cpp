// resize_*_pil: equal, byte for byte, to PIL's Image.resize with the same
// filter (golden values from tools/fixtures/make_pil_resize_golden.py, Pillow 9.4):
// bilinear is how pSp's transforms resize every input image, Lanczos how the
// official projector.py resizes its target, box one of dataset_tool.py's
// filters, bicubic (Image.resize's default) how pSp's scripts size the
// panels of their side-by-side images.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/io/safetensors.h"
#include "data/images/image_resize.h"

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

// PIL 9.4's Image.NEAREST on a row holding its own x (values from
// Image.fromarray(np.arange(n, dtype=np.uint8)[None]).resize((m, 1),
// Image.NEAREST)), at sizes where floor((x + 0.5) * n / m) picks another pixel
// (the marked ones): PIL sums the position step by step. The same along y.
TEST_CASE("resize_nearest_pil picks PIL's pixels", "[image_resize]") {
  const struct {
    int in, out;
    std::vector<uint8_t> pil;
  } cases[] = {{32, 12, {1, 4, 6, 9, 11 /* 12 */, 14, 17, 20, 22, 25, 28, 30}},
               {16, 20, {0, 1, 2, 2, 3, 4, 5, 5 /* 6 */, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 14, 15}},
               {104, 12, {4, 13, 21, 30, 38 /* 39 */, 47, 56, 64 /* 65 */, 73, 82, 91, 99}}};
  for (const auto& c : cases) {
    INFO(c.in << " -> " << c.out);
    std::vector<uint8_t> line(static_cast<size_t>(c.in));
    for (int i = 0; i < c.in; ++i) line[static_cast<size_t>(i)] = uint8_t(i);
    CHECK(resize_nearest_pil(line, c.in, 1, 1, c.out, 1) == c.pil);
    CHECK(resize_nearest_pil(line, 1, c.in, 1, 1, c.out) == c.pil);
  }
  // Channels move together.
  const std::vector<uint8_t> rgb{1, 2, 3, 4, 5, 6};
  CHECK(resize_nearest_pil(rgb, 2, 1, 3, 1, 1) == std::vector<uint8_t>{4, 5, 6});
}
