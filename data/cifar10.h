// CIFAR-10's Python version (cifar-10-python.tar.gz from
// https://www.cs.toronto.edu/~kriz/cifar.html): the five training batches,
// read as the official StyleGAN2-ADA dataset_tool.py's open_cifar10 reads
// them: cifar-10-batches-py/data_batch_1 ... data_batch_5, each a pickled
// dict whose 'data' is uint8 [n, 3072] (each row a 3x32x32 image, CHW) and
// 'labels' n classes 0-9, concatenated in batch order. The test batch is
// not read.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

struct Cifar10 {
  static constexpr int kRes = 32;
  std::vector<uint8_t> pixels;  // [N, 32, 32, 3] HWC, as the official transposes them
  std::vector<int> labels;      // [N], 0-9
  size_t size() const { return labels.size(); }
};

// Throws gf::Error naming the file (and the batch) when it is not such a
// tarball: a missing batch, a pickle of another shape, a label outside 0-9.
// Unlike the official tool, which asserts 50000 images, any count that the
// batches agree on is taken (so that small files stand in for it in tests).
Cifar10 read_cifar10(const std::string& tarball);

}  // namespace gf
