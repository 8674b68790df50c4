#include "data/images/psd_as_pil.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"
#include "data/byte_order.h"
#include "data/images/cmyk_as_pil.h"

namespace gf {

uint64_t psd_least_bytes(const uint8_t* d, size_t n) {
  const size_t at = psd_image_data(d, n);
  if (at == 0) return 0;
  const uint64_t mode = be16(d + 24), stored = be16(d + 12), h = be32(d + 14), w = be32(d + 18), depth = be16(d + 22);
  const uint64_t row_bytes = (w * depth + 7) / 8;
  const uint32_t compression = be16(d + at);
  // The planes read: RGB's first three (stb), CMYK's four, one of the rest.
  const uint64_t planes = mode == 3 ? std::min<uint64_t>(stored, 3) : mode == 4 ? 4 : 1;
  if (compression == 0) return at + 2 + planes * row_bytes * h;
  // PackBits: the byte-count table, then at least 2 bytes for each 128 of a
  // row of one plane (the counts may start every channel at the same bytes).
  if (compression == 1) return at + 2 + stored * h * 2 + h * ((row_bytes + 127) / 128) * 2;
  return 0;
}

size_t psd_image_data(const uint8_t* d, size_t n) {
  // The header, then three sections each after its length: the colour mode
  // data, the image resources, the layers and masks.
  size_t at = 26;
  for (int section = 0; section < 3; ++section) {
    if (at + 4 > n) return 0;
    at += 4 + size_t(be32(d + at));
  }
  return at + 2 > n ? 0 : at;
}

bool psd_extra_channels(const uint8_t* d, size_t n) {
  return n >= 26 && std::memcmp(d, "8BPS", 4) == 0 && be16(d + 24) == 3 && be16(d + 12) > 4;
}

std::vector<uint8_t> psd_first_three_channels(const uint8_t* d, size_t n) {
  if (!psd_extra_channels(d, n)) return {};
  const uint64_t channels = be16(d + 12), h = be32(d + 14), w = be32(d + 18), depth = be16(d + 22);
  const size_t at = psd_image_data(d, n);
  if (at == 0) return {};
  const uint32_t compression = be16(d + at);
  const size_t data_at = at + 2;
  std::vector<uint8_t> out(d, d + data_at);
  out[12] = 0, out[13] = 3;  // three channels
  if (compression == 0) {  // planes of w * h samples, one a channel
    const uint64_t plane = w * h * (depth / 8);
    if (plane * 3 > n - data_at) return {};
    out.insert(out.end(), d + data_at, d + data_at + plane * 3);
  } else if (compression == 1) {  // every row's byte count (2 bytes each), then the rows, channel after channel
    if (channels * h * 2 > n - data_at) return {};
    uint64_t bytes = 0;
    for (uint64_t row = 0; row < 3 * h; ++row) bytes += be16(d + data_at + 2 * row);
    const size_t rows_at = data_at + size_t(channels * h * 2);
    if (bytes > n - rows_at) return {};
    out.insert(out.end(), d + data_at, d + data_at + 3 * h * 2);
    out.insert(out.end(), d + rows_at, d + rows_at + bytes);
  } else {
    return {};
  }
  return out;
}

namespace {

// Where the colour mode data starts, and its size.
struct ColourData {
  size_t at = 0, size = 0;
};
ColourData colour_data(const uint8_t* d, size_t n) {
  if (n < 30) return {};
  return {30, be32(d + 26)};
}

// Pillow's PackBits decoder (PackDecode.c) over one channel: packets fill
// rows of row_bytes in turn from `at`, to the end of the file if need be.
// A row is complete at the end of the packet that fills it: what a packet
// holds past the row's end is dropped (Pillow 9.4's overrun check is
// commented out), and the next row starts with the next packet.
// False when the file ends first.
bool unpack_bits(const uint8_t* d, size_t n, size_t at, size_t row_bytes, size_t rows, uint8_t* out) {
  size_t x = 0, y = 0;
  while (y < rows) {
    if (at >= n) return false;
    const uint8_t head = d[at];
    if (head == 0x80) {  // no operation
      ++at;
      continue;
    }
    const bool run = head & 0x80;
    const size_t count = run ? 257 - head : size_t(head) + 1;
    if (at + (run ? 2 : 1 + count) > n) return false;
    const size_t kept = std::min(count, row_bytes - x);
    uint8_t* row = out + y * row_bytes;
    if (run) std::memset(row + x, d[at + 1], kept);
    else std::memcpy(row + x, d + at + 1, kept);
    at += run ? 2 : 1 + count;
    x += kept;
    if (x == row_bytes) x = 0, ++y;
  }
  return true;
}

}  // namespace

PsdMode psd_mode(const uint8_t* d, size_t n) {
  PsdMode m;
  if (n < 26 || std::memcmp(d, "8BPS", 4) != 0 || be16(d + 4) != 1) return m;
  const unsigned mode = be16(d + 24), depth = be16(d + 22), channels = be16(d + 12);
  static const char* const kModes[10] = {"bitmap", "grey", "indexed", "RGB", "CMYK", "", "", "multichannel", "duotone", "Lab"};
  if (mode >= 10 || mode == 3 || !kModes[mode][0]) return m;
  m.applies = true;
  const std::string named = std::string("PSD in ") + kModes[mode] + " mode";
  if (mode == 9 && depth == 8 && channels >= 3) {  // Pillow opens 'LAB' and converts it through littlecms
    m.refused = named, m.pil_reads = true;
    return m;
  }
  if (depth != (mode == 0 ? 1u : 8u) && !(mode == 0 && depth == 8)) {  // Lab too: 8 bits alone
    m.refused = named + " of " + std::to_string(depth) + (depth == 1 ? " bit" : " bits");
    return m;
  }
  const unsigned needs = mode == 4 ? 4 : mode == 9 ? 3 : 1;
  if (channels < needs) {
    m.refused = named + " of " + std::to_string(channels) + (channels == 1 ? " channel" : " channels");
    return m;
  }
  m.height = be32(d + 14), m.width = be32(d + 18);
  m.channels = mode == 2 || mode == 4 ? 3 : 1;
  m.bilevel = depth == 1;
  m.cmyk = mode == 4;
  return m;
}

std::vector<uint8_t> decode_psd_mode(const uint8_t* d, size_t n, const std::string& name) {
  const PsdMode m = psd_mode(d, n);
  GF_CHECK(m.applies && m.refused.empty() && m.width > 0 && m.height > 0, "decode_psd_mode",
           name << ": not a PSD this decoder reads");
  const unsigned mode = be16(d + 24), stored = be16(d + 12);
  const size_t w = size_t(m.width), h = size_t(m.height), planes = m.cmyk ? 4 : 1;
  const size_t row_bytes = m.bilevel ? (w + 7) / 8 : w;
  const size_t image_data = psd_image_data(d, n);
  if (image_data == 0) throw Error(name + ": truncated PSD: the file ends before its image data");
  const uint32_t compression = be16(d + image_data);
  const size_t data = image_data + 2;
  const std::string cut = name + ": truncated PSD: the file ends before its pixels do";
  if (psd_least_bytes(d, n) > n) throw Error(cut);  // before the planes are held
  const size_t table = compression == 1 ? size_t(stored) * h * 2 : 0;
  std::vector<uint8_t> plane(planes * row_bytes * h);
  if (compression == 0) {  // planes of rows, one a channel
    std::memcpy(plane.data(), d + data, plane.size());
  } else if (compression == 1) {  // every row's byte count (2 bytes each), then the rows, channel after channel
    size_t channel_at = data + table;
    for (size_t c = 0; c < planes; ++c) {
      if (!unpack_bits(d, n, channel_at, row_bytes, h, plane.data() + c * row_bytes * h)) throw Error(cut);
      for (size_t y = 0; y < h; ++y) channel_at += be16(d + data + (c * h + y) * 2);
    }
  } else {
    throw Error(name + ": a PSD of compression " + std::to_string(compression) +
                (compression == 2 || compression == 3 ? " (ZIP)" : " (none Photoshop writes)") +
                ", which Pillow 9.4 does not read (raw and PackBits data only)");
  }
  std::vector<uint8_t> px(w * h * size_t(m.channels));
  if (m.bilevel) {  // Pillow's raw mode '1': a set bit is white
    for (size_t y = 0; y < h; ++y)
      for (size_t x = 0; x < w; ++x) px[y * w + x] = plane[y * row_bytes + x / 8] >> (7 - x % 8) & 1 ? 255 : 0;
  } else if (m.cmyk) {
    std::vector<uint8_t> cmyk(w * h * 4);
    for (size_t p = 0; p < w * h; ++p)
      for (size_t c = 0; c < 4; ++c) cmyk[p * 4 + c] = plane[c * w * h + p];
    inverted_cmyk_to_rgb(cmyk.data(), w * h, px.data());
  } else if (mode == 2) {  // the palette Pillow reads (768 bytes), else its default grey ramp
    const ColourData colours = colour_data(d, n);
    const uint8_t* pal = colours.size == 768 ? d + colours.at : nullptr;
    for (size_t p = 0; p < w * h; ++p)
      for (size_t c = 0; c < 3; ++c) px[p * 3 + c] = pal ? pal[c * 256 + plane[p]] : plane[p];
  } else {
    std::memcpy(px.data(), plane.data(), px.size());
  }
  return px;
}

}  // namespace gf
