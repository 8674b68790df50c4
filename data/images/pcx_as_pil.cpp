#include "data/images/pcx_as_pil.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"
#include "data/byte_order.h"

namespace gf {
namespace {

constexpr size_t kHeaderBytes = 128;
constexpr size_t kPaletteTail = 769;  // a 12, then 256 RGB entries, at the end of an 8-bit file

// Whether the 256 entries at `p` are the grey ramp (i, i, i), which Pillow opens as 'L'.
bool grey_ramp(const uint8_t* p) {
  for (int i = 0; i < 256; ++i)
    if (p[3 * i] != i || p[3 * i + 1] != i || p[3 * i + 2] != i) return false;
  return true;
}

}  // namespace

PcxHeader pcx_header(const uint8_t* d, size_t n) {
  PcxHeader h;
  if (n < 68) {  // Pillow's struct.error or IndexError reading the header: not a PCX to it
    h.not_pcx = true;
    h.problem = "truncated PCX: the file ends inside its 128-byte header";
    return h;
  }
  const int64_t x0 = le16(d + 4), y0 = le16(d + 6), x1 = int64_t(le16(d + 8)) + 1, y1 = int64_t(le16(d + 10)) + 1;
  if (x1 <= x0 || y1 <= y0) {
    h.not_pcx = true;  // Pillow's SyntaxError ("bad PCX image size"): it tries its other formats
    h.problem = "unreadable PCX (its box, " + std::to_string(x0) + "," + std::to_string(y0) + " to " +
                std::to_string(x1 - 1) + "," + std::to_string(y1 - 1) + ", holds no pixels)";
    return h;
  }
  h.width = x1 - x0, h.height = y1 - y0;
  const int version = d[1];
  h.bits = d[3], h.planes = d[65];
  if (h.bits == 1 && h.planes == 1) {
    h.mode = '1';
  } else if (h.bits == 1 && (h.planes == 2 || h.planes == 4)) {
    h.mode = 'P';
  } else if (version == 5 && h.bits == 8 && h.planes == 1) {
    if (n < kPaletteTail) {
      h.problem = "unreadable PCX (" + std::to_string(n) +
                  " bytes: Pillow seeks 769 bytes back from its end for an 8-bit palette, before its start)";
      return h;
    }
    const uint8_t* tail = d + n - kPaletteTail;
    h.mode = tail[0] == 12 && !grey_ramp(tail + 1) ? 'P' : 'L';
  } else if (version == 5 && h.bits == 8 && h.planes == 3) {
    h.mode = 'C';
  } else {
    h.problem = "unreadable PCX (version " + std::to_string(version) + ", " + std::to_string(h.bits) + " bits, " +
                std::to_string(h.planes) +
                " planes: a mode Pillow does not read; Pillow takes any file that begins 0x0A 0x00, 0x02, 0x03 or "
                "0x05 for a PCX, a TGA of a 10-byte image ID too, and fails on it)";
    return h;
  }
  h.stride = (h.width * h.bits + 7) / 8;
  if (le16(d + 66) != h.stride) h.stride += h.stride % 2;
  return h;
}

std::vector<uint8_t> decode_pcx(const uint8_t* d, size_t n, const std::string& name) {
  const PcxHeader h = pcx_header(d, n);
  GF_CHECK(h.problem.empty(), "decode_pcx", name << ": " << h.problem);
  const size_t w = size_t(h.width), row_bytes = size_t(h.planes) * size_t(h.stride);
  const int channels = h.mode == '1' || h.mode == 'L' ? 1 : 3;
  // The palette of a 'P' image: the header's 16 entries, or the 256 at the end.
  const uint8_t* palette = h.mode != 'P' ? nullptr : h.bits == 1 ? d + 16 : d + n - kPaletteTail + 1;
  // Rows are appended as they come: a header's size is not touched (or
  // zeroed) before its data is there.
  // (Reserved up to 64 MiB: a header's claim alone does not get the rest.)
  std::vector<uint8_t> out;
  out.reserve(std::min(w * size_t(h.height) * size_t(channels), size_t(64) << 20));
  std::vector<uint8_t> pixel_row(w * size_t(channels));
  std::vector<uint8_t> row(row_bytes, 0);  // Pillow's buffer: zeroed once, kept between rows
  std::vector<uint8_t> index(w);
  bool overrun = false;
  size_t at = kHeaderBytes, x = 0;
  for (int64_t y = 0; y < h.height;) {
    // PcxDecode: a byte of the two top bits set is a run of its low six bits
    // of the next byte; any other a byte as it is.
    if (at >= n || ((d[at] & 0xC0) == 0xC0 && at + 1 >= n))
      throw Error(name + ": truncated PCX: the file ends before its pixels do");
    if ((d[at] & 0xC0) == 0xC0) {
      for (int k = d[at] & 0x3F; k > 0; --k) {
        if (x >= row_bytes) {  // the rest of the run is dropped, and Pillow fails once the image is read
          overrun = true;
          break;
        }
        row[x++] = d[at + 1];
      }
      at += 2;
    } else {
      row[x++] = d[at++];
    }
    if (x < row_bytes) continue;
    // Where the row is not a multiple of the width (planes padded), Pillow
    // moves each plane after the first to a multiple of the width.
    if (row_bytes % w && row_bytes > w) {
      const size_t bands = row_bytes / w, band_stride = row_bytes / bands;
      for (size_t b = 1; b < bands; ++b) std::memmove(&row[b * w], &row[b * band_stride], w);
    }
    uint8_t* o = pixel_row.data();
    if (h.bits == 1) {  // '1' (unpack "1"), or a palette index from 2 or 4 planes (unpackP2L, unpackP4L)
      const size_t s = (w + 7) / 8;  // the unpacker's plane distance, whatever the stride
      for (size_t i = 0; i < w; ++i) {
        const uint8_t m = uint8_t(0x80 >> (i % 8));
        uint8_t v = 0;
        for (int p = 0; p < (h.mode == '1' ? 1 : h.planes); ++p) v |= uint8_t((row[i / 8 + size_t(p) * s] & m) ? 1 << p : 0);
        if (h.mode == '1') o[i] = v ? 255 : 0;
        else index[i] = v;
      }
    } else if (h.mode == 'C') {  // unpackRGBL: the width's R, G and B bytes one after another
      for (size_t i = 0; i < w; ++i)
        for (int c = 0; c < 3; ++c) o[3 * i + size_t(c)] = row[i + size_t(c) * w];
    } else if (h.mode == 'L') {
      std::memcpy(o, row.data(), w);
    }
    if (h.mode == 'P') {  // the indices: unpacked from the planes above, or the row's bytes
      const uint8_t* indices = h.bits == 1 ? index.data() : row.data();
      for (size_t i = 0; i < w; ++i) std::memcpy(o + 3 * i, palette + 3 * size_t(indices[i]), 3);
    }
    out.insert(out.end(), pixel_row.begin(), pixel_row.end());
    x = 0;
    ++y;
  }
  if (overrun) throw Error(name + ": corrupt PCX (a run past the end of its row)");
  return out;
}

}  // namespace gf
