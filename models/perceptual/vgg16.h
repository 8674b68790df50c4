// VGG16 as StyleGAN2-ADA's metrics and projector run it: NVIDIA's
// `vgg16.pt` (metrics/perceptual_path_length.py, precision_recall.py,
// projector.py), which is torchvision's VGG16 (configuration D, ImageNet
// weights vgg16-397923af.pth) with the LPIPS v0.1 "lin" layers of Zhang et
// al. 2018 (richzhang/PerceptualSimilarity weights/v0.1/vgg.pth). Its two uses:
//   - lpips_embedding (vgg16(img, resize_images=False, return_lpips=True)):
//     images holding 0..255 go to [-1, 1] (x / 127.5 - 1), then
//     (x - [-.030, -.088, -.188]) / [.458, .448, .450] (ImageNet's mean and
//     std in that range), through the 13 convolutions (3x3, pad 1, ReLU; 2x2
//     max pools between stages), tapped after relu1_2, relu2_2, relu3_3,
//     relu4_3 and relu5_3; each tap unit-normalized over its channels
//     (x / (sqrt(sum_c x^2) + 1e-10)), scaled per channel by sqrt(lin
//     weight) and by 1 / sqrt(H W), flattened and concatenated. So
//     (e0 - e1).square().sum(1) is the LPIPS distance of the two images: the
//     sum over taps of the pixel mean of the lin-weighted squared difference.
//   - features (vgg16(img, return_features=True), pr50k3): TF1 bilinear
//     resize to 224x224 (ResizeCoords::asymmetric, as the Inception
//     detector's), the same input normalization, the conv stack, the fifth
//     max pool, torchvision's adaptive average pool to 7x7, classifier fc1
//     (ReLU) and fc2, after its ReLU: [N, 4096].
// Parameter names are torchvision's (features.{0,2,5,...,28}.weight/bias,
// classifier.{0,3}.weight/bias) and LPIPS's (lin{0..4}.model.1.weight), so a
// user's files converted by tools/convert_weights.py --format vgg16 load by
// name; tools/reference/vgg16_reference.py is the PyTorch reference.
//
// The widths are a setting (every torchvision width divided by
// width_divisor), so tests run this code on a thin network; the default is
// the real one (138M parameters, 528 MB as float32).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/torch_layers.h"

namespace gf::perceptual {

struct Vgg16Config {
  int width_divisor = 1;  // 1, 2, 4, 8 or 16: conv widths 64/d .. 512/d, fc widths 4096/d
  static constexpr int resolution = 224;  // what features() resizes to
  int features_dim() const { return 4096 / width_divisor; }
  void validate() const;  // throws gf::Error naming the problem
};
nlohmann::json to_json(const Vgg16Config& c);
Vgg16Config vgg16_config_from_json(const nlohmann::json& j);  // throws gf::Error on unknown keys or bad values

class Vgg16 : public Module {
 public:
  // Parameters drawn from init (tests; the lin weights as their absolute
  // values, so they have square roots); real weights come from a converted
  // file (load_vgg16). Nothing requires grad: the network is fixed, but both
  // functions are differentiable in their input (the projector's loss).
  // Runs in the dtype of its tensors (init's: float64 on the CPU for gradient
  // checks) and on their device (Module::to).
  Vgg16(const Vgg16Config& cfg, ParamInit& init);

  // images [N, 3, H, W], H, W >= 16, values 0..255 (not checked), the dtype
  // and device of the network -> [N, F], F = sum over the five taps of
  // C * H_tap * W_tap: rows whose squared L2 distance is the LPIPS (VGG, v0.1)
  // distance of the images. Throws gf::Error on a wrong rank, channel count,
  // size, dtype or device, and at load time on a negative lin weight (no
  // square root).
  Tensor lpips_embedding(const Tensor& images) const;
  static constexpr int kMinLpipsSide = 16;  // four 2x2 max pools before relu5_3
  // images [N, 3, H, W], any H, W >= 1, values 0..255 -> fc2 after its ReLU,
  // [N, 4096 / width_divisor]: the features pr50k3 compares. Throws gf::Error
  // on a wrong rank, channel count, dtype or device, or an empty batch.
  Tensor features(const Tensor& images) const;

  const Vgg16Config& config() const { return cfg_; }

 private:
  Vgg16Config cfg_;
  std::vector<nn::Conv2d*> convs_;  // features.{0,2,5,7,10,12,14,17,19,21,24,26,28}
  std::vector<nn::Conv2d*> lins_;   // lin{0..4}.model.1, [1, C_tap, 1, 1], no bias
  nn::Linear* fc1_;                 // classifier.0
  nn::Linear* fc2_;                 // classifier.3
};

// The converted file (metadata "perceptual" = "vgg16", optional "vgg16_kwargs"
// {"width_divisor": d}); on the CPU, float32. Throws gf::Error naming the
// file when it is not such a network, a tensor is missing, extra or
// misshapen, or a lin weight is negative.
std::unique_ptr<Vgg16> load_vgg16(const std::string& path);
void save_vgg16(const std::string& path, const Vgg16& net);

}  // namespace gf::perceptual
