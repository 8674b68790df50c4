// Image files as the datasets read them, as Pillow reads them: PNG (16 bits,
// palettes, image data past the rows), JPEG, WebP, GIF, BMP, PCX, PSD, PNM,
// EXIF orientation, transparency, truncated files, the decompression-bomb
// limit; files skipped by name; 8-bit conversion and image grids.
#include <catch2/catch.hpp>
#include <webp/encode.h>
#include <webp/mux.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#include "data/archives/zip_reader.h"
#include "data/dataset.h"
#include "data/images/cmyk_as_pil.h"
#include "data/images/image_io.h"
#include "data/images/png_image.h"
#include "engine/io/atomic_file.h"
#include "tests/dataset_fixture.h"
#include "tests/testing.h"
#include "tests/zip_fixture.h"

using namespace gf;
namespace fs = std::filesystem;
using gf::test::error_of;
using gf::test::TempDir;
using gf::test::png_bytes;
using gf::test::write_file;
using gf::test::png_chunk;
using gf::test::handmade_png;
using gf::test::padded_png;
using gf::test::exif_orientation_block;
using gf::test::encoded;
using gf::test::has_line;
using gf::test::stored_zip;

TEST_CASE("a PNG grid the writer cannot take is refused, one it can is not", "[dataset]") {
  // 24x24 images of 1024x1024x3: 1.81e9 filtered bytes, under INT_MAX, but
  // the compressed buffer (up to 9/8 of them) would pass 2^30 bytes.
  CHECK(error_of([] { check_grid_png_size(1024, 1024, 3, 24, 24, "grid"); })
            .find("grid: a grid of 24x24 images of 1024x1024 would be a 24576x24576 PNG, over the 0.95 GB") == 0);
  CHECK(error_of([] { check_grid_png_size(1024, 1024, 3, 17, 17, "grid"); }) == "(no error)");  // 0.91e9 bytes
  CHECK(error_of([] { check_grid_png_size(1024, 1024, 3, 18, 18, "grid"); }) != "(no error)");  // 1.02e9 bytes
}

// stb_image inflated a PNG's whole image-data stream before taking its rows,
// where PIL inflates with zlib and stops at the image's end: a 2 MB PNG of
// 8x8 held 2 GB. stb is given the rows alone: whatever follows them reads
// as PIL reads it, within the memory the rows take; a stream zlib refuses
// (stb read a window-size field of 8) and Apple's CgBI PNGs fail, as in PIL.
TEST_CASE("a PNG's image data is read up to its rows, as PIL reads it", "[dataset]") {
  auto bytes = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  for (const bool interlaced : {false, true}) {
    const std::string clean = padded_png(interlaced, 0), stray = padded_png(interlaced, 100);
    const std::string bomb = padded_png(interlaced, size_t(8) << 20);
    REQUIRE(bomb.size() < 20000);
    const std::vector<uint8_t> want = decode_image(bytes(clean), clean.size(), "clean.png", 1);
    for (int i = 0; i < 64; ++i) REQUIRE(want[size_t(i)] == uint8_t(16 * (i / 8) + i % 8));
    CHECK(decode_image(bytes(stray), stray.size(), "stray.png", 1) == want);
    CHECK(decode_image(bytes(bomb), bomb.size(), "bomb.png", 1) == want);
  }
  // libpng stops at the last row: of a stream with 64 MiB of zeros after
  // the rows (a 64 KiB file), it reads the first IDAT read's 8 KiB, not
  // the rest (it would inflate all of it to check the stream's end).
  for (const bool interlaced : {false, true}) {
    const std::string bomb = padded_png(interlaced, size_t(64) << 20);
    REQUIRE(bomb.size() > 60000);
    const PngImage png = decode_png(bytes(bomb), bomb.size(), "bomb.png");
    CHECK(png.bytes_read <= 8192 + 64);
    CHECK(png.pixels == decode_image(bytes(padded_png(interlaced, 0)), padded_png(interlaced, 0).size(), "clean.png", 1));
  }
  const std::string window8 = padded_png(false, 0, 0x88);
  CHECK(error_of([&] { decode_image(bytes(window8), window8.size(), "w8.png", 1); }) ==
        "w8.png: corrupt PNG image data (libpng: invalid window size)");
  std::string cgbi = padded_png(false, 0);
  cgbi.insert(8, png_chunk("CgBI", std::string("\x50\x00\x20\x06", 4)));
  CHECK(error_of([&] { decode_image(bytes(cgbi), cgbi.size(), "i.png", 1); }) ==
        "i.png: an Apple CgBI PNG (made for iOS: raw deflate, BGR order), which PIL cannot read");
#if !defined(__SANITIZE_ADDRESS__) && !defined(GF_ASAN)  // ASan's allocator maps its own memory
  // 256 MiB past the rows (256 kB of file), decoded in a child whose address
  // space allows 64 MiB more than it maps.
  const std::string big = padded_png(false, size_t(256) << 20);
  const std::vector<uint8_t> want = decode_image(bytes(padded_png(false, 0)), padded_png(false, 0).size(), "clean.png", 1);
  const gf::test::ChildEnd end = gf::test::run_with_address_limit(uint64_t(64) << 20, [&] {
    if (decode_image(bytes(big), big.size(), "big.png", 1) != want) std::fprintf(stderr, "other pixels\n");
  });
  REQUIRE(WIFEXITED(end.status));
  CHECK(end.err == "");
  CHECK(WEXITSTATUS(end.status) == 0);
#endif
}

// Uncompressed pixels cannot take fewer bytes than the image: a file
// shorter than its header's size needs is refused before stb_image
// allocates and fills the image (a 170-byte BMP claiming 13000x13000 took
// 1.3 GB and 5 s to refuse), in each format stb reads uncompressed (an
// HDR's flat rows too).
TEST_CASE("an uncompressed image whose file is shorter than its pixels is refused before it is decoded", "[dataset]") {
  auto le = [](uint32_t v, int bytes) {
    std::string s;
    for (int i = 0; i < bytes; ++i) s += char(v >> (8 * i));
    return s;
  };
  auto be = [](uint32_t v, int bytes) {
    std::string s;
    for (int i = bytes - 1; i >= 0; --i) s += char(v >> (8 * i));
    return s;
  };
  const uint32_t side = 13000;
  const std::string bmp = "BM" + le(170, 4) + le(0, 4) + le(54, 4) + le(40, 4) + le(side, 4) + le(side, 4) + le(1, 2) +
                          le(32, 2) + std::string(24, '\0') + std::string(116, '\x7f');
  const std::string tga = std::string("\0\0\x02", 3) + std::string(9, '\0') + le(side, 2) + le(side, 2) + "\x18\x20" +
                          std::string(100, '\x7f');
  const std::string ppm = "P6\n13000 13000\n255\n" + std::string(100, '\x7f');
  const std::string psd = "8BPS" + be(1, 2) + std::string(6, '\0') + be(3, 2) + be(side, 4) + be(side, 4) + be(8, 2) +
                          be(3, 2) + std::string(12, '\0') + be(0, 2) + std::string(100, '\x7f');
  const std::string hdr = "#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 13000 +X 13000\n" + std::string(100, '\x7f');  // flat rows
  for (const auto& named : {std::pair<std::string, std::string>{"a.bmp", bmp}, {"a.tga", tga}, {"a.ppm", ppm},
                             {"a.psd", psd}, {"a.hdr", hdr}}) {
    // Named, not bound: C++17 lambdas may not capture structured bindings (clang refuses; GCC lets it pass).
    const std::string &name = named.first, &file = named.second;
    const std::string format = name == "a.bmp"   ? "BMP"
                               : name == "a.tga" ? "TGA"
                               : name == "a.ppm" ? "PNM"
                               : name == "a.psd" ? "PSD"
                                                 : "HDR";
    const uint8_t* d = reinterpret_cast<const uint8_t*>(file.data());
    REQUIRE(image_info(d, file.size(), name).width == int(side));
#if !defined(__SANITIZE_ADDRESS__) && !defined(GF_ASAN)  // ASan's allocator maps its own memory
    // In a child whose address space allows 64 MiB more than it maps (the image is 507 MB).
    const gf::test::ChildEnd end = gf::test::run_with_address_limit(uint64_t(64) << 20, [&] {
      std::fprintf(stderr, "%s", error_of([&] { decode_image(d, file.size(), name, 3); }).c_str());
    });
    REQUIRE(WIFEXITED(end.status));
    CHECK(end.err == name + ": truncated " + format + ": the file ends before its pixels do");
#else
    CHECK(error_of([&] { decode_image(d, file.size(), name, 3); }) ==
          name + ": truncated " + format + ": the file ends before its pixels do");
#endif
  }
}

