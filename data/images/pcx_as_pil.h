// PCX images (ZSoft Paintbrush), read as Pillow 9.4 reads them
// (PIL/PcxImagePlugin.py and its run-length decoder, PcxDecode.c), which
// the official dataset_tool and loader open images with. Pillow's modes:
//  - 1 bit, 1 plane: '1' (a set bit white, 255);
//  - 1 bit, 2 or 4 planes: 'P' through the header's 16-colour palette (the
//    planes of a row one after another, a pixel's index bit k in plane k);
//  - version 5, 8 bits, 1 plane: 'P' through the 256 colours after a 12 at
//    the file's 769th byte from its end, or 'L' (no such palette, or a grey
//    ramp); a file shorter than 769 bytes is refused (Pillow seeks before
//    the start of a file it opens by name; from a zip, whose reader stops
//    the seek at the start, Pillow reads it as 'L': a deviation there);
//  - version 5, 8 bits, 3 planes: 'RGB' (each row R, then G, then B);
//  - anything else: refused ("unknown PCX mode").
// A row is the planes' bytes, each plane `stride` bytes: (width * bits + 7)
// / 8, one more when that is odd and the header's stride differs, as Pillow
// computes it (it does not trust the header's); Pillow's own slips are kept
// (its unpacker of 2 and 4 planes finds them (width + 7) / 8 bytes apart
// whatever the stride, and where the row is not a multiple of the width it
// moves the planes together first).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

struct PcxHeader {
  // Pillow passes a file on to its other formats (a TGA may begin as a PCX
  // does) when its header is shorter than 68 bytes or its box holds no
  // pixels; it fails on any other fault.
  bool not_pcx = false;
  int64_t width = 0, height = 0;  // the box in the header: xmax - xmin + 1, ymax - ymin + 1
  char mode = 0;                  // Pillow's: '1', 'L', 'P' (a palette), 'C' (RGB)
  int bits = 0, planes = 0;
  int64_t stride = 0;             // a plane's bytes in a row, as Pillow computes it
  std::string problem;            // why Pillow refuses the file, in a message's words ("" when it opens it)
};
// The header of a file whose first byte is 10 and second 0, 2, 3 or 5
// (Pillow's test of a PCX; the third, the encoding, Pillow does not read:
// its decoder is run-length).
PcxHeader pcx_header(const uint8_t* d, size_t n);

// The pixels of a PCX whose header has no problem: height rows of width
// pixels, 1 channel ('1', 'L') or 3 ('P' through its palette, RGB). Throws
// gf::Error naming `name` where Pillow fails to load the data: a file that
// ends before its last row ("truncated PCX"), a run past the end of a row
// ("corrupt PCX").
std::vector<uint8_t> decode_pcx(const uint8_t* d, size_t n, const std::string& name);

}  // namespace gf
