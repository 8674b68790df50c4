// A PNG's chunks read as Pillow 9.4 reads them (PIL/PngImagePlugin.py):
// its _open walks the chunks up to the first image data (IDAT), each
// through its handler, and takes the image's size, mode and palette from
// them; its load_end walks the chunks after the image data through the same
// handlers. What a handler refuses (a short tRNS of a grey or RGB image, a
// short gAMA, a compressed text of more than 1 MiB, a filter method other
// than 0, ...) fails Pillow's open or load, and so it does here; the rest
// (duplicate IHDR or PLTE, a palette image without PLTE, unknown critical
// chunks, a compression method other than 0) Pillow reads, and so does
// decode_png (train/png_image.h), which gives libpng the header read here
// rather than the file's.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "train/byte_order.h"

namespace gf {

// fn(at, len) for each whole chunk of a PNG after its signature (at: where
// the chunk begins; len: its data's bytes), in order, up to IEND or the
// first chunk cut short; fn returns false to stop.
template <class Fn>
void for_each_png_chunk(const uint8_t* d, size_t n, Fn fn) {
  for (size_t at = 8; at + 12 <= n;) {
    const size_t len = be32(d + at);
    if (len > n - at - 12 || !fn(at, len) || std::memcmp(d + at + 4, "IEND", 4) == 0) return;
    at += 12 + len;
  }
}

// A chunk type as a message shows it: its four letters, or hex when they are not letters.
std::string png_chunk_name(const uint8_t* type);

struct PngHeader {
  // The image as Pillow opens it: IHDR's size, bit depth and colour type
  // (the last IHDR before the image data whose pair PNG defines), Adam7 when
  // any IHDR's interlace byte is not 0 (Pillow's test).
  uint32_t width = 0, height = 0;
  int depth = 0, colour = 0;
  bool interlaced = false;
  // The palette (colour type 3): the last PLTE before the image data, of
  // any length (entries past it are greys); none: every entry a grey.
  const uint8_t* plte = nullptr;
  size_t plte_len = 0;
  // Transparency: the last tRNS before the image data of a palette, grey or
  // RGB image (Pillow ignores one of grey or RGB with alpha).
  const uint8_t* trns = nullptr;
  size_t trns_len = 0;
  bool has_trns = false;
  size_t image_data_at = 0;  // where the first IDAT chunk begins
  // Why Pillow refuses the file, as a message's words after "<name>: "
  // ("unreadable PNG (...)", "truncated PNG: ..."); empty when it reads it.
  std::string problem;
};

// The header of a PNG whose 8-byte signature has been checked. Chunk CRCs
// are not checked here (image_info checks them all, past Pillow).
PngHeader png_header(const uint8_t* d, size_t n);

}  // namespace gf
