// pSp's input pipeline for encoding (configs/transforms_config.py
// EncodeTransforms; datasets/images_dataset.py with no source transform, so
// the input is the target): transforms.Resize((S, S)) (PIL's bilinear,
// data/images/image_resize.h), RandomHorizontalFlip(0.5) for training,
// ToTensor and Normalize([0.5] * C, [0.5] * C): (v / 255 - 0.5) / 0.5 in
// float32. Grey images become RGB by replication for an RGB network (PIL's
// convert('RGB')).
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"
#include "data/dataset.h"

namespace gf::psp {

// One image, interleaved hwc [h, w, in_c] uint8, into out_chw [out_c, size,
// size] floats in [-1, 1]; out_c is in_c, or 3 for a grey image (in_c 1).
void transform_image(const std::vector<uint8_t>& hwc, int w, int h, int in_c, int size, bool flip, int out_c,
                     float* out_chw);

// Dataset items as float32 [N, channels, size, size] in [-1, 1]; flips[k]
// mirrors item k (empty: none). Throws gf::Error when the dataset's images
// cannot become `channels` channels (colour data for a grey network).
Tensor transform_batch(const Dataset& ds, const std::vector<int64_t>& indices, int size, int channels,
                       const std::vector<bool>& flips, Device device);

}  // namespace gf::psp
