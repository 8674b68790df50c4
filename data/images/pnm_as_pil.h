// Plain PNM (P1 bitmap, P2 grey, P3 RGB: samples written as ASCII numbers)
// and the raw bitmap P4, read as Pillow 9.4 reads them (PIL/PpmImagePlugin.py,
// which the official dataset_tool and loader open images with); stb_image
// reads the binary P5 and P6 alone. Pillow's modes: P1 and P4 '1' (a 1 is
// black, as the format says: 0 here, a 0 is 255), P2 'L' ('I' above a maxval
// of 255), P3 'RGB'. A sample becomes round(v / maxval * 255), as Pillow's
// ppm_plain decoder scales it (to 65535 for 'I', which is rounded to 8 bits
// here as a binary 16-bit PNM is: sample_to_8_bit, data/images/image_io.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// The header of a P1-P4 file, read token by token as Pillow reads it: a
// token ends at whitespace, a '#' drops the rest of its line (inside a token
// too), at most 10 characters, a number as Python's int() reads it.
struct PnmPlainHeader {
  char kind = 0;  // '1' to '4'; 0: the file is none of them (P5, P6 or no PNM)
  int64_t width = 0, height = 0;
  int64_t maxval = 1;  // P2 and P3; 1 for the bitmaps
  int channels = 1;    // 3 for P3
  size_t data_at = 0;  // where Pillow's decoder starts: after the one whitespace that ends the header
  std::string problem;  // why Pillow refuses the header, in a message's words ("" when it opens it)
};
PnmPlainHeader pnm_plain_header(const uint8_t* d, size_t n);

// The pixels of a P1-P4 file whose header has no problem: height rows of
// width pixels of 1 (grey) or 3 (RGB) channels. Throws gf::Error naming
// `name` where Pillow fails to load the data: a P4 or a plain file shorter
// than its pixels ("truncated PNM"), a sample above maxval, a token that is
// no number or longer than 10 characters, a P1 character other than 0 and 1.
// Pillow's slips are kept: it reads a plain file in blocks of 1 MiB, and the
// part-token at a block's end, once there was one, is put before every later
// block (and, at the file's end, repeated until the image is full); below
// a maxval of 256 a negative sample wraps (its byte is taken modulo 256).
std::vector<uint8_t> decode_pnm_plain(const uint8_t* d, size_t n, const std::string& name);

}  // namespace gf
