// Image files: decoding PNG/JPEG (stb_image) for datasets, and writing image
// grids as the official save_image_grid does.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gf {

struct ImageInfo {
  int width = 0, height = 0;
  int channels = 0;  // as stored: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
};

// Header only; throws gf::Error naming `name` when the data is not a readable image.
ImageInfo image_info(const uint8_t* data, size_t n, const std::string& name);

// Decodes to `channels` (1 or 3) interleaved HWC uint8: alpha is dropped, gray
// is replicated to RGB, RGB becomes luma (stb's weights) for 1.
std::vector<uint8_t> decode_image(const uint8_t* data, size_t n, const std::string& name, int channels,
                                  ImageInfo* info = nullptr);

// Reads an image file as float32 [1, C, H, W] in [-1, 1] (C = 1 for gray
// files, else 3), the range the networks see: x / 127.5 - 1.
Tensor read_image(const std::string& path);

// images: [N, C, H, W], C = 1 or 3, values in [-1, 1] on any device, with
// N == gw * gh. Written as one PNG of gh rows by gw columns, row-major in N
// as the official save_image_grid (values scaled to [0, 255], rounded half to
// even, clipped). The file appears atomically (temporary name, then rename).
void save_image_grid(const Tensor& images, const std::string& path, int gw, int gh);

}  // namespace gf
