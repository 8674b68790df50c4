// TIFF decoding (data/images/tiff_image.h through data/images/image_io.h's
// decode_image): files written here with libtiff's own writer, read back
// through the one decoder every image reader uses. Pillow's pixels for the
// common kinds are compared in tests/cli/tiff_like_pil.py; here what Pillow
// cannot write: the Orientation tag (applied upright, left as stored for the
// programs that read as PIL does), 16-bit samples, big-endian files, samples
// libtiff's RGBA reader refuses, and cut files.
#include <catch2/catch.hpp>
#include <tiffio.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing.h"
#include "data/images/image_io.h"
#include "data/images/tiff_image.h"

using namespace gf;

namespace {

struct Spec {
  uint32_t w = 3, h = 2;
  uint16_t samples = 3, bits = 8, orientation = 1, sample_format = SAMPLEFORMAT_UINT;
  uint16_t photometric = PHOTOMETRIC_RGB;
  bool big_endian = false;
  int pages = 1;
};

// A TIFF of `spec` whose samples are `samples` (one page's, repeated per page), written by libtiff.
std::vector<uint8_t> write_tiff(const Spec& spec, const std::vector<uint16_t>& samples) {
  gf::test::TempDir dir("tiff");
  const std::string path = dir / "t.tif";
  TIFF* t = TIFFOpen(path.c_str(), spec.big_endian ? "wb" : "wl");
  REQUIRE(t);
  for (int page = 0; page < spec.pages; ++page) {
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, spec.w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, spec.h);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, spec.samples);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, spec.bits);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, spec.sample_format);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, spec.photometric);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_ORIENTATION, spec.orientation);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, spec.h);
    if (spec.samples == 4 || spec.samples == 2) {
      const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
      TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    std::vector<uint8_t> row(TIFFScanlineSize(t));
    const size_t per_row = size_t(spec.w) * spec.samples;
    for (uint32_t y = 0; y < spec.h; ++y) {
      for (size_t i = 0; i < per_row; ++i) {
        const uint16_t v = samples[y * per_row + i];
        if (spec.bits == 8) row[i] = uint8_t(v);
        else std::memcpy(&row[i * 2], &v, 2);  // libtiff swaps to the file's order
      }
      REQUIRE(TIFFWriteScanline(t, row.data(), y, 0) == 1);
    }
    REQUIRE(TIFFWriteDirectory(t));
  }
  TIFFClose(t);
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), {});
}

std::vector<uint8_t> decoded(const std::vector<uint8_t>& file, int channels, ImageInfo* info = nullptr,
                             Conversions* done = nullptr, bool upright = true) {
  return decode_image(file.data(), file.size(), "t.tif", channels, info, done, upright);
}

}  // namespace

TEST_CASE("TIFF: 8-bit RGB, little- and big-endian, as stored", "[tiff]") {
  const std::vector<uint16_t> px = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170, 180};
  for (bool big : {false, true}) {
    Spec s;
    s.big_endian = big;
    const std::vector<uint8_t> file = write_tiff(s, px);
    CHECK(is_tiff(file.data(), file.size()));
    ImageInfo info;
    const std::vector<uint8_t> got = decoded(file, 3, &info);
    CHECK(info.format == "TIFF");
    CHECK(info.width == 3);
    CHECK(info.height == 2);
    CHECK(got == std::vector<uint8_t>(px.begin(), px.end()));
  }
}

TEST_CASE("TIFF: the Orientation tag turns the image upright, also for the programs that read as PIL", "[tiff]") {
  // Stored 3 wide, 2 high: a b c / d e f (grey). Orientation 6 (RIGHTTOP): the
  // stored rows are the displayed columns from the right: shown 2 wide, 3 high,
  // d a / e b / f c, as Pillow turns it on load (ROTATE_270).
  Spec s;
  s.samples = 1;
  s.photometric = PHOTOMETRIC_MINISBLACK;
  s.orientation = 6;
  const std::vector<uint8_t> file = write_tiff(s, {1, 2, 3, 4, 5, 6});
  ImageInfo info;
  Conversions done;
  CHECK(decoded(file, 1, &info, &done) == std::vector<uint8_t>{4, 1, 5, 2, 6, 3});
  CHECK(info.width == 2);
  CHECK(info.height == 3);
  CHECK(done.oriented);
  CHECK(decoded(file, 1, &info, nullptr, false) == std::vector<uint8_t>{4, 1, 5, 2, 6, 3});
  CHECK(info.width == 2);
  // Orientation 3 (BOTRIGHT): turned half round.
  s.orientation = 3;
  CHECK(decoded(write_tiff(s, {1, 2, 3, 4, 5, 6}), 1) == std::vector<uint8_t>{6, 5, 4, 3, 2, 1});
}