TEST_CASE("8-bit conversion: float32, as the official save_image_grids (rint) and generate.py (+128, truncated)", "[dataset]") {
  // Values (float32 bit patterns) where the two official formulas, or a
  // double-precision rint((x + 1) * 127.5), disagree; the expected levels
  // are what NumPy 1.24 (np.rint((x - -1) * (255 / 2)) on float32) and torch
  // 1.13 ((x * 127.5 + 128).clamp(0, 255).to(torch.uint8)) give.
  struct Case {
    uint32_t bits;
    int grid, generate_py;
  };
  const Case cases[] = {{1048115446u, 158, 159}, {1027653811u, 134, 134}, {3189282966u, 108, 109},
                        {1063050459u, 238, 237}, {3203987705u, 66, 66},   {1061339842u, 224, 225}};
  for (const Case& c : cases) {
    float x;
    std::memcpy(&x, &c.bits, 4);
    INFO(c.bits);
    CHECK(int(to_8_bit(x, To8Bit::grid)) == c.grid);
    CHECK(int(to_8_bit(x, To8Bit::generate_py)) == c.generate_py);
  }
  // PGGAN's and StyleGAN's misc.adjust_dynamic_range: x * 127.5 + 127.5 in
  // float32, then np.rint (NumPy 1.24), against StyleGAN2-ADA's (x + 1) * 127.5.
  const Case tf_cases[] = {{1058708124u, 205, 204}, {1048115453u, 159, 158}, {1034989753u, 139, 138}, {3206586529u, 47, 48}};
  for (const Case& c : tf_cases) {  // {bits, grid, tf_grid}
    float x;
    std::memcpy(&x, &c.bits, 4);
    INFO(c.bits);
    CHECK(int(to_8_bit(x, To8Bit::grid)) == c.grid);
    CHECK(int(to_8_bit(x, To8Bit::tf_grid)) == c.generate_py);
  }
  CHECK(to_8_bit(-0.2f, To8Bit::psp_tensor2im) == 102);  // float32's (x + 1) / 2 * 255 is 102.0 exactly
  for (To8Bit how : {To8Bit::grid, To8Bit::tf_grid, To8Bit::generate_py, To8Bit::psp_tensor2im}) {  // clipped; NaN is 0
    CHECK(to_8_bit(-1.5f, how) == 0);
    CHECK(to_8_bit(1.5f, how) == 255);
    CHECK(to_8_bit(std::nanf(""), how) == 0);
    CHECK(to_8_bit(-1.0f, how) == 0);
    CHECK(to_8_bit(1.0f, how) == 255);
  }
}

TEST_CASE("image grid: written as a PNG that reads back exactly", "[dataset]") {
  TempDir dir("grid");
  // Values on the uint8 grid survive the round trip exactly; out-of-range ones clip.
  std::vector<double> v(6 * 3 * 4 * 5);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 37) % 256) / 127.5 - 1.0;
  v[0] = -3.0;
  v[1] = 2.5;
  const Tensor imgs = Tensor::from_vector(v, {6, 3, 4, 5});
  const std::string path = dir / "grid.png";
  save_image_grid(imgs, path, /*gw=*/3, /*gh=*/2);
  CHECK_FALSE(fs::exists(io::temp_name(path)));
  const Tensor back = read_image(path);
  REQUIRE(back.shape() == Shape{1, 3, 8, 15});
  const auto r = back.to_vector();
  for (int64_t n = 0; n < 6; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 4; ++y)
        for (int64_t x = 0; x < 5; ++x) {
          const int64_t gy = n / 3, gx = n % 3;
          double want = v[static_cast<size_t>(((n * 3 + c) * 4 + y) * 5 + x)];
          want = std::min(1.0, std::max(-1.0, want));
          REQUIRE(r[static_cast<size_t>((c * 8 + gy * 4 + y) * 15 + gx * 5 + x)] == Approx(want).margin(1e-9));
        }
  // Gray grids stay gray; a wrong image count is refused.
  save_image_grid(Tensor::from_vector(std::vector<double>(4 * 16, 0.0), {4, 1, 4, 4}), dir / "gray.png", 2, 2);
  CHECK(read_image(dir / "gray.png").shape() == Shape{1, 1, 8, 8});
  CHECK_THROWS_AS(save_image_grid(imgs, dir / "bad.png", 4, 2), Error);
  CHECK_FALSE(fs::exists(dir / "bad.png"));
}

// ---- What the loader reads, skips and converts (issue: files skipped and
// image content changed without a word) ----------------------------------

TEST_CASE("every file named as PIL names images that stb_image reads is used; every other file is skipped and named, in folders and zips",
          "[dataset]") {
  TempDir dir("formats");
  std::vector<uint8_t> px(8 * 8 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(i * 7);
  std::vector<std::pair<std::string, std::string>> files;
  for (int k = 0; k < 6; ++k) files.push_back({"png" + std::to_string(k) + ".png", encoded(8, 8, 3, px, "png")});
  files.push_back({"bmp0.bmp", encoded(8, 8, 3, px, "bmp")});
  files.push_back({"sub/bmp1.BMP", encoded(8, 8, 3, px, "bmp")});
  files.push_back({"tga.tga", encoded(8, 8, 3, px, "tga")});
  files.push_back({"pnm.ppm", "P6\n8 8\n255\n" + std::string(px.begin(), px.end())});
  // As the official loader: images by name (PIL's extensions), whatever they hold.
  files.push_back({"no_extension", encoded(8, 8, 3, px, "png")});
  files.push_back({"backup.png~", encoded(8, 8, 3, px, "png")});
  files.push_back({"bitmap.dib", encoded(8, 8, 3, px, "bmp")});  // PIL's other name for BMP
  files.push_back({"notes.txt", "not an image"});
  files.push_back({"photo.webp", std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)});
  files.push_back({"broken.png", "\x89PNG\r\n\x1a\n but nothing after"});
  files.push_back({"truncated.png", encoded(8, 8, 3, px, "png").substr(0, 60)});
  for (const auto& [name, bytes] : files) write_file(dir / ("folder/" + name), bytes);
  files.push_back({"__MACOSX/._png0.png", std::string("\x00\x05\x16\x07 AppleDouble", 16)});
  write_file(dir / "set.zip", stored_zip(files));

  for (const std::string& path : {dir / "folder", dir / "set.zip"}) {
    INFO(path);
    const bool zip = path.size() > 4 && path.substr(path.size() - 4) == ".zip";
    auto ds = open_dataset(path, {});
    REQUIRE(ds->size() == 11);  // 6 PNG, 3 BMP, TGA, PNM
    std::vector<uint8_t> img(3 * 64);
    for (int64_t i = 0; i < ds->size(); ++i) {  // every format decodes to the same pixels
      ds->image(i, img.data());
      CHECK(img[1 * 64 + 2 * 8 + 3] == px[(2 * 8 + 3) * 3 + 1]);
    }
    const auto& notes = ds->notes();
    INFO(notes.size());
    REQUIRE(!notes.empty());
    CHECK(notes[0] == "Dataset " + path + ": " + (zip ? "7 of 18" : "6 of 17") + " files skipped, 11 images used:");
    for (const char* name : {"no_extension", "backup.png~", "notes.txt"})
      CHECK(has_line(notes, "  " + path + "/" + name + ": " + kNotImageNameReason));
    CHECK(has_line(notes, "  " + path + "/photo.webp: unreadable WebP (libwebp cannot parse it: damaged, or cut short)"));
    CHECK(has_line(notes, "  " + path + "/broken.png: unreadable PNG ("));
    CHECK(has_line(notes, "  " + path + "/truncated.png: truncated PNG: the file ends before its pixels do"));
    CHECK(has_line(notes, "/__MACOSX/._png0.png: not an image") == zip);
  }

  // A zip entry compressed with a method the reader lacks is skipped and
  // named; the rest of the archive is used.
  std::string z = stored_zip({{"a.png", encoded(8, 8, 3, px, "png")}, {"b.png", encoded(8, 8, 3, px, "png")}});
  z[z.rfind(std::string("PK\x01\x02", 4)) + 10] = 9;  // b.png's central record: Deflate64 (nor does Python read it)
  write_file(dir / "deflate64.zip", z);
  auto ds = open_dataset(dir / "deflate64.zip", {});
  CHECK(ds->size() == 1);
  CHECK(has_line(ds->notes(), "  " + dir / "deflate64.zip/b.png: entry uses compression method 9"));
}

