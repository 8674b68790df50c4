// Inception-v3 as the FID and IS metrics of StyleGAN2-ADA run it
// (metrics/frechet_inception_distance.py and inception_score.py call
// `inception-2015-12-05.pt`, NVIDIA's TorchScript translation of TensorFlow's
// 2015-12-05 Inception graph). The facts this follows, in short:
//   - input: float images [N, 3, H, W] holding 0..255 (uint8 values), any size;
//   - resized to 299x299 by TF1's ResizeBilinear (align_corners=False: output
//     j reads source j * in / 299; ResizeCoords::asymmetric), then
//     (x - 128) / 128;
//   - every conv layer is conv2d without bias, batch norm without scale
//     (beta, running mean and var, eps 1e-3), ReLU;
//   - stem (conv, conv_1, conv_2, max pool, conv_3, conv_4, max pool), then
//     the blocks mixed (A), mixed_1, mixed_2 (A), mixed_3 (B), mixed_4..7 (C),
//     mixed_8 (D), mixed_9, mixed_10 (E), an 8x8 average pool: the 2048
//     features FID uses;
//   - IS: softmax(features @ output.weight^T), 1008 classes, without
//     output.bias (no_output_bias=True).
// Parameter names are the TorchScript state dict's (layers.conv.weight,
// layers.mixed_4.tower_1.conv_3.beta, ..., output.weight, output.bias), so a
// user's file converted by tools/convert_weights.py loads by name;
// tools/reference/inception_reference.py is the PyTorch reference with the same names.
//
// The channel widths are a setting (every official width divided by
// width_divisor), so tests run this code on a thin network; the default is
// the real one (23.9M parameters).
#pragma once
#include <nlohmann/json.hpp>

#include "models/torch_layers.h"

namespace gf::perceptual {

struct InceptionConfig {
  int width_divisor = 1;  // every channel width is the official one / this (1, 2, 4, 8 or 16)
  static constexpr int classes = 1008;     // output.weight rows
  static constexpr int resolution = 299;   // what the network sees after the resize
  int features() const { return 2048 / width_divisor; }
  void validate() const;  // throws gf::Error naming the problem
};
nlohmann::json to_json(const InceptionConfig& c);
InceptionConfig inception_config_from_json(const nlohmann::json& j);  // throws gf::Error on unknown keys or bad values

namespace inception {
// One "Conv2dLayer": conv2d (no bias) -> batch norm (no scale, eps 1e-3) -> ReLU.
// Tensors: weight [out, in, kh, kw], beta, mean, var [out].
class ConvLayer : public Module {
 public:
  ConvLayer(int in, int out, int kh, int kw, int stride, int pad_h, int pad_w, ParamInit& init);
  Tensor forward(const Tensor& x) const { return norm_relu(conv(x)); }
  Tensor conv(const Tensor& x) const;       // the convolution alone
  Tensor norm_relu(const Tensor& y) const;  // the batch norm and the ReLU
  Tensor& weight;
  Tensor& beta;
  Tensor& mean;
  Tensor& var;

 private:
  Conv2dParams p_;
};
}  // namespace inception

class InceptionV3 : public Module {
 public:
  // Parameters drawn from init (tests); real weights come from a converted
  // file (models/perceptual/network_file.h). Nothing requires grad: the
  // detector is fixed. Runs on the device of its tensors (Module::to).
  InceptionV3(const InceptionConfig& cfg, ParamInit& init);

  // images [N, 3, H, W], N >= 1, H, W >= 1, the dtype and device of the
  // network's tensors (float32 for a loaded file), values 0..255 (not
  // checked) -> the pool features [N, 2048 / width_divisor]: what FID's
  // detector(images, return_features=True) returns. Throws gf::Error on a
  // wrong rank, channel count, dtype or device.
  Tensor features(const Tensor& images) const;
  // The same images -> class probabilities [N, 1008], softmax of
  // features @ output.weight^T without the bias: what IS's
  // detector(images, no_output_bias=True) returns.
  Tensor probabilities(const Tensor& images) const;

  const InceptionConfig& config() const { return cfg_; }

  class Block;  // one mixed layer (inception.cpp)

 private:
  Tensor stem(const Tensor& x) const;
  InceptionConfig cfg_;
  std::vector<inception::ConvLayer*> stem_;  // conv, conv_1, conv_2, conv_3, conv_4
  std::vector<Block*> blocks_;               // mixed .. mixed_10
  nn::Linear* output_;
};

}  // namespace gf::perceptual
