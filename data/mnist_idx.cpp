#include "data/mnist_idx.h"

#include <cstring>
#include <filesystem>

#include "data/archives/zip_reader.h"
#include "data/byte_order.h"
#include "engine/error.h"

namespace gf {

IdxImages read_idx_images(const std::string& img_path, const std::string& lbl_path) {
  // IDX: big-endian magic (0x0803: ubyte, 3 dims; 0x0801: ubyte, 1 dim), then the dims. The labels
  // (small) first, then the images' header checked against their count before the rest is inflated;
  // each file is decoded no further than its header's size.
  auto counted = [](size_t k, const char* item) { return std::to_string(k) + " " + item + (k == 1 ? "" : "s"); };
  // Data past the header's count is not decoded, nor its CRC checked: a damaged count reads as a size mismatch.
  auto check_size = [&](const std::string& path, size_t got, size_t want, size_t count, const char* item) {
    if (got != want)
      throw Error(path + ": holds " + (got > want ? "more" : "less") + " data than its header's count of " +
                  counted(count, item) + " (a damaged file?)");
  };
  const GzipHead lbl_head{8, [&](const uint8_t* d, size_t n) {
                            if (n < 8 || be32(d) != 0x00000801) throw Error(lbl_path + ": not an IDX label file");
                            return 8 + size_t(be32(d + 4));
                          }};
  const std::vector<uint8_t> lbl = read_gzip_file(lbl_path, lbl_head);
  const size_t labels = be32(lbl.data() + 4);
  check_size(lbl_path, lbl.size(), 8 + labels, labels, "label");
  const GzipHead img_head{16, [&](const uint8_t* d, size_t n) {
                            if (n < 16 || be32(d) != 0x00000803) throw Error(img_path + ": not an IDX image file");
                            if (be32(d + 8) != 28 || be32(d + 12) != 28)
                              throw Error(img_path + ": expected 28x28 images");
                            const size_t images = be32(d + 4);
                            // An empty dataset trains nothing (the sampler's index modulo 0 was a crash).
                            if (images == 0) throw Error(img_path + ": holds no images (its header counts 0)");
                            if (labels != images)
                              throw Error(lbl_path + ": counts " + counted(labels, "label") + " for the " +
                                          counted(images, "image") + " of " + img_path);
                            return 16 + images * 28 * 28;
                          }};
  const std::vector<uint8_t> img = read_gzip_file(img_path, img_head);
  const size_t n = be32(img.data() + 4), rows = 28, cols = 28;
  check_size(img_path, img.size(), 16 + n * rows * cols, n, "image");

  // Zero padding to 32x32, the nearest power of two (0 maps to -1, the background).
  constexpr size_t res = IdxImages::kRes, pad = (res - 28) / 2;
  IdxImages out;
  out.pixels.assign(n * res * res, 0);
  out.labels.resize(n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t y = 0; y < rows; ++y)
      std::memcpy(&out.pixels[(i * res + y + pad) * res + pad], &img[16 + (i * rows + y) * cols], cols);
    if (lbl[8 + i] >= 10) throw Error(lbl_path + ": label " + std::to_string(lbl[8 + i]) + " out of range");
    out.labels[i] = lbl[8 + i];
  }
  return out;
}

bool fashion_mnist_installed(const std::string& dir) {
  namespace fs = std::filesystem;
  return fs::exists(dir + "/train-images-idx3-ubyte.gz") && fs::exists(dir + "/train-labels-idx1-ubyte.gz");
}

}  // namespace gf