TEST_CASE("RGBA with colour hidden under alpha 0 is refused, naming the file and the fix", "[dataset]") {
  // The reported case: left half opaque blue, right half alpha 0 over pure red.
  TempDir dir("alpha");
  std::vector<uint8_t> rgba(8 * 8 * 4);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) {
      uint8_t* p = &rgba[(y * 8 + x) * 4];
      if (x < 4) p[0] = 0, p[1] = 0, p[2] = 255, p[3] = 255;
      else p[0] = 255, p[1] = 0, p[2] = 0, p[3] = 0;
    }
  for (int k = 0; k < 6; ++k) write_file(dir / ("hidden/" + std::to_string(k) + ".png"), encoded(8, 8, 4, rgba, "png"));
  const std::string msg = error_of([&] { open_dataset(dir / "hidden", {}); });
  CHECK(msg.rfind(dir / "hidden/0.png: has transparent pixels (alpha below 255 in 32 of 64)", 0) == 0);
  CHECK(msg.find("mogrify -background white -alpha remove") != std::string::npos);
  CHECK(msg.find("(5 more images have transparent pixels)") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  CHECK_THROWS_AS(read_image(dir / "hidden/3.png"), TransparentImageError);

  // Alpha opaque everywhere hides nothing: used as RGB (or grey), and logged.
  for (auto& v : rgba) v = 255 - v;  // alpha 0 -> 255 everywhere
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) rgba[(y * 8 + x) * 4 + 3] = 255;
  write_file(dir / "opaque/a.png", encoded(8, 8, 4, rgba, "png"));
  auto ds = open_dataset(dir / "opaque", {});
  CHECK(ds->channels() == 3);
  std::vector<uint8_t> img(3 * 64);
  ds->image(0, img.data());
  CHECK(img[0 * 64 + 0] == 255);  // R of the left half: 255 - 0
  CHECK(img[2 * 64 + 7] == 255);  // B of the right half: 255 - 0
  CHECK(ds->notes() == std::vector<std::string>{"Dataset " + dir / "opaque" +
                                                    ": 1 of 1 images have an alpha channel that is opaque everywhere: dropped (lossless):",
                                                "  " + dir / "opaque/a.png"});
  std::vector<uint8_t> ga(8 * 8 * 2, 255);
  write_file(dir / "grey_alpha/a.png", encoded(8, 8, 2, ga, "png"));
  CHECK(open_dataset(dir / "grey_alpha", {})->channels() == 1);

  // A tRNS colour key is transparency that stb_image's header does not report.
  std::string rows;
  for (int y = 0; y < 4; ++y) rows += std::string(1, '\0') + std::string("\x07\x20\x30\x40", 4);
  write_file(dir / "key/a.png", handmade_png(4, 4, 8, 0, rows, {{"tRNS", std::string("\0\x07", 2)}}));
  CHECK(error_of([&] { open_dataset(dir / "key", {}); }).find("key/a.png: has transparent pixels (alpha below 255 in 4 of 16)") !=
        std::string::npos);
  write_file(dir / "key_unused/a.png", handmade_png(4, 4, 8, 0, rows, {{"tRNS", std::string("\0\x09", 2)}}));
  CHECK(open_dataset(dir / "key_unused", {})->channels() == 1);
}

TEST_CASE("16-bit PNGs are rounded to 8 bits and named; palettes expand losslessly", "[dataset]") {
  TempDir dir("deep");
  // Grey, 16 bits: rounding, not stb_image's truncation (192 -> 1, not 0);
  // PIL keeps such an image as 16-bit integers, which the official loader mangles.
  const uint16_t v16[4] = {0, 192, 33023, 65535};
  std::string rows;
  for (int y = 0; y < 4; ++y) {
    rows += '\0';
    for (int x = 0; x < 4; ++x) rows += char(v16[x] >> 8), rows += char(v16[x] & 0xFF);
  }
  write_file(dir / "deep/a.png", handmade_png(4, 4, 16, 0, rows));
  auto ds = open_dataset(dir / "deep", {});
  std::vector<uint8_t> img(16);
  ds->image(0, img.data());
  CHECK(std::vector<uint8_t>(img.begin(), img.begin() + 4) == std::vector<uint8_t>{0, 1, 128, 255});
  CHECK(ds->notes() == std::vector<std::string>{"Dataset " + dir / "deep" +
                                                    ": 1 of 1 images have 16 bits per channel: rounded to 8 bits:",
                                                "  " + dir / "deep/a.png"});

  // RGB, 16 bits: the high byte of each sample, as PIL opens it (RGB;16B) for the official loader.
  std::string rgb_rows;
  for (int y = 0; y < 4; ++y) {
    rgb_rows += '\0';
    for (int x = 0; x < 4; ++x)
      for (int c = 0; c < 3; ++c) rgb_rows += char(v16[(x + c) % 4] >> 8), rgb_rows += char(v16[(x + c) % 4] & 0xFF);
  }
  write_file(dir / "deep_rgb/a.png", handmade_png(4, 4, 16, 2, rgb_rows));
  auto deep_rgb = open_dataset(dir / "deep_rgb", {});
  std::vector<uint8_t> planes(3 * 16);
  deep_rgb->image(0, planes.data());
  CHECK(std::vector<uint8_t>(planes.begin(), planes.begin() + 4) == std::vector<uint8_t>{0, 0, 128, 255});  // R of row 0
  CHECK(has_line(deep_rgb->notes(), "  " + dir / "deep_rgb/a.png"));
  // Grey with alpha, 16 bits (PIL's LA;16B): the high byte too; the opaque alpha goes.
  std::string la_rows;
  for (int y = 0; y < 4; ++y) {
    la_rows += '\0';
    for (int x = 0; x < 4; ++x) la_rows += char(v16[x] >> 8), la_rows += char(v16[x] & 0xFF), la_rows += "\xFF\xFF";
  }
  write_file(dir / "deep_la/a.png", handmade_png(4, 4, 16, 4, la_rows));
  auto deep_la = open_dataset(dir / "deep_la", {});
  REQUIRE(deep_la->channels() == 1);
  deep_la->image(0, img.data());
  CHECK(std::vector<uint8_t>(img.begin(), img.begin() + 4) == std::vector<uint8_t>{0, 0, 128, 255});
  // A 16-bit PPM PIL rounds (1000 -> 4, 65280 -> 254, 511 -> 2: Pillow 9.4's values).
  std::string ppm_bytes = "P6 4 4 65535\n";
  for (int p = 0; p < 16; ++p) ppm_bytes += std::string("\x03\xE8\xFF\x00\x01\xFF", 6);
  write_file(dir / "deep_ppm/a.ppm", ppm_bytes);
  std::vector<uint8_t> ppm(3 * 16);
  open_dataset(dir / "deep_ppm", {})->image(0, ppm.data());
  CHECK((ppm[0] == 4 && ppm[16] == 254 && ppm[32] == 2));

  // Palette: the colours come back exactly; no note (nothing changed).
  const std::string plte("\x0A\x14\x1E\xC8\x64\x32", 6);
  std::string idx;
  for (int y = 0; y < 4; ++y) idx += std::string(1, '\0') + std::string("\0\1\1\0", 4);
  write_file(dir / "palette/a.png", handmade_png(4, 4, 8, 3, idx, {{"PLTE", plte}}));
  auto pal = open_dataset(dir / "palette", {});
  REQUIRE(pal->channels() == 3);
  std::vector<uint8_t> rgb(3 * 16);
  pal->image(0, rgb.data());
  CHECK((rgb[0] == 10 && rgb[16] == 20 && rgb[32] == 30));   // pixel (0, 0): entry 0
  CHECK((rgb[1] == 200 && rgb[17] == 100 && rgb[33] == 50));  // pixel (1, 0): entry 1
  CHECK(pal->notes().empty());
  // A palette entry with alpha 0 in use is transparency like any other.
  write_file(dir / "palette_alpha/a.png",
             handmade_png(4, 4, 8, 3, idx, {{"PLTE", plte}, {"tRNS", std::string("\xFF\x00", 2)}}));
  CHECK(error_of([&] { open_dataset(dir / "palette_alpha", {}); }).find("has transparent pixels (alpha below 255 in 8 of 16)") !=
        std::string::npos);

  // Radiance HDR: no name PIL lists (.hdr), so the official loader leaves
  // it out, as here; under a name it lists, stb_image's tone mapping, named.
  std::vector<float> hdr(4 * 4 * 3, 0.5f);
  std::string hdr_bytes;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  REQUIRE(stbi_write_hdr_to_func(append, &hdr_bytes, 4, 4, 3, hdr.data()));
  write_file(dir / "hdr/a.hdr", hdr_bytes);
  CHECK(error_of([&] { open_dataset(dir / "hdr", {}); }).find("a.hdr: " + std::string(kNotImageNameReason)) != std::string::npos);
  write_file(dir / "hdr/b.pnm", hdr_bytes);
  auto h = open_dataset(dir / "hdr", {});
  CHECK(has_line(h->notes(), "images are floating-point HDR: mapped to 8 bits by stb_image (gamma 2.2, values above 1 clipped):"));
  CHECK(has_line(h->notes(), "  " + dir / "hdr/b.pnm"));
}

