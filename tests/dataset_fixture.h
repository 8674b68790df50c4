// Files the dataset, image-format and zip-reader tests make (test_dataset.cpp,
// test_image_formats.cpp, test_zip_reader.cpp): PNGs written by stb_image_write
// or by hand (16 bits, palettes, tRNS, eXIf, padded image data), an EXIF
// block, images in stb's other formats, files written whole.
//
// tests/data/dataset_fixture.zip was written by Python's zipfile (deflate):
// a.png (8x8 RGB, value (30x + 10c) % 256), sub/ (a folder entry), sub/b.png
// (8x8 gray, value 30y), c.png (8x8 RGB, value 255 - (x + 8y + c)) and a
// dataset.json labelling them 1, 0, 2.
#pragma once
#include <catch2/catch.hpp>
#include <stb_image_write.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "engine/io/crc32.h"

namespace gf::test {

inline const std::string kFixture = std::string(GF_TEST_DATA_DIR) + "/dataset_fixture.zip";

inline std::string png_bytes(int w, int h, int c, uint8_t base) {
  std::vector<uint8_t> px(static_cast<size_t>(w * h * c));
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(base + i);
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  REQUIRE(stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c));
  return out;
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(f.good());
}

inline std::string be32s(uint32_t v) { return {char(v >> 24), char(v >> 16 & 0xFF), char(v >> 8 & 0xFF), char(v & 0xFF)}; }

// PNG files by hand, for what stb_image_write cannot make (16 bits, palettes,
// tRNS colour keys, eXIf): `rows` are the raw scanlines, each with its filter
// byte, stored in an uncompressed zlib stream.
inline std::string png_chunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  return be32s(uint32_t(data.size())) + body + be32s(gf::crc32(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
}
inline std::string handmade_png(int w, int h, int depth, int colour_type, const std::string& rows,
                         const std::vector<std::pair<std::string, std::string>>& chunks = {}) {
  REQUIRE(rows.size() < 65535);
  const uint16_t len = uint16_t(rows.size());
  std::string z = "\x78\x01";  // zlib header, then one final stored block
  z += char(1), z += char(len & 0xFF), z += char(len >> 8), z += char(~len & 0xFF), z += char((~len >> 8) & 0xFF);
  z += rows;
  uint32_t a = 1, b = 0;  // Adler-32
  for (unsigned char c : rows) a = (a + c) % 65521, b = (b + a) % 65521;
  z += be32s(b << 16 | a);
  std::string ihdr = be32s(uint32_t(w)) + be32s(uint32_t(h));
  ihdr += char(depth), ihdr += char(colour_type), ihdr += std::string(3, '\0');
  std::string out = "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr);
  for (const auto& [type, data] : chunks) out += png_chunk(type, data);
  return out + png_chunk("IDAT", z) + png_chunk("IEND", "");
}

// An 8x8 8-bit grey PNG, plain or Adam7-interlaced, whose image-data
// stream (zlib, level 9) holds its rows and then `extra` zero bytes; with
// `cmf`, the stream's first byte is that (its check bits mended).
inline std::string padded_png(bool interlaced, size_t extra, int cmf = -1) {
  std::string raw;
  auto row = [&](int y, int x0, int dx) {
    raw += '\0';  // filter: none
    for (int x = x0; x < 8; x += dx) raw += char(16 * y + x);
  };
  if (interlaced) {
    const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1}, dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    for (int p = 0; p < 7; ++p)
      for (int y = y0[p]; y < 8; y += dy[p]) row(y, x0[p], dx[p]);
  } else {
    for (int y = 0; y < 8; ++y) row(y, 0, 1);
  }
  raw += std::string(extra, '\0');
  uLongf size = compressBound(uLong(raw.size()));
  std::string z(size, '\0');
  REQUIRE(compress2(reinterpret_cast<Bytef*>(z.data()), &size, reinterpret_cast<const Bytef*>(raw.data()), uLong(raw.size()), 9) == Z_OK);
  z.resize(size);
  if (cmf >= 0) {  // FCHECK: CMF * 256 + FLG a multiple of 31
    z[0] = char(cmf);
    z[1] = char(31 - (cmf * 256) % 31);
  }
  std::string ihdr = be32s(8) + be32s(8);
  ihdr += char(8), ihdr += char(0), ihdr += char(0), ihdr += char(0), ihdr += char(interlaced ? 1 : 0);
  return "\x89PNG\r\n\x1a\n" + png_chunk("IHDR", ihdr) + png_chunk("IDAT", z) + png_chunk("IEND", "");
}

// An EXIF block (TIFF, little-endian) holding only the orientation tag.
inline std::string exif_orientation_block(int orientation) {
  const uint8_t t[] = {'I', 'I', 42, 0, 8, 0, 0, 0,            // little-endian, IFD0 at 8
                       1, 0,                                   // one entry
                       0x12, 0x01, 3, 0, 1, 0, 0, 0,           // tag 0x0112, SHORT, count 1
                       uint8_t(orientation), 0, 0, 0,          // value
                       0, 0, 0, 0};                            // no next IFD
  return std::string(reinterpret_cast<const char*>(t), sizeof t);
}

inline std::string encoded(int w, int h, int c, const std::vector<uint8_t>& px, const std::string& format) {
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  if (format == "png") REQUIRE(stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c));
  if (format == "bmp") REQUIRE(stbi_write_bmp_to_func(append, &out, w, h, c, px.data()));
  if (format == "tga") REQUIRE(stbi_write_tga_to_func(append, &out, w, h, c, px.data()));
  if (format == "jpg") REQUIRE(stbi_write_jpg_to_func(append, &out, w, h, c, px.data(), 95));
  return out;
}

inline bool has_line(const std::vector<std::string>& notes, const std::string& text) {
  for (const auto& l : notes)
    if (l.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace gf::test
