// PNG images through libpng (Debian: libpng-dev), read as Pillow 9.4 reads
// them (PIL/PngImagePlugin.py over its ZipDecode and unpackers): libpng
// inflates (with a 32 KiB window whatever the zlib header says, as PIL) and
// unfilters the rows of each pass, which are placed here, and the read
// stops at the last row, as PIL's: a stream that inflates far past the rows
// costs nothing, and one whose end is missing or damaged after them is read.
// libpng is given the header Pillow reads (data/images/png_header.h), a palette
// image a PLTE whatever the file's, and then the image data chunks Pillow
// reads (IDAT, DDAT, fdAT), each under an IDAT header of ours: the chunks
// before it, unknown critical ones too, are Pillow's to judge, and the ones
// after the rows are never reached. A stream that ends on a row's last byte
// in the read that gives that row ends the image, the rows after it black,
// as Pillow's decoder stops there; one that ends inside a row, or in a later
// read, is refused, as Pillow refuses it ("image file is truncated").
// The samples become 8 bits here by Pillow's rules:
//  - 1, 2 and 4-bit grey scaled to 0..255 (v * 255, 85 or 17);
//  - 16-bit colour and alpha (colour types 2, 4, 6) by each sample's high
//    byte (Pillow's raw modes RGB;16B, LA;16B, RGBA;16B); 16-bit grey
//    (type 0), which Pillow keeps as I;16 and the official tools mangle,
//    rounded (sample_to_8_bit, data/images/image_io.h);
//  - a palette through 256 entries: indices past the PLTE's entries are the
//    greys (i, i, i) Pillow gives them, and a tRNS chunk's alphas (as many as
//    it holds, longer than the palette too; 255 past them) make an alpha
//    (one transparent index, where Pillow's _simple_palette matches them);
//  - a tRNS colour key of grey or RGB makes an alpha, 0 where a pixel's
//    samples as stored equal the key (the PNG specification's rule, and
//    stb_image's; Pillow compares its own 8-bit values, so a 1-bit key of 1
//    is opaque there); a tRNS longer than a key is read for its first
//    samples, as Pillow reads it (a shorter one Pillow refuses).
// The chunk CRCs are not checked again here (image_info checks every
// chunk's), nor the zlib stream's Adler-32, as stb_image did not: a deviation
// where Pillow reads the checksum in the same inflate as the last row (as in
// most files) and refuses a wrong one.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "data/images/png_header.h"

namespace gf {

struct PngImage {
  int width = 0, height = 0;
  int colour_channels = 0;      // 1 grey, 3 RGB (a palette's colours)
  bool alpha = false;           // an alpha follows the colour: types 4 and 6, or a tRNS chunk
  bool high_byte = false;       // 16-bit colour or alpha taken by the high byte
  bool rounded = false;         // 16-bit grey rounded to 8 bits
  std::vector<uint8_t> pixels;  // width * height * (colour_channels + alpha), rows top down
  size_t bytes_read = 0;        // of the file, up to the last row's image data (libpng reads 8 KiB at a time)
};

// The pixels of a PNG. Throws gf::Error "<name>: " and png_header's problem
// for a file Pillow refuses, "<name>: truncated PNG: the file ends before
// its pixels do" for a file cut short before its last row (one cut after it
// is read), "<name>: truncated PNG: the file ends inside an image data chunk
// after ..." (Pillow reads such a chunk after the rows), "<name>: corrupt
// PNG image data (...)" for image data that ends before the rows or that
// libpng cannot inflate, and "<name>: cannot decode PNG (libpng: ...)" for
// anything else libpng refuses.
PngImage decode_png(const uint8_t* data, size_t n, const std::string& name);

}  // namespace gf
