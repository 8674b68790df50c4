#include "data/images/png_header.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <new>

#include "engine/io/utf8.h"

namespace gf {
namespace {

constexpr size_t kMaxTextChunk = size_t(1) << 20;        // Pillow's MAX_TEXT_CHUNK (ImageFile.SAFEBLOCK)
constexpr uint64_t kMaxTextMemory = 64 * kMaxTextChunk;  // its MAX_TEXT_MEMORY, over all text chunks

// The bit depth and colour type pairs Pillow has a mode for (_MODES): those PNG defines.
bool png_defines(int depth, int colour) {
  switch (colour) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return depth == 8 || depth == 16;
    default: return false;
  }
}

// Pillow's is_cid: four of Python's bytes \w.
bool is_chunk_type(const uint8_t* t) {
  for (int i = 0; i < 4; ++i)
    if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
      return false;
  return true;
}

enum class Inflated { ok, error, too_large };

// Pillow's _safe_zlib_decompress: zlib.decompressobj().decompress(s, 1 MiB),
// refused (ValueError) when output of 1 MiB leaves input unread; a zlib
// error is Python's zlib.error, which each caller passes over. The output
// (at most 1 MiB) goes to *text when given.
Inflated inflate_text(const uint8_t* s, size_t len, std::string* text = nullptr) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw std::bad_alloc();
  unsigned char out[1 << 14];
  size_t produced = 0;
  int ret = Z_OK;
  z.next_in = const_cast<Bytef*>(s);
  while (len > 0 || z.avail_in > 0) {  // avail_in is 32 bits: fed in pieces
    if (z.avail_in == 0) {
      const size_t piece = std::min<size_t>(len, 1u << 30);
      z.avail_in = uInt(piece);
      len -= piece;
    }
    const size_t room = std::min(sizeof out, kMaxTextChunk - produced);
    z.next_out = out, z.avail_out = uInt(room);
    ret = inflate(&z, Z_SYNC_FLUSH);
    produced += room - z.avail_out;
    if (text) text->append(reinterpret_cast<const char*>(out), room - z.avail_out);
    if (ret == Z_STREAM_END || (ret != Z_OK && ret != Z_BUF_ERROR)) break;
    if (ret == Z_BUF_ERROR && z.avail_out > 0) break;  // the input is used up: no error in Python
    if (produced == kMaxTextChunk) break;
  }
  const bool unread = z.avail_in > 0 || len > 0;
  inflateEnd(&z);
  if (ret != Z_OK && ret != Z_STREAM_END && ret != Z_BUF_ERROR) return Inflated::error;
  return ret != Z_STREAM_END && produced == kMaxTextChunk && unread ? Inflated::too_large : Inflated::ok;
}

// The code points of strict UTF-8 (Python's decode), or -1 where it is not UTF-8.
int64_t utf8_code_points(const uint8_t* s, size_t n) {
  const std::string text(reinterpret_cast<const char*>(s), n);
  int64_t points = 0;
  for (size_t i = 0; i < n; ++points)
    if (!io::next_utf8(text, i)) return -1;
  return points;
}

// The transparent index of a palette tRNS that Pillow's _simple_palette
// (b"^\xff*\x00\xff*$") matches: one 0 among 255s, the pattern's $ also
// before a last newline; -1 when it does not match.
int simple_palette_index(const uint8_t* s, size_t len) {
  auto one_zero = [&](size_t n) {
    int index = -1;
    for (size_t i = 0; i < n; ++i) {
      if (s[i] == 0xFF) continue;
      if (s[i] != 0 || index >= 0) return -1;
      index = int(i);
    }
    return index;
  };
  const int whole = one_zero(len);
  return whole >= 0 || len == 0 || s[len - 1] != '\n' ? whole : one_zero(len - 1);
}

// Where text chunks split: the bytes before the first NUL and after it (none: no NUL).
struct Split {
  size_t key_len;
  const uint8_t* rest;
  size_t rest_len;
  bool found;
};
Split split_at_nul(const uint8_t* s, size_t len) {
  const void* nul = std::memchr(s, 0, len);
  if (!nul) return {len, s + len, 0, false};
  const size_t k = size_t(static_cast<const uint8_t*>(nul) - s);
  return {k, s + k + 1, len - k - 1, true};
}

