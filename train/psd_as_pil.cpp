#include "train/psd_as_pil.h"

#include <cstring>

#include "train/byte_order.h"

namespace gf {

bool psd_extra_channels(const uint8_t* d, size_t n) {
  return n >= 26 && std::memcmp(d, "8BPS", 4) == 0 && be16(d + 24) == 3 && be16(d + 12) > 4;
}

std::vector<uint8_t> psd_first_three_channels(const uint8_t* d, size_t n) {
  if (!psd_extra_channels(d, n)) return {};
  const uint64_t channels = be16(d + 12), h = be32(d + 14), w = be32(d + 18), depth = be16(d + 22);
  // The header, then three sections each after its length: the colour mode
  // data, the image resources, the layers and masks; then the image data.
  size_t at = 26;
  for (int section = 0; section < 3; ++section) {
    if (at + 4 > n) return {};
    at += 4 + size_t(be32(d + at));
  }
  if (at + 2 > n) return {};
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

}  // namespace gf
