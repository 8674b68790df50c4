// A PNG's chunks read as Pillow 9.4 reads them (PIL/PngImagePlugin.py):
// its _open walks the chunks up to the first image data (IDAT), each
// through its handler, and takes the image's size, mode and palette from
// them; its load_end walks the chunks after the image data through the same
// handlers. What a handler refuses (a short tRNS of a grey or RGB image, a
// short gAMA, a compressed text of more than 1 MiB, a filter method other
// than 0, ...) fails Pillow's open or load, and so it does here; the rest
// (duplicate IHDR or PLTE, unless a PLTE stays on an image of another
// mode than palette, L or LA; a palette image without PLTE, unknown critical
// chunks, a compression method other than 0, an IDAT before a usable IHDR,
// which Pillow passes over) Pillow reads, and so does decode_png
// (data/images/png_image.h), which gives libpng the header read here rather than
// the file's. Text chunks keyed as Pillow's own info ("interlace",
// "transparency", "bbox"), which Pillow then takes for its own and
// misdecodes or fails on, are read as text (a deviation).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "data/byte_order.h"

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
  // The image as Pillow opens it: the size of the last IHDR (of 13 bytes or
  // more) before the image data, the bit depth and colour type of the last
  // whose pair PNG defines, Adam7 when any IHDR's interlace byte is not 0
  // (Pillow's test).
  uint32_t width = 0, height = 0;
  int depth = 0, colour = 0;
  bool interlaced = false;
  int samples() const { return colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1; }  // a pixel's, as stored
  int colour_channels() const { return colour == 2 || colour == 3 || colour == 6 ? 3 : 1; }  // a palette's: RGB
  // The palette (colour type 3): the last PLTE before the image data, of
  // any length (entries past it are greys); none: every entry a grey.
  const uint8_t* plte = nullptr;
  size_t plte_len = 0;
  // Pillow's info["transparency"]: from the last tRNS before the image data
  // read under a palette, grey or RGB mode (Pillow ignores one under grey or
  // RGB with alpha): a palette's alphas (bytes), one transparent index or
  // grey key (value), or an RGB key (rgb); samples as stored.
  enum class Transparency { none, value, bytes, rgb } transparency = Transparency::none;
  uint32_t key[3] = {};  // value: key[0]; rgb: all three
  const uint8_t* alphas = nullptr;
  size_t alphas_len = 0;
  // Whether the image has an alpha: its colour type's (4, 6), or a
  // transparency that applies to its mode (a palette's value or bytes, a
  // grey value, an RGB key); Pillow's convert drops the others.
  bool alpha() const;
  // The image data as Pillow reads it: the IDAT, DDAT and fdAT chunks in a
  // row from the first IDAT after a usable IHDR, each its bytes in the file
  // (an fdAT's after its sequence number; fewer than its length where the
  // file ends inside it).
  struct Data {
    size_t chunk_len = 0;
    const uint8_t* bytes = nullptr;
    size_t len = 0;
  };
  std::vector<Data> image_data;
  bool data_cut = false;  // the file ends inside the image data or right after it
  // Why Pillow refuses the file, as a message's words after "<name>: "
  // ("unreadable PNG (...)", "truncated PNG: ..."); empty when it reads it.
  // Chunks after the image data count (Pillow's load_end fails on them).
  std::string problem;
};

// The header of a PNG whose 8-byte signature has been checked. Chunk CRCs
// are not checked here (image_info checks them all, past Pillow).
PngHeader png_header(const uint8_t* d, size_t n);

// What Pillow's load_end finds after the image data chunk `last` (an index
// into image_data: the chunk its decoder read the last row from): a later
// image data chunk cut short by the file's end fails as Pillow's
// "Truncated File Read" ("" when none is).
std::string png_unread_data_problem(const PngHeader& h, size_t last);

}  // namespace gf