std::string bytes_text(size_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

// Pillow's PngStream state: the header the handlers have read so far, and
// what else they keep.
struct PngStream : PngHeader {
  bool have_size = false, have_mode = false;
  int ihdr_depth = 0, ihdr_colour = 0;  // of the last IHDR (depth, colour: of the last PNG defines)
  int64_t seq_num = -1;                     // APNG's last sequence number; -1: none yet
  int64_t n_frames = -1;                    // acTL's; -1: none (Python's None)
  bool default_image = false;               // an IDAT came while there was an acTL and no fcTL frame
  bool have_bbox = false;                   // an fcTL's frame
  uint64_t bbox[4] = {};                    // its left, top, right, bottom
  uint64_t text_memory = 0;                 // characters of text so far (check_text_memory)
};

// One chunk through Pillow's handler of its type (chunk_<type>), data
// whole: why Pillow refuses it, or "". Unknown types have no handler.
std::string handle_chunk(PngStream& st, const uint8_t* type, const uint8_t* s, size_t len) {
  auto is = [&](const char* t) { return std::memcmp(type, t, 4) == 0; };
  auto too_short = [&](size_t need) {
    return "its " + png_chunk_name(type) + " chunk holds " + bytes_text(len) + "; Pillow needs " + std::to_string(need);
  };
  auto add_text = [&](uint64_t chars) {
    st.text_memory += chars;
    return st.text_memory > kMaxTextMemory ? std::string("more than 64 MiB of text in its text chunks, which Pillow refuses")
                                           : std::string();
  };
  if (is("IHDR")) {
    if (len < 13) return too_short(13);
    st.have_size = true;
    st.width = be32(s), st.height = be32(s + 4);
    st.ihdr_depth = s[8], st.ihdr_colour = s[9];
    if (png_defines(s[8], s[9])) st.have_mode = true, st.depth = s[8], st.colour = s[9];
    st.interlaced = st.interlaced || s[12] != 0;
    if (s[11] != 0) return "filter method " + std::to_string(s[11]) + " in its IHDR; PNG defines 0";
    return "";
  }
  if (is("PLTE")) {
    if (st.have_mode && st.colour == 3) st.plte = s, st.plte_len = len;
    return "";
  }
  if (is("tRNS")) {
    using T = PngHeader::Transparency;
    if (!st.have_mode) return "";
    if (st.colour == 3) {  // one transparent index when the alphas match Pillow's _simple_palette, else the alphas
      const int index = simple_palette_index(s, len);
      if (index >= 0) st.transparency = T::value, st.key[0] = uint32_t(index);
      else st.transparency = T::bytes, st.alphas = s, st.alphas_len = len;
    }
    if (st.colour == 0 || st.colour == 2) {  // a colour key: a 2-byte sample each
      const size_t need = st.colour == 0 ? 2 : 6;
      if (len < need)
        return "its tRNS chunk holds " + bytes_text(len) + "; " + (st.colour == 0 ? "a grey" : "an RGB") +
               " image's colour key needs " + std::to_string(need);
      st.transparency = st.colour == 0 ? T::value : T::rgb;
      for (int c = 0; c < (st.colour == 0 ? 1 : 3); ++c) st.key[c] = be16(s + 2 * c);
    }
    return "";
  }
  if (is("gAMA")) return len < 4 ? too_short(4) : "";
  if (is("cHRM"))
    return len % 4 ? "its cHRM chunk holds " + bytes_text(len) + ", not a multiple of 4" : std::string();
  if (is("sRGB")) return len < 1 ? too_short(1) : "";
  if (is("pHYs")) return len < 9 ? too_short(9) : "";
  if (is("iCCP") || is("zTXt")) {  // a name, NUL, compression method 0, zlib data
    const Split k = split_at_nul(s, len);
    const bool iccp = is("iCCP");
    // Pillow takes iCCP's method at the NUL itself (0), or at s[-1] when
    // there is none; zTXt's after the NUL (none: 0).
    if (iccp && len == 0) return "an empty iCCP chunk";
    const int method = iccp ? (k.found ? 0 : s[len - 1]) : k.rest_len ? k.rest[0] : 0;
    if (method != 0)
      return "compression method " + std::to_string(method) + " in its " + png_chunk_name(type) + " chunk";
    // iCCP's data from s[i + 2], i being the NUL (or -1); zTXt's after the method byte.
    const size_t from = iccp ? (k.found ? k.key_len + 2 : 1) : k.key_len + 2;
    const size_t data_len = from < len ? len - from : 0;
    std::string text;  // zTXt's characters (latin-1: a byte each) count
    const Inflated got = inflate_text(s + std::min(from, len), data_len, iccp ? nullptr : &text);
    if (got == Inflated::too_large)
      return "its " + png_chunk_name(type) + " chunk inflates to more than 1 MiB, which Pillow refuses";
    if (iccp || k.key_len == 0 || got == Inflated::error) return "";
    return add_text(text.size());
  }
  if (is("tEXt")) {
    const Split k = split_at_nul(s, len);
    return k.key_len > 0 ? add_text(k.rest_len) : "";
  }
  if (is("iTXt")) {  // keyword NUL, flag, method, language NUL, translated keyword NUL, text
    const Split k = split_at_nul(s, len);
    if (!k.found || k.rest_len < 2) return "";
    const uint8_t flag = k.rest[0], method = k.rest[1];
    const Split lang = split_at_nul(k.rest + 2, k.rest_len - 2);
    if (!lang.found) return "";
    const Split tk = split_at_nul(lang.rest, lang.rest_len);
    if (!tk.found) return "";
    const uint8_t* v = tk.rest;
    size_t v_len = tk.rest_len;
    std::string inflated;
    if (flag != 0) {
      if (method != 0) return "";
      const Inflated got = inflate_text(v, v_len, &inflated);
      if (got == Inflated::too_large) return "its iTXt chunk inflates to more than 1 MiB, which Pillow refuses";
      if (got == Inflated::error) return "";
      v = reinterpret_cast<const uint8_t*>(inflated.data()), v_len = inflated.size();
    }
    if (utf8_code_points(k.rest + 2, lang.key_len) < 0 || utf8_code_points(lang.rest, tk.key_len) < 0) return "";
    const int64_t chars = utf8_code_points(v, v_len);
    return chars < 0 ? "" : add_text(uint64_t(chars));
  }
  if (is("acTL")) {
    if (len < 8) return too_short(8);
    const uint32_t frames = be32(s);
    if (st.n_frames != -1) st.n_frames = -1;  // a second acTL: Pillow drops the animation (a third sets it again)
    else if (frames != 0 && frames <= 0x80000000u) st.n_frames = frames;
    return "";
  }
  if (is("fcTL") || is("fdAT")) {
    const bool fctl = is("fcTL");
    if (len < (fctl ? 26u : 4u)) return too_short(fctl ? 26 : 4);
    const uint32_t seq = be32(s);
    // fcTL's first number is 0; every other one follows the last (fdAT needs an fcTL before it).
    if ((st.seq_num == -1 && (!fctl || seq != 0)) || (st.seq_num != -1 && st.seq_num != int64_t(seq) - 1))
      return "APNG frames out of sequence: " + png_chunk_name(type) + " " + std::to_string(seq);
    st.seq_num = seq;
    if (!fctl) return "";
    // Pillow's image size before any IHDR is 0x0.
    const uint64_t w = be32(s + 4), h = be32(s + 8), x = be32(s + 12), y = be32(s + 16);
    if (x + w > st.width || y + h > st.height) return "an APNG frame that reaches past the image";
    st.have_bbox = true;
    st.bbox[0] = x, st.bbox[1] = y, st.bbox[2] = x + w, st.bbox[3] = y + h;
    return "";
  }
  return "";
}

}  // namespace