// 16-bit samples to 8 bits by the high byte, colour as Pillow's RGB;16
// unpackers make it (libtiff's reader rounded, (v + 128) / 257: a level apart
// in places, a breaker's find against Pillow), grey likewise.
TEST_CASE("TIFF: 16-bit samples take their high byte, colour and grey; pages after the first are counted",
          "[tiff]") {
  Spec s;
  s.bits = 16;
  s.pages = 2;
  const std::vector<uint16_t> px = {0x0000, 0x00FF, 0x0100, 0x7F80, 0x8000, 0xFFFF,
                                    0x1234, 0xABCD, 0x4000, 0x0001, 0xFF00, 0x80FF, 0, 0, 0, 0, 0, 0};
  Conversions done;
  const std::vector<uint8_t> got = decoded(write_tiff(s, px), 3, nullptr, &done);
  std::vector<uint8_t> want;
  for (uint16_t v : px) want.push_back(uint8_t(v >> 8));
  CHECK(got == want);
  CHECK(done.high_byte);
  CHECK_FALSE(done.to_8_bit);
  CHECK(done.frames == 2);
  Spec grey;
  grey.bits = 16;
  grey.samples = 1;
  grey.photometric = PHOTOMETRIC_MINISBLACK;
  const std::vector<uint16_t> g = {0x00FF, 0x0180, 0x7FFF, 0x8000, 0xFF7F, 0xFFFF};
  CHECK(decoded(write_tiff(grey, g), 1, nullptr, &done) == std::vector<uint8_t>{0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFF});
  CHECK(done.high_byte);
}

TEST_CASE("TIFF: grey with alpha, opaque is dropped and transparent refused", "[tiff]") {
  Spec s;
  s.samples = 2;
  s.photometric = PHOTOMETRIC_MINISBLACK;
  Conversions done;
  CHECK(decoded(write_tiff(s, {9, 255, 8, 255, 7, 255, 6, 255, 5, 255, 4, 255}), 1, nullptr, &done) ==
        std::vector<uint8_t>{9, 8, 7, 6, 5, 4});
  CHECK(done.alpha_dropped);
  CHECK_THROWS_AS(decoded(write_tiff(s, {9, 255, 8, 0, 7, 255, 6, 255, 5, 255, 4, 255}), 1), TransparentImageError);
}

TEST_CASE("TIFF: float samples and cut files are refused in one line naming the file", "[tiff]") {
  const std::vector<uint8_t> float_file = [&] {
    // A 32-bit float grey image: 3x2 samples of 4 bytes.
    gf::test::TempDir dir("tiff");
    const std::string path = dir / "f.tif";
    TIFF* t = TIFFOpen(path.c_str(), "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, 3u);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, 2u);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, uint16_t(1));
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, uint16_t(32));
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, uint16_t(SAMPLEFORMAT_IEEEFP));
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, uint16_t(PHOTOMETRIC_MINISBLACK));
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 2u);
    float row[3] = {0.5f, 0.25f, 1.0f};
    TIFFWriteScanline(t, row, 0, 0);
    TIFFWriteScanline(t, row, 1, 0);
    TIFFClose(t);
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
  }();
  CHECK_THROWS_WITH(decoded(float_file, 1), Catch::StartsWith("t.tif: unreadable TIFF ("));

  Spec big;
  big.w = 64, big.h = 64;
  std::vector<uint16_t> px(size_t(64) * 64 * 3, 77);
  const std::vector<uint8_t> whole = write_tiff(big, px);
  // libtiff writes the pixels first and the directory last: a cut file
  // points to a directory past its end.
  const std::vector<uint8_t> cut(whole.begin(), whole.begin() + long(whole.size() / 2));
  CHECK_THROWS_WITH(decoded(cut, 3), Catch::StartsWith("t.tif: unreadable TIFF ("));
}

TEST_CASE("TIFF: a header claiming more pixels than the file holds is refused before any raster is made", "[tiff]") {
  // A hand-made little-endian TIFF: 16384 x 16384 grey, uncompressed, one
  // strip of 16 bytes (a 1 GiB raster was filled before the read failed).
  std::vector<uint8_t> f = {'I', 'I', 42, 0, 8, 0, 0, 0};
  struct Entry {
    uint16_t tag, type;
    uint32_t count, value;
  };
  const std::vector<Entry> entries = {{256, 4, 1, 16384}, {257, 4, 1, 16384}, {258, 3, 1, 8},    {259, 3, 1, 1},
                                      {262, 3, 1, 1},     {273, 4, 1, 200},   {277, 3, 1, 1},    {278, 4, 1, 16384},
                                      {279, 4, 1, 16}};
  auto put16 = [&](uint16_t v) { f.push_back(uint8_t(v)), f.push_back(uint8_t(v >> 8)); };
  auto put32 = [&](uint32_t v) { put16(uint16_t(v)), put16(uint16_t(v >> 16)); };
  put16(uint16_t(entries.size()));
  for (const Entry& e : entries) put16(e.tag), put16(e.type), put32(e.count), put32(e.value);
  put32(0);
  f.resize(200 + 16, 7);
  // (libtiff may take such a byte count for a bad one and estimate the strip's
  // full size, which then runs past the end: either way, refused as cut.)
  CHECK_THROWS_WITH(decoded(f, 1), Catch::StartsWith("t.tif: unreadable TIFF (") && Catch::EndsWith("(a truncated file?))"));
  // The strip's offset past the end of the file.
  f[8 + 2 + 5 * 12 + 8] = 0xFF, f[8 + 2 + 5 * 12 + 9] = 0xFF;
  CHECK_THROWS_WITH(decoded(f, 1), Catch::Contains("its pixel data runs past the end of the file"));
}
