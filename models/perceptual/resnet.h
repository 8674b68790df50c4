// ResNet-50 without its classifier, the feature network of pSp's MoCo-based
// similarity loss (criteria/moco_loss.py, from encoder4editing): torchvision's
// models.resnet50() (torchvision/models/resnet.py, v1.5: the stride in the
// 3x3 conv of each stage's first block) holding the MoCo v2 query encoder's
// weights, with its last child (fc) removed; in eval mode.
//   conv1 (7x7/2, pad 3, no bias), bn1, ReLU, max pool 3/2 pad 1,
//   layer1..layer4: Bottleneck blocks of width w, 2w, 4w, 8w (w = 64) and
//     outputs 4x their width; the first block of layers 2..4 has stride 2;
//     a block's shortcut is downsample = (1x1 conv with its stride, BN) where
//     the shape changes, else the input. Bottleneck: conv1 1x1, bn1, ReLU,
//     conv2 3x3/stride pad 1, bn2, ReLU, conv3 1x1, bn3, + shortcut, ReLU;
//   avgpool: the mean over the pixels -> [N, 32 w] (2048).
// Every conv is bias-free, every batch norm runs on its running statistics
// (eps 1e-5). Module names are torchvision's (conv1.weight,
// layer1.0.downsample.1.running_var, ...), so the user's MoCo checkpoint
// loads by name once converted (models/perceptual/network_file.h). The block
// counts and w are settings, so tests run the same code on a small network;
// the defaults are ResNet-50's.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "models/torch_layers.h"

namespace gf::perceptual {

struct ResNetConfig {
  std::vector<int> layers = {3, 4, 6, 3};  // Bottleneck blocks of layer1..layer4
  int width = 64;                          // the stem's channels and layer1's bottleneck width
  int features() const { return width * 8 * 4; }  // layer4's output channels: 2048
  void validate() const;                          // throws gf::Error naming the problem
};
nlohmann::json to_json(const ResNetConfig& c);
ResNetConfig resnet_config_from_json(const nlohmann::json& j);  // throws gf::Error on unknown keys or bad values

class ResNet : public Module {
 public:
  // Parameters drawn from init (tests); real weights come from a converted
  // file. The parameters do not require grad: the loss network is fixed.
  ResNet(const ResNetConfig& cfg, ParamInit& init);
  // x [N, 3, H, W] (H, W >= 1) -> the pooled features [N, features()],
  // before any normalization (the MoCo loss normalizes them).
  Tensor forward(const Tensor& x) const;
  const ResNetConfig& config() const { return cfg_; }

  class Bottleneck;

 private:
  ResNetConfig cfg_;
  nn::Conv2d* conv1_;
  nn::BatchNorm* bn1_;
  std::vector<const Bottleneck*> blocks_;  // layer1.0 ... layer4.(n-1), in order
};

}  // namespace gf::perceptual