std::string png_chunk_name(const uint8_t* t) {
  for (int i = 0; i < 4; ++i)
    if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z'))) {
      char b[16];
      std::snprintf(b, sizeof b, "0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
      return b;
    }
  return std::string(reinterpret_cast<const char*>(t), 4);
}

PngHeader png_header(const uint8_t* d, size_t n) {
  PngStream st;
  PngHeader& h = st;  // what is returned (the header part of the state)
  auto unreadable = [&](const std::string& why) {
    h.problem = "unreadable PNG (" + why + ")";
    return h;
  };
  // _open: chunks up to the first IDAT after a usable IHDR, each whole with
  // its CRC's 4 bytes (an IDAT before one is passed over as unknown: Pillow's
  // handler fails on the raw mode no IHDR has set).
  size_t at = 8;
  for (;; at += 12 + size_t(be32(d + at))) {
    if (at + 8 > n) {
      h.problem = "truncated PNG: the file ends before its image data";
      return h;
    }
    const uint8_t* type = d + at + 4;
    if (!is_chunk_type(type))
      return unreadable("a chunk of type " + png_chunk_name(type) + " before its image data");
    const bool idat = std::memcmp(type, "IDAT", 4) == 0;
    if (idat && st.n_frames >= 0 && !st.have_bbox) st.default_image = true;
    if (idat && st.have_mode) break;
    if (std::memcmp(type, "IEND", 4) == 0) {
      if (!st.have_mode) break;  // no image Pillow opens (below)
      return unreadable("no image data before its IEND");
    }
    if (std::memcmp(type, "fdAT", 4) == 0)
      return unreadable("APNG frame data (fdAT) before its IDAT, which is not read here");
    const size_t len = be32(d + at);
    if (len > n - at - 8 || n - at - 8 - len < 4) {
      h.problem = "truncated PNG: the file ends inside its " + png_chunk_name(type) + " chunk, before its image data";
      return h;
    }
    if (!idat) {
      const std::string why = handle_chunk(st, type, d + at + 8, len);
      if (!why.empty()) return unreadable(why);
    }
  }
  if (!st.have_size) return unreadable("no IHDR");
  if (!st.have_mode)
    return unreadable("colour type " + std::to_string(st.ihdr_colour) + " at bit depth " +
                      std::to_string(st.ihdr_depth) + ", which PNG does not define");
  if (st.colour == 3 && st.plte_len / 3 > 256)  // Pillow's putpalette refuses it
    return unreadable("its PLTE chunk holds " + bytes_text(st.plte_len) + ", more than 256 entries");
  // A PLTE read under an earlier IHDR's palette mode is put on the image as
  // Pillow loads it, which only palette, L and LA images take.
  if (st.plte && st.colour != 3 && !(st.colour == 0 && st.depth >= 2 && st.depth <= 8) &&
      !(st.colour == 4 && st.depth == 8))
    return unreadable("a PLTE read under an earlier IHDR of a palette image, which Pillow puts on this " +
                      std::to_string(st.depth) + "-bit image of colour type " + std::to_string(st.colour) +
                      " and fails");
  // (A box of x0 = x1 = 0 is the whole image to Pillow's decoder, whatever its y.)
  const bool whole = (st.bbox[0] == 0 && st.bbox[2] == 0) ||
                     (st.bbox[0] == 0 && st.bbox[1] == 0 && st.bbox[2] == st.width && st.bbox[3] == st.height);
  if (st.have_bbox && !whole)
    return unreadable("an APNG whose first frame covers part of the image, which is not read here");
  // The image data: IDAT, DDAT and fdAT chunks in a row (Pillow's load_read
  // takes each of them; an fdAT after its sequence number's checks). A cut
  // inside them is decode_png's to judge: Pillow reads as far as the rows need.
  for (;; at += 12 + size_t(be32(d + at))) {
    if (at + 8 > n) {
      h.data_cut = true;
      break;
    }
    const uint8_t* type = d + at + 4;
    const bool fdat = std::memcmp(type, "fdAT", 4) == 0;
    if (!fdat && std::memcmp(type, "IDAT", 4) != 0 && std::memcmp(type, "DDAT", 4) != 0) break;
    const size_t len = be32(d + at), skip = fdat ? 4 : 0, have = std::min<size_t>(len, n - at - 8);
    if (fdat) {
      if (len < 4) return unreadable(handle_chunk(st, type, d + at + 8, len));  // its length alone is read
      if (have < 4) {  // Pillow reads the sequence number whether its decoder needs the data or not
        h.problem = "truncated PNG: the file ends inside an fdAT chunk's sequence number";
        return h;
      }
      const std::string why = handle_chunk(st, type, d + at + 8, 4);
      if (!why.empty()) return unreadable(why);
    }
    h.image_data.push_back({len - skip, d + at + 8 + skip, have - skip});
    if (have < len || n - at - 8 - len < 4) {  // the file ends inside it or its CRC
      h.data_cut = true;
      break;
    }
  }
  if (h.data_cut) return h;
  // load_end: the chunks after it through the same handlers, up to IEND, a
  // header that is not one, or the next frame; a chunk cut short is refused
  // (its CRC need not be there: Pillow skips it unread). The image is the
  // header as it stands now: the handlers go on changing the stream's.
  PngHeader image = h;
  // Pillow counts the default image only while there is a frame count.
  const int64_t frames = st.n_frames >= 0 ? st.n_frames + (st.default_image ? 1 : 0) : 1;
  const bool animated = frames > 1;
  for (; at + 8 <= n; at += 12 + size_t(be32(d + at))) {
    const uint8_t* type = d + at + 4;
    if (!is_chunk_type(type)) break;
    if (std::memcmp(type, "IEND", 4) == 0 || (animated && std::memcmp(type, "fcTL", 4) == 0)) break;
    const size_t len = be32(d + at);
    if (len > n - at - 8) {
      image.problem = "truncated PNG: the file ends inside its " + png_chunk_name(type) + " chunk, after its image data";
      break;
    }
    const std::string why = handle_chunk(st, type, d + at + 8, len);
    if (!why.empty()) {
      image.problem = "unreadable PNG (after its image data, " + why + ")";
      break;
    }
    if (n - at - 8 - len < 4) break;  // no CRC: Pillow's next header read is short
  }
  return image;
}

bool PngHeader::alpha() const {
  if (colour == 4 || colour == 6) return true;
  switch (transparency) {
    case Transparency::value: return colour == 0 || colour == 3;
    case Transparency::bytes: return colour == 3;
    case Transparency::rgb: return colour == 2;
    default: return false;
  }
}

std::string png_unread_data_problem(const PngHeader& h, size_t last) {
  for (size_t j = last + 1; j < h.image_data.size(); ++j)
    if (h.image_data[j].len < h.image_data[j].chunk_len)
      return "truncated PNG: the file ends inside an image data chunk after the one its last row is in";
  return "";
}

}  // namespace gf
