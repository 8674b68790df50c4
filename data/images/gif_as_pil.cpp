#include "data/images/gif_as_pil.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "data/byte_order.h"

namespace gf {
namespace {

// The blocks of a GIF after its logical screen descriptor and global
// colour table, walked without decoding: fn(label, at) for each extension
// (at: its first data sub-block) and fn(0x2C, at) for each image
// descriptor (at: its first byte after the 0x2C; at + 9 <= n); fn returns
// false to stop. A byte that starts no block is passed over, as Pillow 9.4
// passes over it; the trailer, or the file's end, ends the walk.
size_t gif_colour_table_bytes(uint8_t packed) { return (packed & 0x80) ? size_t(3) << ((packed & 7) + 1) : size_t(0); }
template <class Fn>
void for_each_gif_block(const uint8_t* d, size_t n, Fn fn) {
  if (n < 13) return;  // "GIF8?a", then the logical screen descriptor
  size_t at = 13 + gif_colour_table_bytes(d[10]);
  auto skip_sub_blocks = [&] {  // sizes up to a zero size
    while (at < n && d[at] != 0) at += 1 + size_t(d[at]);
    if (at < n) ++at;
  };
  while (at < n) {
    const uint8_t block = d[at++];
    if (block == 0x21) {  // extension: its label, then sub-blocks
      if (at >= n || !fn(d[at], at + 1)) return;
      const uint8_t label = d[at++];
      // Pillow reads the first sub-block, then (but for a comment) more up
      // to an empty one: after an empty first one, from the next byte on.
      if (at < n && d[at] == 0 && label != 0xFE) ++at;
      skip_sub_blocks();
    } else if (block == 0x2C) {  // image descriptor: position, size, packed byte; table; LZW code size; data
      if (at + 9 > n || !fn(block, at)) return;
      at += 9 + gif_colour_table_bytes(d[at + 8]) + 1;
      skip_sub_blocks();
    } else if (block == 0x3B) {  // the trailer
      return;
    }  // else a byte the format does not have: Pillow reads on from the next
  }
}

}  // namespace

int gif_frame_count(const uint8_t* d, size_t n) {
  int frames = 0;
  for_each_gif_block(d, n, [&](uint8_t label, size_t) {
    frames += label == 0x2C;
    return true;
  });
  return std::max(frames, 1);
}

GifFirstFrame gif_first_frame(const uint8_t* d, size_t n) {
  GifFirstFrame f;
  if (n < 13) return f;
  // Pillow's _is_palette_needed: a table is kept unless it is the grey ramp.
  auto grey_ramp = [&](size_t at, uint8_t packed) {
    const size_t bytes = gif_colour_table_bytes(packed);
    if (at + bytes > n) return false;
    for (size_t i = 0; i < bytes; ++i)
      if (d[at + i] != i / 3) return false;
    return true;
  };
  f.width = le16(d + 6), f.height = le16(d + 8);
  const bool global_table = d[10] & 0x80;
  if (global_table && 13 + 3 <= n) std::memcpy(f.fill, d + 13, 3);
  f.grey = !global_table || grey_ramp(13, d[10]);
  for_each_gif_block(d, n, [&](uint8_t label, size_t at) {
    // Pillow reads a control extension's first 4 bytes, of a first
    // sub-block of any size from 4 (stb: of 4 alone), and a transparency
    // index stays once one gives it (stb: the last extension counts).
    // Shorter ones, and an application extension without data, fail in
    // Pillow (its _seek indexes what is not there).
    const size_t size = at < n ? d[at] : 0;
    if (label == 0xF9 && (size < 3 || (size == 3 && at + 1 < n && (d[at + 1] & 1))) && f.problem.empty())
      f.problem = "a graphic control extension of " + std::to_string(size) + (size == 1 ? " byte" : " bytes") +
                  ", which Pillow 9.4 fails on";
    if (label == 0xFF && f.problem.empty()) {
      const size_t next = at + 1 + size;  // NETSCAPE2.0's loop count sub-block
      if (size == 0) f.problem = "an application extension without its data, which Pillow 9.4 fails on";
      else if (size >= 11 && at + 12 <= n && std::memcmp(d + at + 1, "NETSCAPE2.0", 11) == 0 && next < n && d[next] == 0)
        f.problem = "a NETSCAPE2.0 extension without its loop count, which Pillow 9.4 fails on";
    }
    if (label == 0xF9 && at + 5 <= n && d[at] >= 4 && (d[at + 1] & 1)) f.transparency = true, f.transparency_index = d[at + 4];
    if (label != 0x2C) return true;
    f.descriptor = at;
    f.width = std::max(f.width, le16(d + at) + le16(d + at + 4));
    f.height = std::max(f.height, le16(d + at + 2) + le16(d + at + 6));
    if (d[at + 8] & 0x80) {
      if (at + 9 + 3 <= n) std::memcpy(f.fill, d + at + 9, 3);
      f.grey = grey_ramp(at + 9, d[at + 8]);
    }
    return false;
  });
  return f;
}

std::vector<uint8_t> gif_rebuilt(const uint8_t* d, size_t n, const GifFirstFrame& f) {
  if (f.descriptor == 0) return {};
  std::vector<uint8_t> out(d, d + 13);
  out[6] = uint8_t(f.width), out[7] = uint8_t(f.width >> 8);
  out[8] = uint8_t(f.height), out[9] = uint8_t(f.height >> 8);
  out[10] |= 0x87;  // a global table of 256 entries
  out[11] = 0;      // background index
  auto put_table = [&](size_t at, uint8_t packed) {  // the file's entries, then greys
    const size_t have = std::min(gif_colour_table_bytes(packed), n - std::min(n, at));
    out.insert(out.end(), d + at, d + at + have);
    for (size_t i = have; i < 768; ++i) out.push_back(uint8_t(i / 3));
  };
  put_table(13, d[10]);
  // The blocks before the frame: one control extension of Pillow's
  // transparency, if any; the others (comments, loop counts, bytes of no
  // block, extensions stb does not read) change no pixel of it.
  if (f.transparency) {
    const uint8_t control[8] = {0x21, 0xF9, 4, 1, 0, 0, f.transparency_index, 0};
    out.insert(out.end(), control, control + 8);
  }
  out.push_back(0x2C);
  out.insert(out.end(), d + f.descriptor, d + f.descriptor + 9);  // up to the frame's packed byte
  const uint8_t packed = d[f.descriptor + 8];
  size_t rest = f.descriptor + 9;
  if (packed & 0x80) {
    out.back() = uint8_t(packed | 0x07);
    put_table(rest, packed);
    rest += gif_colour_table_bytes(packed);
  }
  if (rest < n) out.insert(out.end(), d + rest, d + n);
  return out;
}

}  // namespace gf
