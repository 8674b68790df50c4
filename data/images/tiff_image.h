// TIFF images through libtiff (Debian: libtiff-dev; 4.5 or later), as
// Pillow opens them for the official loader (PIL/TiffImagePlugin.py): the
// first page, through libtiff's RGBA reader, which expands palettes and
// 1-bit images, converts YCbCr, CMYK and CIE Lab to RGB and keeps 8-bit
// samples as they are. Pillow turns the image as its Orientation tag says
// when it loads it (TiffImageFile.load_end), which decode_image does for
// every reader of a TIFF. 16-bit samples become 8 bits by their high byte,
// as Pillow's RGB;16 unpackers make colour ones (libtiff's reader rounds,
// (v + 128) / 257: its table is rewritten). Where Pillow's pixels differ:
// 16-bit grey (Pillow opens it as I;16 integers, which the official code
// mangles, convert('RGB') clipping them to 255); CMYK uses libtiff's (255 - C)(255 - K) / 255 (Pillow's
// 255 - C - K), and a pixel with alpha below full is premultiplied by
// libtiff (such images are refused by decode_image anyway).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// The classic ("II*\0", "MM\0*") or BigTIFF ("II+\0", "MM\0+") signature.
bool is_tiff(const uint8_t* data, size_t n);

struct TiffImage {
  int width = 0, height = 0;  // as stored (Orientation not applied)
  bool colour = false;        // RGB, palette, YCbCr, CMYK, Lab; false: grey (min-is-black or -white, 1 to 16 bits)
  bool alpha = false;         // an associated or unassociated alpha sample
  bool is_16_bit = false;     // 16 bits per sample (to 8 bits: v >> 8)
  bool is_cmyk = false;       // separated (CMYK) ink
  bool bilevel = false;       // 1-bit grey without alpha: PIL's mode '1'
  int orientation = 1;        // the Orientation tag 1-8 (the same numbers as EXIF's); not applied here
  int pages = 1;              // images (directories) in the file; only the first is read
  std::vector<uint8_t> rgba;  // width * height * 4 bytes, as stored, when decoded
};

// The first page's header: throws gf::Error "<name>: unreadable TIFF
// (<libtiff's words>)" when libtiff cannot read it or its RGBA reader cannot
// convert it (32-bit or floating-point samples, ...), and names the size when
// the image holds more than 2^30 bytes of RGBA.
TiffImage tiff_info(const uint8_t* data, size_t n, const std::string& name);

// tiff_info's fields with the first page's pixels as interleaved RGBA
// (alpha 255 when the file has none); throws gf::Error naming the file when
// libtiff cannot decode it (a cut or damaged file).
TiffImage decode_tiff(const uint8_t* data, size_t n, const std::string& name);

}  // namespace gf
