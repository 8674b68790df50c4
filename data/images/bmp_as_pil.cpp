#include "data/images/bmp_as_pil.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <climits>
#include <cstring>

#include "data/byte_order.h"

namespace gf {
namespace {


// The header fields Pillow's _bitmap reads (header sizes 12, 40, 64, 108, 124).
struct Layout {
  bool ok = false;
  uint32_t header_size = 0, bits = 0, compression = 0, colors = 0, planes = 1;
  size_t entry_bytes = 4;    // a palette entry: BGRX, or BGR in an OS/2 file
  size_t pixels_at = 0;      // the pixel data's offset
  bool offset_given = true;  // the header's pixel offset is not 0
  size_t header_end = 0;     // where the pixels start when nothing lies between: after the header, its masks, its palette
  uint32_t masks[4] = {};    // R, G, B, A bitfields (compression 3); A only inside headers of 56 bytes or more
  uint32_t header_alpha = 0; // the alpha mask field of a header of 56 bytes or more, whatever the compression
};

Layout layout(const uint8_t* d, size_t n) {
  Layout l;
  if (n < 18 || d[0] != 'B' || d[1] != 'M') return l;
  l.header_size = le32(d + 14);
  const uint32_t h = l.header_size;
  if (h != 12 && h != 40 && h != 64 && h != 108 && h != 124) return l;
  if (n < 14 + size_t(h)) return l;
  const uint8_t* hd = d + 18;  // the header after its size
  if (h == 12) {
    l.planes = le16(hd + 4);
    l.bits = le16(hd + 6);
    l.entry_bytes = 3;
  } else {
    l.planes = le16(hd + 8);
    l.bits = le16(hd + 10);
    l.compression = le32(hd + 12);
    l.colors = le32(hd + 28);
    if (h >= 56) l.header_alpha = le32(hd + 48);
    if (l.compression == 3) {
      // 40-byte headers keep three masks after the header; larger ones
      // four inside it (Pillow reads them there from a 64-byte OS/2
      // header too, whose fields those bytes are).
      const uint8_t* m = h >= 56 ? hd + 36 : d + 14 + h;
      const int count = h >= 56 ? 4 : 3;
      if (m + 4 * count > d + n) return l;
      for (int c = 0; c < count; ++c) l.masks[c] = le32(m + 4 * c);
    }
  }
  if (l.colors == 0 && l.bits <= 16) l.colors = 1u << l.bits;
  l.pixels_at = le32(d + 10);
  l.offset_given = l.pixels_at != 0;
  if (l.pixels_at == 14 + size_t(h) && l.bits <= 8) l.pixels_at += 4 * size_t(l.colors);  // as Pillow
  l.header_end = 14 + size_t(h) + (l.bits <= 8 ? size_t(l.colors) * l.entry_bytes : h == 40 && l.compression == 3 ? 12 : 0);
  if (l.pixels_at == 0) l.pixels_at = l.header_end;  // Pillow reads on from where it stopped ("offset or fp.tell()")
  l.ok = true;
  return l;
}

bool rle_layout(const Layout& l) { return l.ok && ((l.bits == 8 && l.compression == 1) || (l.bits == 4 && l.compression == 2)); }

bool palette_layout(const Layout& l) {
  return l.ok && (l.bits == 1 || l.bits == 4 || l.bits == 8) && (l.compression == 0 || rle_layout(l)) &&
         l.colors >= 1 && l.colors <= 65536;
}

// Pillow's BmpRleDecoder, step for step: one index a byte, rows in file
// order, at least width * height of them; "" and `why` set when the data
// ends first. Its quirks are kept: a delta's right and up are the two
// bytes after the two it names, an absolute run of an odd count in RLE4
// gives one index fewer than it counts, and the word alignment after an
// absolute run is of the position in the file.
std::vector<uint8_t> rle_indices(const uint8_t* d, size_t n, size_t at, size_t width, size_t height, bool rle4,
                                 std::string* why) {
  std::vector<uint8_t> data;
  const size_t pixels = width * height;
  size_t x = 0;
  while (data.size() < pixels) {
    if (at + 2 > n) break;
    const uint8_t count = d[at], byte = d[at + 1];
    at += 2;
    if (count != 0) {  // encoded: a run of one byte (RLE4: two indices in turn)
      const size_t run = x + count > width ? (width > x ? width - x : 0) : count;
      for (size_t i = 0; i < run; ++i) data.push_back(rle4 ? (i % 2 == 0 ? byte >> 4 : byte & 0x0F) : byte);
      x += run;
    } else if (byte == 0) {  // end of line
      while (data.size() % width != 0) data.push_back(0);
      x = 0;
    } else if (byte == 1) {  // end of bitmap
      break;
    } else if (byte == 2) {  // delta: Pillow 9.4 reads two bytes, then takes right and up from the next two
      if (at + 4 > n) break;
      data.insert(data.end(), size_t(d[at + 2]) + size_t(d[at + 3]) * width, 0);
      at += 4;
      x = data.size() % width;
    } else {  // absolute: `byte` indices follow
      const size_t bytes = rle4 ? byte / 2 : byte, got = std::min(bytes, n - at);
      for (size_t i = 0; i < got; ++i) {
        if (rle4) data.push_back(d[at + i] >> 4), data.push_back(d[at + i] & 0x0F);
        else data.push_back(d[at + i]);
      }
      at += got;
      if (got < bytes) break;
      x += byte;
      if (at % 2 != 0) ++at;
    }
  }
  if (data.size() < pixels) {
    *why = "its run-length data ends before its pixels do";
    return {};
  }
  data.resize(pixels);
  return data;
}

// The masks of the raw mode Pillow reads 16 to 32 bits by (R, G, B, A; A 0
// without alpha): without bitfields 5-5-5, BGR or BGRX; with them, the
// layouts its MASK_MODES lists (a 16-bit alpha mask ignored, four zero
// masks BGRA). `reads` false for a layout Pillow refuses.
struct PilFields {
  bool reads = false;
  uint32_t masks[4] = {};
};
PilFields pil_fields(const Layout& l) {
  PilFields f;
  auto set = [&](uint32_t r, uint32_t g, uint32_t b, uint32_t a) {
    f.reads = true, f.masks[0] = r, f.masks[1] = g, f.masks[2] = b, f.masks[3] = a;
  };
  const uint32_t* m = l.masks;
  if (l.compression == 0) {
    if (l.bits == 16) set(0x7C00, 0x3E0, 0x1F, 0);
    if (l.bits == 24) set(0xFF0000, 0xFF00, 0xFF, 0);
    if (l.bits == 32) set(0xFF0000, 0xFF00, 0xFF, 0);
  } else if (l.compression == 3) {
    auto rgb = [&](uint32_t r, uint32_t g, uint32_t b) { return m[0] == r && m[1] == g && m[2] == b; };
    if (l.bits == 16 && (rgb(0xF800, 0x7E0, 0x1F) || rgb(0x7C00, 0x3E0, 0x1F))) set(m[0], m[1], m[2], 0);
    if (l.bits == 24 && rgb(0xFF0000, 0xFF00, 0xFF)) set(m[0], m[1], m[2], 0);
    if (l.bits == 32) {
      const bool zero = rgb(0, 0, 0) && m[3] == 0;
      if (zero) set(0xFF0000, 0xFF00, 0xFF, 0xFF000000);
      else if ((rgb(0xFF0000, 0xFF00, 0xFF) && (m[3] == 0 || m[3] == 0xFF000000)) || (rgb(0xFF000000, 0xFF0000, 0xFF00) && (m[3] == 0 || m[3] == 0xFF)) ||
               (rgb(0xFF, 0xFF00, 0xFF0000) && m[3] == 0xFF000000))
        set(m[0], m[1], m[2], m[3]);
    }
  }
  return f;
}

// 16 to 32 bits that Pillow reads and stb does not, or reads otherwise:
// a 12-byte (OS/2 1.x) or 64-byte (OS/2 2.x) header, planes other than 1,
// a pixel offset of 0 or anywhere but the header's end (stb refuses a gap),
// 24 bits as bitfields, four zero masks, a 16-bit alpha mask in the
// header, with or without bitfields (Pillow ignores it). Rebuilt for stb
// with Pillow's masks.
bool plain_layout(const Layout& l) {
  if (!l.ok || (l.bits != 16 && l.bits != 24 && l.bits != 32) || !pil_fields(l).reads) return false;
  const bool fields = l.compression == 3;
  return l.header_size == 12 || l.header_size == 64 || l.planes != 1 || !l.offset_given || l.pixels_at != l.header_end ||
         (fields && l.bits == 24) ||
         (fields && l.bits == 32 && l.masks[0] == 0 && l.masks[1] == 0 && l.masks[2] == 0 && l.masks[3] == 0) ||
         (l.bits == 16 && l.header_alpha != 0);
}

// The header's width and height (the height's sign kept: negative is top down).
void size_of(const uint8_t* d, const Layout& l, int32_t& width, int32_t& height) {
  width = l.header_size == 12 ? int32_t(le16(d + 18)) : int32_t(le32(d + 18));
  height = l.header_size == 12 ? int32_t(le16(d + 20)) : int32_t(le32(d + 22));
}

// A BMP header stb reads: 40 bytes without bitfields (`masks` null), 40
// bytes and three masks after them (no alpha: stb takes none), or a
// 108-byte (v4) header holding four masks; then `palette_bytes` of palette
// and `data_bytes` of pixel data, which the caller appends.
std::vector<uint8_t> plain_header(int32_t width, int32_t height, uint32_t bits, const uint32_t* masks, size_t palette_bytes,
                                  size_t data_bytes) {
  const bool alpha = masks && masks[3] != 0;
  const size_t header = alpha ? 108 : 40, after = masks && !alpha ? 12 : 0;
  std::vector<uint8_t> out(14 + header + after, 0);
  auto put16 = [&](size_t at, uint32_t v) { out[at] = uint8_t(v), out[at + 1] = uint8_t(v >> 8); };
  auto put32 = [&](size_t at, uint32_t v) { put16(at, v & 0xFFFF), put16(at + 2, v >> 16); };
  out[0] = 'B', out[1] = 'M';
  put32(2, uint32_t(std::min<size_t>(out.size() + palette_bytes + data_bytes, UINT32_MAX)));
  put32(10, uint32_t(out.size() + palette_bytes));
  put32(14, uint32_t(header));
  put32(18, uint32_t(width));
  put32(22, uint32_t(height));
  put16(26, 1);
  put16(28, bits);
  if (masks) {
    put32(30, 3);
    for (int c = 0; c < (alpha ? 4 : 3); ++c) put32(54 + 4 * c, masks[c]);  // v4's masks, or those after a 40-byte header
  }
  return out;
}

}  // namespace

BmpAsPil bmp_as_pil(const uint8_t* d, size_t n) {
  BmpAsPil r;
  const Layout l = layout(d, n);
  if (!l.ok) return r;
  r.plain = plain_layout(l);
  r.stb_refuses = rle_layout(l) || l.header_size == 64 || r.plain || (palette_layout(l) && l.planes != 1);
  r.alpha = r.plain && pil_fields(l).masks[3] != 0;
  int32_t width = 0, height = 0;
  size_of(d, l, width, height);
  r.width = width;
  r.height = int(std::min<int64_t>(std::abs(int64_t(height)), INT32_MAX));
  if (palette_layout(l)) {
    r.palette = true;
    // Pillow's grey test: entry k is (k, k, k), or for 2 colours black then white.
    const size_t at = 14 + l.header_size;
    r.grey = true;
    for (uint32_t k = 0; k < l.colors && r.grey; ++k) {
      const uint32_t v = l.colors == 2 ? k * 255 : k & 255;  // Pillow's o8(k)
      const size_t e = at + size_t(k) * l.entry_bytes;
      r.grey = e + 3 <= n && d[e] == v && d[e + 1] == v && d[e + 2] == v;
    }
  }
  if (l.bits == 32 && l.compression == 0 && !r.plain) r.no_alpha = true;
  const PilFields fields = pil_fields(l);
  if (l.bits == 16 && fields.reads)  // 5-6-5 or 5-5-5
    r.field_bits[0] = 5, r.field_bits[1] = fields.masks[1] == 0x7E0 ? 6 : 5, r.field_bits[2] = 5;
  return r;
}

std::vector<uint8_t> bmp_palette_rebuilt(const uint8_t* d, size_t n, std::string* why) {
  const Layout l = layout(d, n);
  if (!palette_layout(l) || l.pixels_at > n) return {};
  int32_t width = 0, height = 0;
  size_of(d, l, width, height);
  std::vector<uint8_t> idx;  // run-length data decoded, an index a byte; written as 8-bit rows padded to 4 bytes
  size_t w = 0, h = 0, stride = 0;
  if (rle_layout(l)) {
    w = size_t(std::max(width, 0)), h = size_t(std::abs(int64_t(height)));
    if (w == 0 || h == 0) return {};
    idx = rle_indices(d, n, l.pixels_at, w, h, l.bits == 4, why);
    if (idx.empty()) return {};
    stride = (w + 3) & ~size_t(3);
  }
  constexpr size_t kHeader = 14 + 40, kPalette = 256 * 4;
  const size_t data_bytes = rle_layout(l) ? stride * h : n - l.pixels_at;
  std::vector<uint8_t> out = plain_header(width, height, rle_layout(l) ? 8 : l.bits, nullptr, kPalette, data_bytes);
  out.resize(kHeader + kPalette + data_bytes, 0);
  out[46] = 0, out[47] = 1;  // 256 colours
  const size_t at = 14 + l.header_size;
  for (uint32_t k = 0; k < 256; ++k) {
    uint8_t* e = &out[kHeader + 4 * size_t(k)];
    const size_t src = at + size_t(k) * l.entry_bytes;
    if (k < l.colors && src + 3 <= n)
      std::memcpy(e, d + src, 3);  // B, G, R
    else
      e[0] = e[1] = e[2] = uint8_t(k);  // past the file's entries: Pillow's grey
  }
  if (rle_layout(l))
    for (size_t y = 0; y < h; ++y) std::memcpy(&out[kHeader + kPalette + y * stride], &idx[y * w], w);
  else
    std::memcpy(out.data() + kHeader + kPalette, d + l.pixels_at, data_bytes);
  return out;
}

uint64_t bmp_least_bytes(const uint8_t* d, size_t n) {
  const Layout l = layout(d, n);
  if (!l.ok || l.bits == 0 || l.bits > 32 || (l.compression != 0 && l.compression != 3 && l.compression != 6)) return 0;
  int32_t width = 0, height = 0;
  size_of(d, l, width, height);
  const uint64_t w = uint64_t(std::max(width, 0)), h = uint64_t(std::abs(int64_t(height)));
  if (w == 0 || h == 0) return 0;
  return l.pixels_at + (w * l.bits + 31) / 32 * 4 * (h - 1) + (w * l.bits + 7) / 8;
}

std::vector<uint8_t> bmp_plain_rebuilt(const uint8_t* d, size_t n) {
  const Layout l = layout(d, n);
  if (!plain_layout(l) || l.pixels_at > n) return {};
  int32_t width = 0, height = 0;
  size_of(d, l, width, height);
  const PilFields fields = pil_fields(l);
  // 24 bits and 5-5-5 need no masks; BGRX without bitfields takes them, since stb reads a 32-bit BI_RGB's fourth byte as alpha.
  const bool masks = !(l.bits == 24 || (l.bits == 16 && fields.masks[0] == 0x7C00));
  std::vector<uint8_t> out = plain_header(width, height, l.bits, masks ? fields.masks : nullptr, 0, n - l.pixels_at);
  out.insert(out.end(), d + l.pixels_at, d + n);
  return out;
}

uint8_t bmp_field_as_pil(uint8_t stb_value, int bits) {
  // stb: v * 0x21 >> 2 (5 bits), v * 0x41 >> 4 (6 bits); both one to one.
  static const std::array<std::array<uint8_t, 256>, 2> tables = [] {
    std::array<std::array<uint8_t, 256>, 2> t{};
    for (uint32_t v = 0; v < 32; ++v) t[0][(v * 0x21) >> 2] = uint8_t(v * 255 / 31);
    for (uint32_t v = 0; v < 64; ++v) t[1][(v * 0x41) >> 4] = uint8_t(v * 255 / 63);
    return t;
  }();
  return tables[bits == 6 ? 1 : 0][stb_value];
}

}  // namespace gf
