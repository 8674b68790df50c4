#include "data/images/tga_as_pil.h"

#include <cstring>

#include "data/byte_order.h"

namespace gf {

bool tga_right_to_left(const uint8_t* d, size_t n) { return n >= 18 && (d[17] & 0x10); }

std::vector<uint8_t> tga_colour_map_rebuilt(const uint8_t* d, size_t n, std::string* why) {
  if (n < 18) return {};
  const uint8_t id_len = d[0], map_type = d[1], image_type = d[2], map_depth = d[7], depth = d[16];
  if (map_type != 1 || (image_type != 1 && image_type != 9) || depth != 8 || (map_depth != 16 && map_depth != 24))
    return {};
  const size_t start = le16(d + 3), length = le16(d + 5);
  const size_t entry = map_depth / 8, map_at = 18 + size_t(id_len), pixels_at = map_at + length * entry;
  if (pixels_at > n) return {};  // cut inside its map: stb says so
  if (start + length > 256) {
    *why = "its colour map reaches index " + std::to_string(start + length - 1) + ", past 255 (Pillow cannot load it)";
    return {};
  }
  std::vector<uint8_t> out(d, d + 18);
  out[0] = 0;                     // no image ID
  out[3] = out[4] = 0;            // the map from index 0,
  out[5] = 0, out[6] = 1;         // 256 entries
  out[7] = 24;                    // of B, G, R
  out.resize(18 + 256 * 3);
  for (size_t i = 0; i < 256; ++i) {
    uint8_t* e = &out[18 + 3 * i];
    if (i < start) {
      e[0] = e[1] = e[2] = 0;
    } else if (i - start < length) {
      const uint8_t* src = d + map_at + (i - start) * entry;
      if (entry == 3) {
        std::memcpy(e, src, 3);
      } else {  // Pillow's BGR;15: each 5-bit field v as v * 255 / 31
        const uint32_t v = le16(src);
        for (int c = 0; c < 3; ++c) e[c] = uint8_t(((v >> (5 * c)) & 31) * 255 / 31);
      }
    } else {
      e[0] = e[1] = e[2] = uint8_t(i);
    }
  }
  out.insert(out.end(), d + pixels_at, d + n);
  return out;
}

}  // namespace gf
