// JPEG 2000 images (a .jp2 file or a bare .j2k codestream) through
// OpenJPEG (Debian: libopenjp2-7-dev), the library Pillow 9.4 decodes them
// with, as Pillow opens them for the official loader
// (PIL/Jpeg2KImagePlugin.py, libImaging/Jpeg2KDecode.c):
//  - the mode from the header as Pillow's plugin reads it: a .jp2's ihdr
//    box (one component: 'I;16' above 9 bits, else 'L'; two 'LA', three
//    'RGB', four 'RGBA'), a codestream's SIZ segment (the same by component
//    count; 'I;16' where the byte Pillow takes for the first component's
//    precision, its Ssiz, says above 9 bits);
//  - the pixels tile by tile as Pillow unpacks OpenJPEG's samples: each
//    component shifted to 8 bits (16 for 'I;16') with a rounding offset and
//    an offset of half the range for signed samples, in unsigned arithmetic
//    that wraps as Pillow's does (a 16-bit sample of 65535 read as 'L' is 0);
//    colour components subsampled are repeated over their pixels; a
//    colour space that is not given is grey for one or two components,
//    YCC where the second or third is subsampled, else sRGB; YCC becomes
//    RGB by Pillow's fixed-point tables (ConvertYCbCr.c);
//  - its slips: one tile buffer kept between tiles (a subsampled read past
//    a tile's data sees an earlier tile's bytes), and a grey codestream in
//    an RGB .jp2 placed a byte, not a pixel, into its row for each tile.
// 'I;16' becomes 8 bits as the project rounds 16 bits, round(v * 255 / 65535).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// A codestream's start (SOC, SIZ) or the JP2 signature box, as Pillow accepts them.
bool is_jpeg2000(const uint8_t* data, size_t n);

struct Jpeg2000Image {
  int width = 0, height = 0;
  std::string mode;           // Pillow's: "L", "I;16", "LA", "RGB", "RGBA"
  bool colour = false;        // RGB or RGBA
  bool alpha = false;         // LA or RGBA
  bool is_16_bit = false;     // I;16
  std::vector<uint8_t> rgba;  // width * height * 4 bytes (grey in R, G and B; alpha 255 without one), when decoded
};

// The header as Pillow's plugin reads it; throws gf::Error "<name>:
// unreadable JPEG 2000 (...)" where Pillow fails to open the file.
Jpeg2000Image jpeg2000_info(const uint8_t* data, size_t n, const std::string& name);

// jpeg2000_info's fields and the pixels; throws gf::Error naming the file
// where Pillow's decoder fails (a cut or damaged file, a component count or
// colour space it has no unpacker for).
Jpeg2000Image decode_jpeg2000(const uint8_t* data, size_t n, const std::string& name);

}  // namespace gf