TEST_CASE("EXIF orientation is applied as viewers apply it (PNG eXIf, JPEG APP1), and named", "[dataset]") {
  TempDir dir("exif");
  // Stored 4 wide, 2 high, value 10y + x; orientation 6 shows it turned 90 degrees clockwise.
  std::string rows;
  for (int y = 0; y < 2; ++y) {
    rows += '\0';
    for (int x = 0; x < 4; ++x) rows += char(10 * y + x);
  }
  const std::string png = handmade_png(4, 2, 8, 0, rows, {{"eXIf", exif_orientation_block(6)}});
  const auto* data = reinterpret_cast<const uint8_t*>(png.data());
  const ImageInfo info = image_info(data, png.size(), "o6.png");
  CHECK((info.width == 2 && info.height == 4 && info.orientation == 6));
  Conversions done;
  const auto up = decode_image(data, png.size(), "o6.png", 1, nullptr, &done);
  CHECK(up == std::vector<uint8_t>{10, 0, 11, 1, 12, 2, 13, 3});  // rows of the upright 2x4 image
  CHECK(done.oriented);
  // upright false (the projector and psp, reading as PIL's open does): as stored, and the stored size.
  Conversions kept;
  ImageInfo stored;
  const auto raw = decode_image(data, png.size(), "o6.png", 1, &stored, &kept, false);
  CHECK(raw == std::vector<uint8_t>{0, 1, 2, 3, 10, 11, 12, 13});
  CHECK((stored.width == 4 && stored.height == 2));
  CHECK_FALSE(kept.oriented);

  // A JPEG with an APP1 EXIF orientation 8 (to be turned 90 degrees counter-clockwise):
  // stored dark left, bright right; upright, bright on top.
  std::vector<uint8_t> px(16 * 16, 0);
  for (int y = 0; y < 16; ++y)
    for (int x = 8; x < 16; ++x) px[y * 16 + x] = 255;
  std::string jpg = encoded(16, 16, 1, px, "jpg");
  const std::string exif = "Exif" + std::string(2, '\0') + exif_orientation_block(8);
  const std::string app1 = std::string("\xFF\xE1", 2) + char((exif.size() + 2) >> 8) + char((exif.size() + 2) & 0xFF) + exif;
  jpg.insert(2, app1);
  write_file(dir / "jpeg/a.jpg", jpg);
  auto ds = open_dataset(dir / "jpeg", {});
  std::vector<uint8_t> img(static_cast<size_t>(ds->channels()) * 256);  // stb writes grey JPEGs as YCbCr
  ds->image(0, img.data());
  CHECK(img[2 * 16 + 5] > 200);   // top half bright
  CHECK(img[13 * 16 + 5] < 50);   // bottom half dark
  CHECK(has_line(ds->notes(), "images are turned upright as their EXIF orientation says"));
  CHECK(has_line(ds->notes(), "  " + dir / "jpeg/a.jpg"));
}

