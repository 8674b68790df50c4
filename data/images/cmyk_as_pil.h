// CMYK to RGB as Pillow 9.4 converts it (Image.convert('RGB'), Convert.c's
// cmyk2rgb: no colour profile), for the files Pillow reads as inverted CMYK
// (raw mode "CMYK;I"): Adobe's CMYK JPEGs and every CMYK PSD store 255 for
// no ink, and Pillow takes ink = 255 - stored.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace gf {

// `stored`: `pixels` CMYK pixels as the file stores them (inverted); `rgb`:
// 3 * `pixels` bytes. Each channel is 255 - k - c * (255 - k) / 255 with
// Pillow's MULDIV255 rounding.
inline void inverted_cmyk_to_rgb(const uint8_t* stored, size_t pixels, uint8_t* rgb) {
  for (size_t p = 0; p < pixels; ++p) {
    const int nk = stored[p * 4 + 3];  // 255 - k, k being 255 - the stored value
    for (int c = 0; c < 3; ++c) {
      const int t = (255 - stored[p * 4 + c]) * nk + 128;
      rgb[p * 3 + c] = static_cast<uint8_t>(std::clamp(nk - (((t >> 8) + t) >> 8), 0, 255));
    }
  }
}

}  // namespace gf
