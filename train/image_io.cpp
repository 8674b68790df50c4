#include "train/image_io.h"

#include <stb_image.h>
#include <stb_image_write.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace gf {
namespace {

int as_int_size(size_t n, const std::string& name) {
  GF_CHECK(n <= INT_MAX, name, "image file over 2 GiB");
  return static_cast<int>(n);
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  GF_CHECK(f, path, "cannot open");
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

}  // namespace

ImageInfo image_info(const uint8_t* data, size_t n, const std::string& name) {
  ImageInfo info;
  if (!stbi_info_from_memory(data, as_int_size(n, name), &info.width, &info.height, &info.channels))
    throw Error(name + ": not a readable image (" + stbi_failure_reason() + ")");
  return info;
}

std::vector<uint8_t> decode_image(const uint8_t* data, size_t n, const std::string& name, int channels,
                                  ImageInfo* info) {
  GF_CHECK(channels == 1 || channels == 3, "decode_image", "channels must be 1 or 3, got " << channels);
  ImageInfo got;
  std::unique_ptr<uint8_t, void (*)(void*)> pixels(
      stbi_load_from_memory(data, as_int_size(n, name), &got.width, &got.height, &got.channels, channels),
      stbi_image_free);
  if (!pixels) throw Error(name + ": cannot decode image (" + stbi_failure_reason() + ")");
  if (info) *info = got;
  return std::vector<uint8_t>(pixels.get(), pixels.get() + static_cast<size_t>(got.width) * got.height * channels);
}

Tensor read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  const ImageInfo info = image_info(bytes.data(), bytes.size(), path);
  const int c = info.channels <= 2 ? 1 : 3;
  const std::vector<uint8_t> hwc = decode_image(bytes.data(), bytes.size(), path, c);
  const int64_t h = info.height, w = info.width;
  std::vector<double> v(hwc.size());
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h * w; ++i) v[ch * h * w + i] = hwc[i * c + ch] / 127.5 - 1.0;
  return Tensor::from_vector(v, {1, c, h, w});
}

void save_image_grid(const Tensor& images, const std::string& path, int gw, int gh) {
  GF_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3), "save_image_grid",
           "expected [N, 1 or 3, H, W] images, got " << images.desc());
  GF_CHECK(gw > 0 && gh > 0 && images.size(0) == int64_t(gw) * gh, "save_image_grid",
           "a " << gw << "x" << gh << " grid needs " << int64_t(gw) * gh << " images, got " << images.size(0));
  const int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  const std::vector<double> v = images.to_vector();
  const int64_t W = w * gw, H = h * gh;
  std::vector<uint8_t> out(static_cast<size_t>(W * H * c));
  for (int64_t gy = 0; gy < gh; ++gy)
    for (int64_t gx = 0; gx < gw; ++gx) {
      const double* img = v.data() + ((gy * gw + gx) * c * h * w);
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x) {
            // np.rint rounds half to even, as nearbyint does in the default mode.
            const double s = std::nearbyint((img[(ch * h + y) * w + x] + 1.0) * 127.5);
            const double clipped = std::isnan(s) ? 0.0 : std::min(255.0, std::max(0.0, s));
            out[static_cast<size_t>(((gy * h + y) * W + gx * w + x) * c + ch)] = static_cast<uint8_t>(clipped);
          }
    }
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  GF_CHECK(stbi_write_png_to_func(append, &png, static_cast<int>(W), static_cast<int>(H), static_cast<int>(c),
                                  out.data(), static_cast<int>(W * c)),
           "save_image_grid", "PNG encoding failed for " << path);
  io::write_atomic(path, [&](std::ostream& f) { f.write(png.data(), static_cast<std::streamsize>(png.size())); },
                   "save_image_grid");
}

}  // namespace gf