// A lossless WebP of w x h pixels of c = 3 or 4 channels, by libwebp's
// encoder; with an EXIF chunk holding `exif` when it is not empty.
std::string webp_lossless(int w, int h, int c, const std::vector<uint8_t>& px, const std::string& exif = "") {
  uint8_t* out = nullptr;
  const size_t n = c == 4 ? WebPEncodeLosslessRGBA(px.data(), w, h, w * 4, &out) : WebPEncodeLosslessRGB(px.data(), w, h, w * 3, &out);
  REQUIRE(n > 0);
  std::string bytes(reinterpret_cast<char*>(out), n);
  WebPFree(out);
  if (exif.empty()) return bytes;
  WebPMux* mux = WebPMuxNew();
  const WebPData image{reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, chunk{reinterpret_cast<const uint8_t*>(exif.data()), exif.size()};
  REQUIRE(WebPMuxSetImage(mux, &image, 1) == WEBP_MUX_OK);
  REQUIRE(WebPMuxSetChunk(mux, "EXIF", &chunk, 1) == WEBP_MUX_OK);
  WebPData assembled;
  REQUIRE(WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK);
  bytes.assign(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
  WebPDataClear(&assembled);
  WebPMuxDelete(mux);
  return bytes;
}

TEST_CASE("WebP images decode through libwebp: lossless pixels exact, transparency refused, EXIF applied", "[dataset]") {
  std::vector<uint8_t> rgb(6 * 4 * 3), rgba(6 * 4 * 4);
  for (size_t i = 0; i < rgb.size(); ++i) rgb[i] = uint8_t(i * 37 + 5);
  for (size_t p = 0; p < 24; ++p)
    for (int c = 0; c < 4; ++c) rgba[p * 4 + c] = c == 3 ? 255 : rgb[p * 3 + c];
  for (int c : {3, 4}) {
    INFO("channels " << c);
    const std::string file = webp_lossless(6, 4, c, c == 4 ? rgba : rgb);
    const auto* d = reinterpret_cast<const uint8_t*>(file.data());
    const ImageInfo info = image_info(d, file.size(), "a.webp");
    CHECK(info.format == "WebP");
    CHECK((info.width == 6 && info.height == 4));
    Conversions done;
    CHECK(decode_image(d, file.size(), "a.webp", 3, nullptr, &done) == rgb);
    CHECK(done.frames == 1);
    CHECK_THROWS_WITH(decode_image(d, file.size(), "a.webp", 1), Catch::Contains("is in colour"));
    // Cut short: refused, not finished with made-up pixels.
    CHECK_THROWS_WITH(image_info(d, file.size() - 3, "cut.webp"), "cut.webp: unreadable WebP (libwebp cannot parse it: damaged, or cut short)");
  }
  // An animation's canvas is a header field: 20000x20000 from a few bytes is
  // refused before any pixel is allocated (8192x8192 cost 792 MB).
  {
    const std::string frame = webp_lossless(6, 4, 3, rgb);
    WebPMux* mux = WebPMuxNew();
    WebPMuxFrameInfo info{};
    info.bitstream = {reinterpret_cast<const uint8_t*>(frame.data()), frame.size()};
    info.id = WEBP_CHUNK_ANMF;
    info.duration = 100;
    REQUIRE(WebPMuxPushFrame(mux, &info, 1) == WEBP_MUX_OK);
    const WebPMuxAnimParams params{0, 0};
    REQUIRE(WebPMuxSetAnimationParams(mux, &params) == WEBP_MUX_OK);
    REQUIRE(WebPMuxSetCanvasSize(mux, 20000, 20000) == WEBP_MUX_OK);
    WebPData assembled;
    REQUIRE(WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK);
    const std::string bomb(reinterpret_cast<const char*>(assembled.bytes), assembled.size);
    WebPDataClear(&assembled);
    WebPMuxDelete(mux);
    CHECK(bomb.size() < 1000);
    CHECK_THROWS_WITH(image_info(reinterpret_cast<const uint8_t*>(bomb.data()), bomb.size(), "big.webp"),
                      "big.webp: a 20000x20000 WebP, larger than the images read here (at most 2^30 bytes of pixels)");
  }
  rgba[5 * 4 + 3] = 0;
  const std::string see_through = webp_lossless(6, 4, 4, rgba);
  CHECK_THROWS_AS(decode_image(reinterpret_cast<const uint8_t*>(see_through.data()), see_through.size(), "t.webp", 3), TransparentImageError);
  // EXIF orientation 6 (turn 90 degrees clockwise to view): stored 6x4, seen 4x6.
  const std::string turned = webp_lossless(6, 4, 3, rgb, "Exif" + std::string(2, '\0') + exif_orientation_block(6));
  const auto* t = reinterpret_cast<const uint8_t*>(turned.data());
  ImageInfo info;
  Conversions done;
  const std::vector<uint8_t> up = decode_image(t, turned.size(), "o.webp", 3, &info, &done);
  CHECK((info.width == 4 && info.height == 6 && done.oriented));
  for (int y = 0; y < 6; ++y)
    for (int x = 0; x < 4; ++x)  // seen (x, y) is stored (y, h - 1 - x)
      for (int c = 0; c < 3; ++c) CHECK(up[(y * 4 + x) * 3 + c] == rgb[((3 - x) * 6 + y) * 3 + c]);
}

namespace {
// A GIF image descriptor and its data, by hand: frame w x h at (x, y) of
// palette indices 0-3, as LZW data of 3-bit codes only (a clear code before
// every two pixels keeps the code width at 3); no local table.
std::string gif_frame(const std::vector<int>& idx, int x = 0, int y = 0, int w = 4, int h = 4) {
  std::vector<int> codes;
  for (size_t i = 0; i < idx.size(); ++i) {
    if (i % 2 == 0) codes.push_back(4);  // clear
    codes.push_back(idx[i]);
  }
  codes.push_back(5);  // end of information
  std::string bytes;
  uint32_t acc = 0;
  int bits = 0;
  for (int c : codes) {
    acc |= uint32_t(c) << bits, bits += 3;
    while (bits >= 8) bytes += char(acc & 0xFF), acc >>= 8, bits -= 8;
  }
  if (bits > 0) bytes += char(acc & 0xFF);
  std::string out = std::string(1, '\x2C');
  for (int v : {x, y, w, h}) out += char(v & 0xFF), out += char(v >> 8);
  out += std::string(1, '\0') + "\x02";  // no local table; LZW minimum code size 2
  for (size_t at = 0; at < bytes.size(); at += 255) {
    const std::string part = bytes.substr(at, 255);
    out += char(part.size()) + part;
  }
  return out + std::string(1, '\0');
}
}  // namespace

TEST_CASE("animated GIFs give their first frame, named; a CMYK JPEG is recognised", "[dataset]") {
  TempDir dir("gif");
  // A 4x4 GIF of two frames by hand: a 4-colour table.
  auto frame_data = [](const std::vector<int>& idx) { return gif_frame(idx); };
  std::string gif = "GIF89a";
  gif += std::string("\x04\0\x04\0\x81\0\0", 7);                       // 4x4, a global table of 4 colours
  gif += std::string("\0\0\0\xFF\xFF\xFF\xFF\0\0\0\0\xFF", 12);        // black, white, red, blue
  std::vector<int> first(16), second(16, 2);
  for (int i = 0; i < 16; ++i) first[i] = (i % 4) < 2 ? 0 : 1;        // left black, right white
  gif += frame_data(first) + frame_data(second) + "\x3B";
  write_file(dir / "anim/a.gif", gif);
  auto ds = open_dataset(dir / "anim", {});
  REQUIRE(ds->channels() == 3);  // a GIF holds a colour table
  REQUIRE(ds->size() == 1);
  std::vector<uint8_t> img(3 * 16);
  ds->image(0, img.data());
  for (int c = 0; c < 3; ++c) {  // the first frame (the second is all red)
    CHECK(img[c * 16 + 0] == 0);
    CHECK(img[c * 16 + 3] == 255);
  }
  CHECK(has_line(ds->notes(), "images are animated (GIF, WebP): only the first frame is used:"));
  CHECK(has_line(ds->notes(), "  " + dir / "anim/a.gif (2 frames)"));
  CHECK_FALSE(has_line(ds->notes(), "opaque everywhere"));  // stb's alpha for every GIF is not news
  // A GIF transparency index in use is transparency like any other.
  std::string see_through = gif.substr(0, 6 + 7 + 12) + std::string("\x21\xF9\x04\x01\0\0\0\0", 8) +
                            gif.substr(6 + 7 + 12);
  write_file(dir / "transparent/a.gif", see_through);
  CHECK(error_of([&] { open_dataset(dir / "transparent", {}); }).find("has transparent pixels (alpha below 255 in 8 of 16)") !=
        std::string::npos);

  // Frames are counted from the block structure: extensions (a graphic
  // control block, a comment of two sub-blocks) between them, a frame with a
  // local colour table, and a file cut inside its last frame's data.
  const std::string gce("\x21\xF9\x04\x00\x0A\x00\x00\x00", 8), comment("\x21\xFE\x02hi\x01!\x00", 8);
  std::string local = frame_data(second);
  local[9] = char(0x81);  // a local table of 4 colours follows the descriptor
  local.insert(10, std::string("\xFF\0\0\xFF\0\0\xFF\0\0\xFF\0\0", 12));
  const std::string head = gif.substr(0, 6 + 7 + 12);
  const std::string four = head + gce + frame_data(first) + comment + local + gce + frame_data(second) + frame_data(second);
  write_file(dir / "four/a.gif", four + "\x3B");
  CHECK(has_line(open_dataset(dir / "four", {})->notes(), "  " + dir / "four/a.gif (4 frames)"));
  write_file(dir / "cut/a.gif", four.substr(0, four.size() - 4));
  CHECK(has_line(open_dataset(dir / "cut", {})->notes(), "  " + dir / "cut/a.gif (4 frames)"));
  write_file(dir / "one/a.gif", head + gce + comment + frame_data(first) + "\x3B");
  CHECK_FALSE(has_line(open_dataset(dir / "one", {})->notes(), "images are animated (GIF, WebP): only the first frame is used:"));

  // CMYK: a JPEG frame header of four components is recognised (stb_image
  // itself reports it as 3 channels and converts it without a colour profile),
  // up to its scan header (libjpeg reads the header up to there).
  const std::string cmyk("\xFF\xD8\xFF\xC0\x00\x14\x08\x00\x04\x00\x04\x04"
                         "\x01\x11\x00\x02\x11\x00\x03\x11\x00\x04\x11\x00"
                         "\xFF\xDA\x00\x0E\x04\x01\x00\x02\x00\x03\x00\x04\x00\x00\x3F\x00",
                         40);
  const ImageInfo info = image_info(reinterpret_cast<const uint8_t*>(cmyk.data()), cmyk.size(), "cmyk.jpg");
  CHECK(info.is_cmyk);
  CHECK(info.colour_channels() == 3);
}

// ---- Truncated and corrupt image files (stb_image 2.27 reads past the end
// of a buffer as zeros: its BMP, TGA, PNM, GIF and HDR decoders finished a
// cut file without an error, with black or uninitialised pixels, and a cut
// run-length HDR looped forever) -------------------------------------------

namespace {

// A one-frame 4x4 GIF of a 4-colour table (black, white, red, blue), index
// (x + y) % 4.
std::string small_gif() {
  std::vector<int> idx(16);
  for (int i = 0; i < 16; ++i) idx[i] = (i % 4 + i / 4) % 4;
  return "GIF89a" + std::string("\x04\0\x04\0\x81\0\0", 7) + std::string("\0\0\0\xFF\xFF\xFF\xFF\0\0\0\0\xFF", 12) +
         gif_frame(idx) + "\x3B";
}

}  // namespace

// Run-length BMPs (RLE8), which stb_image refuses and Pillow reads: the
// size from the header, the runs decoded as Pillow decodes them, and a file
// whose runs end before its pixels do refused by name, as Pillow fails on it.
// (tests/cli/formats_like_pil.py compares RLE8 and RLE4 with Pillow.)
TEST_CASE("a run-length BMP is read as Pillow reads it; one cut short is refused", "[dataset]") {
  auto le = [](uint32_t v, int bytes) {
    std::string s;
    for (int i = 0; i < bytes; ++i) s += char(v >> (8 * i));
    return s;
  };
  std::string palette;
  for (int k = 0; k < 4; ++k) palette += std::string{char(10 * k), char(20 * k), char(30 * k), 0};  // B, G, R, 0
  std::string runs;
  for (int y = 0; y < 4; ++y) runs += std::string{4, char(y)} + std::string(2, '\0');  // a row of index y, end of line
  runs += std::string{0, 1};                                                          // end of bitmap
  const uint32_t offset = 14 + 40 + uint32_t(palette.size());
  const std::string file = "BM" + le(offset + uint32_t(runs.size()), 4) + le(0, 4) + le(offset, 4) + le(40, 4) + le(4, 4) +
                           le(4, 4) + le(1, 2) + le(8, 2) + le(1, 4) + le(uint32_t(runs.size()), 4) + le(0, 8) +
                           le(4, 4) + le(0, 4) + palette + runs;
  auto bytes = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  const ImageInfo info = image_info(bytes(file), file.size(), "a.bmp");
  CHECK((info.format == "BMP" && info.width == 4 && info.height == 4 && info.colour_channels() == 3));
  const std::vector<uint8_t> px = decode_image(bytes(file), file.size(), "a.bmp", 3);
  for (int y = 0; y < 4; ++y)  // bottom-up: the image's row y is the file's row 3 - y
    for (int c = 0; c < 3; ++c) CHECK(int(px[size_t(y * 4) * 3 + size_t(c)]) == (3 - y) * 10 * (3 - c));
  const std::string cut = file.substr(0, file.size() - 6);
  CHECK(error_of([&] { decode_image(bytes(cut), cut.size(), "cut.bmp", 3); }) ==
        "cut.bmp: truncated BMP: its run-length data ends before its pixels do");
}

// PCX, decoded as Pillow decodes it (tests/cli/pcx_like_pil.py compares
// whole images with Pillow's): an RGB file of runs and literals, a 4-plane
// palette one, and the faults Pillow refuses.
TEST_CASE("a PCX is read as Pillow reads it; a run past its row or a cut is refused", "[dataset]") {
  auto header = [](int version, int bits, int planes, int stride, int width, int height) {
    std::string h(128, '\0');
    h[0] = 10, h[1] = char(version), h[2] = 1, h[3] = char(bits);
    h[8] = char(width - 1), h[10] = char(height - 1);  // the box: 0,0 to width-1,height-1
    for (int i = 0; i < 16 * 3; ++i) h[size_t(16 + i)] = char(i * 5);  // the 16-colour palette
    h[65] = char(planes), h[66] = char(stride);
    return h;
  };
  auto bytes = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  // 2x2 RGB: each row R R, G G, B B (a run of 2, then literals), value 10 * (row + 1) * (channel + 1).
  std::string rgb = header(5, 8, 3, 2, 2, 2);
  for (int y = 0; y < 2; ++y)
    for (int c = 0; c < 3; ++c) rgb += std::string{char(0xC2), char(10 * (y + 1) * (c + 1))};
  const ImageInfo info = image_info(bytes(rgb), rgb.size(), "a.pcx");
  CHECK((info.format == "PCX" && info.width == 2 && info.height == 2 && info.colour_channels() == 3));
  const std::vector<uint8_t> px = decode_image(bytes(rgb), rgb.size(), "a.pcx", 3);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 3; ++c) CHECK(int(px[size_t((y * 2 + x) * 3 + c)]) == 10 * (y + 1) * (c + 1));
  // 8x1, 4 planes of one byte (each a run of 1: a byte of the two top bits
  // set is a run's count): pixel i's index has bit p where plane p's bit 7 - i is set.
  const std::string ega = header(2, 1, 4, 1, 8, 1) + std::string{char(0xC1), char(0xAA), char(0xC1), char(0xCC),
                                                                  char(0xC1), char(0xF0), char(0xC1), char(0x01)};
  const std::vector<uint8_t> ega_px = decode_image(bytes(ega), ega.size(), "ega.pcx", 3);
  const int index[8] = {1 + 2 + 4, 2 + 4, 1 + 4, 4, 1 + 2, 2, 1, 8};
  for (int i = 0; i < 8; ++i)
    for (int c = 0; c < 3; ++c) CHECK(int(ega_px[size_t(i * 3 + c)]) == (index[i] * 3 + c) * 5);
  // A run of 63 in a row of 6 bytes; the file cut before its last row.
  const std::string overrun = header(5, 8, 3, 2, 2, 2) + std::string{char(0xFF), 7} + std::string(6, 1);
  CHECK(error_of([&] { decode_image(bytes(overrun), overrun.size(), "run.pcx", 3); }) ==
        "run.pcx: corrupt PCX (a run past the end of its row)");
  const std::string cut = rgb.substr(0, rgb.size() - 3);
  CHECK(error_of([&] { decode_image(bytes(cut), cut.size(), "cut.pcx", 3); }) ==
        "cut.pcx: truncated PCX: the file ends before its pixels do");
}

// stb_image reads RGB PSDs alone; the other modes Pillow 9.4 reads are
// decoded as it decodes them (tests/cli/psd_like_pil.py compares whole
// images); what neither reads is named by its mode (it was "Image not of any
// known type, or corrupt"), and readers that pass over what is no image
// refuse what Pillow reads and no decoder here does (Lab).
namespace {
std::string psd_file(int mode, int channels, int depth, int width, int height, int compression, const std::string& data) {
  auto be16 = [](int v) { return std::string{char(v >> 8), char(v)}; };
  auto be32 = [&](int64_t v) { return be16(int(v >> 16)) + be16(int(v)); };
  return "8BPS" + be16(1) + std::string(6, '\0') + be16(channels) + be32(height) + be32(width) + be16(depth) + be16(mode) +
         std::string(12, '\0') + be16(compression) + data;  // three empty sections
}
const uint8_t* psd_u8(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
std::vector<uint8_t> psd_pixels(const std::string& psd, int channels = 1) {
  return decode_image(psd_u8(psd), psd.size(), "a.psd", channels);
}
}  // namespace

TEST_CASE("a PSD in a mode other than RGB is read as Pillow reads it, or named by its mode", "[dataset]") {
  const std::string grey = psd_file(1, 1, 8, 4, 4, 0, std::string(16, '\x7f'));
  ImageInfo info = image_info(psd_u8(grey), grey.size(), "a.psd");
  CHECK((info.format == "PSD" && info.width == 4 && info.height == 4 && info.channels == 1));
  CHECK(psd_pixels(grey) == std::vector<uint8_t>(16, 0x7f));
  CHECK(psd_pixels(grey, 3) == std::vector<uint8_t>(48, 0x7f));
  // A bitmap of 5 pixels a row: 3 bits of padding, a set bit white.
  const std::string bitmap = psd_file(0, 1, 1, 5, 2, 0, "\xA8\x57");
  info = image_info(psd_u8(bitmap), bitmap.size(), "a.psd");
  CHECK((info.channels == 1 && info.bilevel));
  CHECK(psd_pixels(bitmap) == std::vector<uint8_t>{255, 0, 255, 0, 255, 0, 255, 0, 255, 0});
  // PackBits: a no-op, a repeat and a literal fill each row of 4.
  const std::string rle =
      psd_file(1, 1, 8, 4, 2, 1, std::string("\0\6\0\7", 4) + "\x80\xFF\x09\x01\x01\x02" + "\x80\x02\x03\x04\x05" +
                           std::string("\0\x06", 2));
  CHECK(psd_pixels(rle) == std::vector<uint8_t>{9, 9, 1, 2, 3, 4, 5, 6});
  // What a packet holds past its row's end is dropped, as Pillow drops it,
  // and the next packet starts the next row: a repeat of 2 after 3 bytes in
  // a row of 4, then a literal of 6 in a row of 4.
  std::string overrun = psd_file(1, 1, 8, 4, 2, 1, std::string("\0\6\0\7", 4) + "\x80\xFF\x09\x01\x01\x02" +
                                                      "\x80\x02\x03\x04\x05\xFF\x06");
  CHECK(psd_pixels(overrun) == std::vector<uint8_t>{9, 9, 1, 2, 3, 4, 5, 6});
  overrun = psd_file(1, 1, 8, 4, 1, 1, std::string("\0\7", 2) + "\x05\x07\x08\x09\x0A\x0B\x0C");
  CHECK(psd_pixels(overrun) == std::vector<uint8_t>{7, 8, 9, 10});
  CHECK(error_of([&] { psd_pixels(rle.substr(0, rle.size() - 1)); }) ==
        "a.psd: truncated PSD: the file ends before its pixels do");
  CHECK(error_of([&] { psd_pixels(grey.substr(0, grey.size() - 1)); }) ==
        "a.psd: truncated PSD: the file ends before its pixels do");
  // A 1000x1000 claim in 4000 bytes of PackBits (at least 2 a row of 128
  // are needed) is cut short before its planes are held.
  const std::string claim = psd_file(1, 1, 8, 1000, 1000, 1, std::string(4000, '\0'));
  CHECK(error_of([&] { psd_pixels(claim); }) == "a.psd: truncated PSD: the file ends before its pixels do");
  CHECK(error_of([&] { psd_pixels(psd_file(1, 1, 8, 4, 4, 2, std::string(16, '\0'))); }) ==
        "a.psd: a PSD of compression 2 (ZIP), which Pillow 9.4 does not read (raw and PackBits data only)");
  CHECK(error_of([&] { psd_pixels(psd_file(1, 1, 8, 4, 4, 7, std::string(16, '\0'))); }) ==
        "a.psd: a PSD of compression 7 (none Photoshop writes), which Pillow 9.4 does not read (raw and PackBits data only)");
  // Byte counts of 0 start every channel at the same bytes, as Pillow reads
  // them: one plane's data is enough (it was refused as cut short).
  const std::string shared = psd_file(4, 4, 8, 4, 2, 1, std::string(16, '\0') + "\x03\x10\x20\x30\x40\x03\x50\x60\x70\x80");
  std::vector<uint8_t> cmyk, rgb(24);
  for (int p = 0; p < 8; ++p) cmyk.insert(cmyk.end(), 4, uint8_t(0x10 * (p + 1)));
  inverted_cmyk_to_rgb(cmyk.data(), 8, rgb.data());
  CHECK(psd_pixels(shared, 3) == rgb);
  // What neither reads, and what Pillow alone reads.
  for (const auto& [psd, words, pil] :
       {std::tuple<std::string, std::string, bool>{psd_file(1, 1, 16, 4, 4, 0, std::string(32, '\0')), "PSD in grey mode of 16 bits", false},
        {psd_file(4, 3, 8, 4, 4, 0, std::string(48, '\0')), "PSD in CMYK mode of 3 channels", false},
        {psd_file(9, 3, 16, 4, 4, 0, std::string(96, '\0')), "PSD in Lab mode of 16 bits", false},
        {psd_file(9, 2, 8, 4, 4, 0, std::string(32, '\0')), "PSD in Lab mode of 2 channels", false},
        {psd_file(9, 3, 8, 4, 4, 0, std::string(48, '\0')), "PSD in Lab mode", true}}) {
    CHECK(error_of([&, &psd = psd] { image_info(psd_u8(psd), psd.size(), "a.psd"); }) ==
          "a.psd: " + words + ", which " + (pil ? "no decoder here reads" : "Pillow 9.4 does not read either") +
              " (convert it to PNG)");
    CHECK(pil_only_format(psd_u8(psd), psd.size()) == (pil ? words : ""));
  }
}

TEST_CASE("a GIF's first frame off its screen is composed as Pillow composes it", "[dataset]") {
  // Pillow 9.4 (GifImagePlugin): the image is the logical screen grown to
  // hold the first frame, and what the frame does not cover is its
  // palette's index 0 (the background index plays no part), or its
  // transparency index when it has one. stb_image refused a frame past the
  // screen, and left the rest transparent or painted the background index.
  const std::string table("\x0A\x14\x1E\xFF\xFF\xFF\xFF\0\0\0\0\xFF", 12);  // (10, 20, 30), white, red, blue
  auto gif = [&](int screen_w, int screen_h, int background, const std::string& blocks) {
    std::string g = "GIF89a";
    for (int v : {screen_w, screen_h}) g += char(v & 0xFF), g += char(v >> 8);
    return g + "\x81" + char(background) + std::string(1, '\0') + table + blocks + "\x3B";
  };
  std::vector<int> idx(16);
  for (int i = 0; i < 16; ++i) idx[i] = 1 + i % 3;  // white, red, blue: never index 0
  auto decode = [](const std::string& g, ImageInfo& info) {
    return decode_image(reinterpret_cast<const uint8_t*>(g.data()), g.size(), "a.gif", 3, &info);
  };
  const uint8_t colours[4][3] = {{10, 20, 30}, {255, 255, 255}, {255, 0, 0}, {0, 0, 255}};
  // The 4x4 frame at (fx, fy) of an 8x8 image, and index 0 (or `fill`) around it.
  auto check_composed = [&](const std::vector<uint8_t>& px, int fx, int fy, const uint8_t* fill) {
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        const bool inside = x >= fx && x < fx + 4 && y >= fy && y < fy + 4;
        const uint8_t* want = inside ? colours[idx[(y - fy) * 4 + (x - fx)]] : fill;
        for (int c = 0; c < 3; ++c) CHECK(px[(y * 8 + x) * 3 + c] == want[c]);
      }
  };
  ImageInfo info;
  SECTION("a frame inside its screen, the background index 2") {
    const std::vector<uint8_t> px = decode(gif(8, 8, 2, gif_frame(idx, 2, 3)), info);
    CHECK((info.width == 8 && info.height == 8));
    check_composed(px, 2, 3, colours[0]);
  }
  SECTION("a frame with its own table: its index 0") {
    std::string frame = gif_frame(idx, 0, 4);
    frame[9] = char(0x81);  // a local table of 4 colours follows the descriptor
    const std::string local("\x01\x02\x03\xFF\xFF\xFF\xFF\0\0\0\0\xFF", 12);
    frame.insert(10, local);
    const uint8_t fill[3] = {1, 2, 3};
    check_composed(decode(gif(8, 8, 0, frame), info), 0, 4, fill);
  }
  SECTION("a frame past its screen grows the image") {
    const std::string g = gif(4, 4, 0, gif_frame(idx, 4, 4));
    CHECK((image_info(reinterpret_cast<const uint8_t*>(g.data()), g.size(), "a.gif").width == 8));
    check_composed(decode(g, info), 4, 4, colours[0]);
    CHECK((info.width == 8 && info.height == 8));
  }
  SECTION("with a transparency index the rest is transparent, whatever the background index") {
    const std::string gce("\x21\xF9\x04\x01\0\0\x00\0", 8);  // transparency index 0, unused by the frame
    CHECK(error_of([&] { decode(gif(8, 8, 2, gce + gif_frame(idx, 2, 3)), info); })
              .find("has transparent pixels (alpha below 255 in 48 of 64)") != std::string::npos);
  }
  SECTION("a frame reaching past 65535 pixels is refused by name") {
    const std::string g = gif(4, 4, 0, gif_frame(idx, 65534, 0));
    CHECK(error_of([&] { image_info(reinterpret_cast<const uint8_t*>(g.data()), g.size(), "a.gif"); }) ==
          "a.gif: a GIF whose first frame reaches past 65535 pixels of its screen (65538x4), more than stb_image decodes");
  }
}

TEST_CASE("a truncated image is skipped and named, never decoded with made-up pixels", "[dataset]") {
  TempDir dir("truncated");
  std::vector<uint8_t> px(8 * 8 * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t(40 + i % 200);
  std::vector<float> hdr(16 * 16 * 3);
  for (size_t i = 0; i < hdr.size(); ++i) hdr[i] = float(i % 7) / 7.0f;
  std::string hdr_bytes;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  REQUIRE(stbi_write_hdr_to_func(append, &hdr_bytes, 16, 16, 3, hdr.data()));  // run-length encoded (width >= 8)
  std::vector<uint8_t> px16(16 * 16 * 3, 77);
  const struct {
    std::string name, full;
    size_t cut;  // bytes left off the end
  } files[] = {
      {"a.bmp", encoded(8, 8, 3, px, "bmp"), 30},
      {"a.tga", encoded(8, 8, 3, px, "tga"), 10},
      {"a.ppm", "P6\n8 8\n255\n" + std::string(px.begin(), px.end()), 20},
      {"a.pgm", "P5\n8 8\n255\n" + std::string(px.begin(), px.begin() + 64), 1},
      {"a.gif", small_gif(), 4},
      {"a.pnm", hdr_bytes, hdr_bytes.size() / 4},  // HDR under a name PIL lists (.hdr it does not)
      // Into the last row's data (one cut only after the rows, in the stream's
      // checksum, is read as PIL reads it: tests/cli/png_like_pil.py).
      {"a.png", encoded(8, 8, 3, px, "png"), 40},
      {"a.jpg", encoded(16, 16, 3, px16, "jpg"), 30},
  };
  for (const auto& f : files) {
    INFO(f.name);
    const std::string folder = dir / ("set_" + f.name.substr(2));
    write_file(folder + "/good_" + f.name, f.full);  // the whole file decodes
    write_file(folder + "/cut_" + f.name, f.full.substr(0, f.full.size() - f.cut));
    auto ds = open_dataset(folder, {});
    CHECK(ds->size() == 1);
    CHECK(has_line(ds->notes(), "  " + folder + "/cut_" + f.name + ": "));
    const auto* cut = reinterpret_cast<const uint8_t*>(f.full.data());
    CHECK_THROWS_AS(decode_image(cut, f.full.size() - f.cut, f.name, 3), Error);
  }
  // Uncompressed 32x32 RGBA TGA: stb reads each row of 128 bytes straight
  // into the image, the size of its own buffer's refill; cut in the last row.
  std::string tga = std::string("\0\0\x02", 3) + std::string(9, '\0') + std::string("\x20\0\x20\0\x20\x28", 6);
  for (int i = 0; i < 32 * 32; ++i) tga += std::string("\x10\x20\x30\xFF", 4);
  const auto* t = reinterpret_cast<const uint8_t*>(tga.data());
  CHECK(decode_image(t, tga.size(), "rows.tga", 3).size() == 32 * 32 * 3);
  CHECK(error_of([&] { decode_image(t, tga.size() - 10, "rows.tga", 3); }) ==
        "rows.tga: truncated TGA: the file ends before its pixels do");
  // The data ends inside the pixels: the message says so.
  const std::string bmp = encoded(8, 8, 3, px, "bmp");
  CHECK(error_of([&] { decode_image(reinterpret_cast<const uint8_t*>(bmp.data()), bmp.size() - 30, "a.bmp", 3); }) ==
        "a.bmp: truncated BMP: the file ends before its pixels do");

  // A top-down BMP (a negative height: rows stored from the top), as PIL
  // opens it: stb_image's info gave the height negative (-4), which the
  // programs took for the image's size.
  {
    std::vector<uint8_t> q(6 * 4 * 3);
    for (size_t i = 0; i < q.size(); ++i) q[i] = uint8_t(i * 7);
    std::string down = encoded(6, 4, 3, q, "bmp");
    const auto le32 = [&](size_t at) { return uint32_t(uint8_t(down[at])) | uint32_t(uint8_t(down[at + 1])) << 8; };
    const size_t start = le32(10), row = (6 * 3 + 3) / 4 * 4;
    std::string flipped = down.substr(0, start);
    for (int y = 3; y >= 0; --y) flipped += down.substr(start + size_t(y) * row, row);
    const int32_t minus4 = -4;
    std::memcpy(&flipped[22], &minus4, 4);
    const auto* f = reinterpret_cast<const uint8_t*>(flipped.data());
    const ImageInfo info = image_info(f, flipped.size(), "down.bmp");
    CHECK(info.width == 6);
    CHECK(info.height == 4);
    CHECK(decode_image(f, flipped.size(), "down.bmp", 3) == q);
    // A height of 0, or -2^31 (no magnitude in an int), is refused naming the file.
    for (const int32_t h : {0, INT32_MIN}) {
      std::string bad = down;
      std::memcpy(&bad[22], &h, 4);
      CHECK(error_of([&] { image_info(reinterpret_cast<const uint8_t*>(bad.data()), bad.size(), "h.bmp"); }) ==
            "h.bmp: a BMP of 6x" + std::to_string(h) + " pixels (corrupt header)");
    }
  }

  // A run-length HDR scanline with a zero count: stb_image would read it
  // forever; refused as corrupt.
  std::string zero = hdr_bytes;
  const size_t data = zero.find("+X 16\n") + 6;
  REQUIRE(zero.compare(data, 2, "\x02\x02") == 0);
  zero[data + 4] = '\0';  // the first count of the first scanline
  CHECK(error_of([&] { decode_image(reinterpret_cast<const uint8_t*>(zero.data()), zero.size(), "z.hdr", 3); })
            .rfind("z.hdr: corrupt HDR: ", 0) == 0);
}

TEST_CASE("PNM samples are scaled from 0..maxval and read big-endian, as viewers show them", "[dataset]") {
  TempDir dir("pnm");
  // Grey, maxval 15 (8-bit samples): 15 is white.
  std::string p5 = "P5\n4 4\n# a comment\n15\n";
  for (int i = 0; i < 16; ++i) p5 += char(i);
  write_file(dir / "max15/a.pgm", p5);
  auto ds = open_dataset(dir / "max15", {});
  std::vector<uint8_t> img(16);
  ds->image(0, img.data());
  for (int i = 0; i < 16; ++i) CHECK(int(img[i]) == (i * 255 + 7) / 15);
  CHECK(has_line(ds->notes(), "1 of 1 images are PNM with a maxval below 255: scaled to 0..255:"));
  // Colour, maxval 1023 (16-bit samples, big-endian): 1023 is white.
  const uint16_t v[4] = {0, 2, 512, 1023};
  std::string p6 = "P6 4 4 1023\n";
  for (int i = 0; i < 16 * 3; ++i) p6 += char(v[i % 4] >> 8), p6 += char(v[i % 4] & 0xFF);
  write_file(dir / "max1023/a.ppm", p6);
  auto deep = open_dataset(dir / "max1023", {});
  REQUIRE(deep->channels() == 3);
  std::vector<uint8_t> rgb(3 * 16);
  deep->image(0, rgb.data());
  // Pixel p's channel c is sample 3p + c: v[(3p + c) % 4] -> round(v * 255 / 1023).
  const int want[4] = {0, 0, 128, 255};
  for (int p = 0; p < 16; ++p)
    for (int c = 0; c < 3; ++c) CHECK(int(rgb[c * 16 + p]) == want[(3 * p + c) % 4]);
  CHECK(has_line(deep->notes(), "16 bits per channel"));
  // maxval 65535: the samples are big-endian (stb_image 2.27 returned them byte-swapped).
  std::string be = "P5 4 4 65535\n";
  for (int i = 0; i < 16; ++i) be += i % 2 ? std::string("\x00\xFF", 2) : std::string("\x80\x00", 2);
  write_file(dir / "max65535/a.pgm", be);
  open_dataset(dir / "max65535", {})->image(0, img.data());
  for (int i = 0; i < 16; ++i) CHECK(int(img[i]) == (i % 2 ? 1 : 128));
  // 16-bit grey in a colour dataset: replicated (stb_image 2.27 converted it
  // into half its buffer, and the rest was read past its end).
  write_file(dir / "grey16_in_rgb/a.pgm", be);
  write_file(dir / "grey16_in_rgb/b.png", png_bytes(4, 4, 3, 0));
  auto mixed = open_dataset(dir / "grey16_in_rgb", {});
  REQUIRE(mixed->channels() == 3);
  mixed->image(0, rgb.data());
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 16; ++i) CHECK(int(rgb[c * 16 + i]) == (i % 2 ? 1 : 128));
  // maxval 0 is no image.
  write_file(dir / "max0/a.pgm", "P5\n4 4\n0\n" + std::string(16, '\0'));
  write_file(dir / "max0/b.pgm", p5);
  // Each header fault is named as what it is (a width of -16 was called a
  // bad maxval, a maxval of 70000 "not of any known type").
  write_file(dir / "max0/c.ppm", "P6 -16 16 255\n" + std::string(768, '\0'));
  write_file(dir / "max0/d.pgm", "P5 4 4 70000\n" + std::string(32, '\0'));
  write_file(dir / "max0/e.pgm", "P5 0 4 255\n");
  auto zero = open_dataset(dir / "max0", {});
  CHECK(zero->size() == 1);
  CHECK(has_line(zero->notes(), "max0/a.pgm: unreadable PNM (its maxval is not in [1, 65535])"));
  CHECK(has_line(zero->notes(), "max0/c.ppm: unreadable PNM (its width is not a whole number)"));
  CHECK(has_line(zero->notes(), "max0/d.pgm: unreadable PNM (its maxval is not in [1, 65535])"));
  CHECK(has_line(zero->notes(), "max0/e.pgm: unreadable PNM (its width or height is 0)"));
}

// PIL's Image.open raises DecompressionBombError past 2 * MAX_IMAGE_PIXELS
// (178956970) pixels, so the official tools read no larger image; image_info
// refuses one from its header, before anything is decoded (a PGM of 29
// bytes claiming 32768x32768 was decoded into 1 GiB before it was found
// short), for the datasets and for decode_image's readers (projector, psp).
TEST_CASE("an image past PIL's decompression-bomb limit is refused from its header", "[dataset]") {
  auto pgm = [](int w, int h) { return "P5\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n"; };
  auto data = [](const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); };
  const std::string at = pgm(13377, 13377);  // 178,944,129 pixels: PIL opens it
  CHECK(image_info(data(at), at.size(), "at.pgm").width == 13377);
  const std::string past = pgm(13378, 13378);  // 178,970,884 pixels
  const std::string why = "past.pgm: a PNM of 13378x13378 pixels, more than PIL opens (178956970: its "
                          "decompression-bomb limit, which the official tools fail on)";
  CHECK_THROWS_WITH(image_info(data(past), past.size(), "past.pgm"), why);
  CHECK_THROWS_WITH(decode_image(data(past), past.size(), "past.pgm", 3), why);
  const std::string wide = pgm(1 << 20, 171);  // not square, past it too
  CHECK_THROWS_WITH(image_info(data(wide), wide.size(), "wide.pgm"), Catch::Contains("more than PIL opens"));
}
