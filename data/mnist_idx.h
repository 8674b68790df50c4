// MNIST's and Fashion-MNIST's IDX files, the default training data (Debian's
// dataset-fashion-mnist) and a dataset_tool source, read as the official
// StyleGAN2-ADA dataset_tool.py's open_mnist reads them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// Debian's dataset-fashion-mnist; the default when no --data is given.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// Whether its training split is there.
bool fashion_mnist_installed(const std::string& dir = kFashionMnistDir);

// MNIST's IDX files (train-images-idx3-ubyte.gz and its labels file, gzip'd;
// Fashion-MNIST's are the same): 28x28 grey images padded with zeros to
// 32x32, the nearest power of two, as the official dataset_tool.py pads them.
struct IdxImages {
  static constexpr int kRes = 32;
  std::vector<uint8_t> pixels;  // [n, 32, 32]
  std::vector<uint8_t> labels;  // [n], classes 0-9
  size_t size() const { return labels.size(); }
};
// Throws gf::Error naming the file: not gzip'd IDX ubyte, images not 28x28,
// counts that disagree, a label above 9.
IdxImages read_idx_images(const std::string& images_gz, const std::string& labels_gz);

}  // namespace gf
