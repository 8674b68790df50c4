// BMP files as Pillow 9.4 (BmpImagePlugin) reads them, where stb_image 2.27
// differs; image_io.cpp decodes with stb and applies these.
//
// - Palette images (1, 4, 8 bits): Pillow reads the header's colour count
//   (biClrUsed, else 2^bits) of entries right after the header, and an index
//   past them is the grey (i, i, i). stb reads as many entries as fit before
//   the pixel data (an OS/2 file's last four it miscounted) and left the
//   rest of its table uninitialised: such pixels differed from run to run.
//   A palette that is the grey ramp (0..colors-1, or black and white for
//   2 colours) makes Pillow open the image as grey (mode L or 1), not RGB.
// - 32 bits without bitfields: Pillow reads BGRX, the fourth byte padding;
//   stb took it for alpha (an image with any such byte below 255 was refused
//   as transparent).
// - 16 bits (5-5-5, or 5-6-5 bitfields): Pillow scales a field v of b bits
//   to v * 255 / (2^b - 1), truncated; stb replicates the bits (one level
//   higher in most values).
// - Run-length data (RLE8, RLE4), a 64-byte (OS/2 2.x) header (bitfields
//   read from inside it, as Pillow reads them), 16 to 32 bits after a
//   12-byte header, planes other than 1, a pixel offset of 0 (Pillow reads
//   on from the header, or the masks after it) or past a gap, 24 bits as bitfields of B,
//   G, R, four zero masks (Pillow: BGRA), a 16-bit alpha mask (Pillow
//   ignores it; stb read it, refusing opaque files as transparent): Pillow
//   reads them; stb refuses them or reads them otherwise, and is given the
//   file rebuilt with a header it reads and Pillow's masks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

struct BmpAsPil {
  bool palette = false;      // 1, 4 or 8 bits: bmp_palette_rebuilt is what stb must decode
  bool plain = false;        // 16 to 32 bits that stb refuses as they are: bmp_plain_rebuilt is what it must decode
  bool stb_refuses = false;  // stb cannot read the file itself (its info fails): the size is here
  int width = 0, height = 0;
  bool grey = false;         // Pillow opens it as L or 1
  bool no_alpha = false;     // 32 bits without bitfields, given to stb as it is: the fourth byte is padding
  bool alpha = false;        // a rebuilt (plain) 32-bit layout Pillow reads with alpha (BGRA, RGBA, ABGR)
  int field_bits[3] = {};    // 16 bits, a layout Pillow reads: R, G, B field widths (5 or 6); else 0
};

// From the file's header (and palette); all false for a file that is no BMP
// Pillow reads this way (stb decides).
BmpAsPil bmp_as_pil(const uint8_t* d, size_t n);

// A palette BMP rebuilt for stb: a 40-byte header, 256 palette entries as
// Pillow has them (the file's, then greys), then the file's pixel data from
// where Pillow reads it (run-length data decoded as Pillow decodes it, to
// 8-bit rows). Empty when `d` is no palette BMP Pillow reads, or with `why`
// set when its run-length data ends before its pixels do.
std::vector<uint8_t> bmp_palette_rebuilt(const uint8_t* d, size_t n, std::string* why);

// A BMP of 16, 24 or 32 bits that stb refuses as it is (bmp_as_pil's
// `plain`) rebuilt for stb: a 40-byte header without bitfields, then the
// file's pixel data. Empty for any other file.
std::vector<uint8_t> bmp_plain_rebuilt(const uint8_t* d, size_t n);

// The fewest bytes an uncompressed BMP (no run-length data) must hold for
// its pixels: the pixel offset, every row but the last padded to 4 bytes,
// the last unpadded (stb skips that padding unread); 0 for other files.
uint64_t bmp_least_bytes(const uint8_t* d, size_t n);

// Pillow's 8-bit value for stb's from a field of `bits` (5 or 6) bits.
uint8_t bmp_field_as_pil(uint8_t stb_value, int bits);

}  // namespace gf
