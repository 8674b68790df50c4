#include "models/perceptual/vgg16.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"
#include "engine/ops/bias_act.h"
#include "engine/ops/pool2d.h"
#include "engine/ops/resize.h"
#include "models/perceptual/lpips_common.h"

namespace gf::perceptual {

using json = nlohmann::json;

void Vgg16Config::validate() const {
  // The narrowest width is 64: 16 keeps 4 channels in the first stage.
  GF_CHECK(width_divisor == 1 || width_divisor == 2 || width_divisor == 4 || width_divisor == 8 ||
               width_divisor == 16,
           "vgg16 config", "width_divisor must be 1, 2, 4, 8 or 16, got " << width_divisor);
}

json to_json(const Vgg16Config& c) { return json{{"width_divisor", c.width_divisor}}; }

Vgg16Config vgg16_config_from_json(const json& j) {
  Vgg16Config c;
  GF_CHECK(j.is_object(), "vgg16_kwargs", "must be a JSON object, got " << io::json_excerpt(j));
  try {
    for (const auto& [key, v] : j.items()) {
      if (key == "width_divisor") c.width_divisor = json_size(v);
      else throw Error("vgg16_kwargs: unknown key '" + key + "'");
    }
  } catch (const json::exception& e) {
    throw Error(std::string("vgg16_kwargs: bad value (") + io::json_error_text(e) + ")");
  }
  c.validate();
  return c;
}

namespace {

// Configuration D: the five stages' conv counts and widths, and each conv's
// index in torchvision's features Sequential (ReLUs and pools between them).
constexpr int kStageConvs[5] = {2, 2, 3, 3, 3};
constexpr int kStageWidths[5] = {64, 128, 256, 512, 512};
constexpr int kConvIndex[13] = {0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28};
constexpr int kPooledSize = 7;  // the adaptive average pool before the classifier

Tensor max_pool_2x2(const Tensor& x) {
  MaxPool2dParams p;
  p.kernel_h = p.kernel_w = 2;
  p.stride_h = p.stride_w = 2;
  return max_pool2d(x, p);
}

// A conv (3x3, pad 1) and its ReLU, the bias added in the activation's pass
// (one pass over the large early maps instead of two).
Tensor conv_relu(const nn::Conv2d& c, const Tensor& x) {
  Conv2dParams p;
  p.pad_h = p.pad_w = 1;
  return bias_act(conv2d(x, c.weight, p), *c.bias, 1, "relu", std::nullopt, 1.0);
}

// 0..255 -> [-1, 1] -> ImageNet-normalized, the input of both uses.
Tensor normalize_input(const Tensor& images) { return lpips_scaling(affine(images, 1 / 127.5, -1.0)); }

}  // namespace

Vgg16::Vgg16(const Vgg16Config& cfg, ParamInit& init) : cfg_(cfg) {
  cfg.validate();
  const int d = cfg.width_divisor;
  nn::Sequential& features = child("features", std::make_unique<nn::Sequential>());
  int cin = 3, k = 0;
  for (int s = 0; s < 5; ++s)
    for (int i = 0; i < kStageConvs[s]; ++i, ++k) {
      const int cout = kStageWidths[s] / d;
      convs_.push_back(&features.add_named(std::to_string(kConvIndex[k]),
                                           std::make_unique<nn::Conv2d>(cin, cout, 3, 1, 1, true, init)));
      cin = cout;
    }
  nn::Sequential& classifier = child("classifier", std::make_unique<nn::Sequential>());
  fc1_ = &classifier.add_named("0", std::make_unique<nn::Linear>(cin * kPooledSize * kPooledSize, 4096 / d, init));
  fc2_ = &classifier.add_named("3", std::make_unique<nn::Linear>(4096 / d, 4096 / d, init));
  for (int s = 0; s < 5; ++s) {
    // NetLinLayer: model = Sequential(Dropout, Conv2d(C, 1, 1, bias=False)), so the conv is "1".
    nn::Sequential& lin = child("lin" + std::to_string(s), std::make_unique<nn::Sequential>());
    nn::Sequential& model = lin.add_named("model", std::make_unique<nn::Sequential>());
    lins_.push_back(
        &model.add_named("1", std::make_unique<nn::Conv2d>(kStageWidths[s] / d, 1, 1, 1, 0, false, init)));
    // The embedding takes the weights' square root; learned ones are >= 0.
    if (!init.skip_draws) lins_.back()->weight = abs(lins_.back()->weight).detach();
  }
  requires_grad_(false);
}

namespace {

void check_images(const Tensor& images, const Tensor& w, int64_t min_size) {
  GF_CHECK(images.dim() == 4 && images.size(1) == 3, "vgg16",
           "images must be [N, 3, H, W], got " << shape_str(images.shape()));
  GF_CHECK(images.size(0) >= 1, "vgg16", "images must not be empty, got " << shape_str(images.shape()));
  GF_CHECK(images.size(2) >= min_size && images.size(3) >= min_size, "vgg16",
           "images must be at least " << min_size << "x" << min_size << ", got " << images.size(2) << "x"
                                      << images.size(3));
  GF_CHECK(images.dtype() == w.dtype(), "vgg16",
           "images must be " << dtype_name(w.dtype()) << " (the network's dtype), got " << dtype_name(images.dtype()));
  GF_CHECK(images.device() == w.device(), "vgg16",
           "images are on " << images.device().str() << ", the network on " << w.device().str());
}

}  // namespace

Tensor Vgg16::lpips_embedding(const Tensor& images) const {
  // Four 2x2 pools before relu5_3: 16 leaves it one pixel.
  check_images(images, convs_[0]->weight, kMinLpipsSide);
  const int64_t n = images.size(0);
  Tensor h = normalize_input(images);
  std::vector<Tensor> parts;
  size_t k = 0;
  for (int s = 0; s < 5; ++s) {
    if (s > 0) h = max_pool_2x2(h);
    for (int i = 0; i < kStageConvs[s]; ++i) h = conv_relu(*convs_[k++], h);
    // sum_c w_c (a_c - b_c)^2 averaged over the H W pixels is the squared
    // distance of a * sqrt(w) / sqrt(H W) and b likewise.
    const double pixels = double(h.size(2) * h.size(3));
    const Tensor scale = sqrt(lins_[size_t(s)]->weight) * (1 / std::sqrt(pixels));  // [1, C, 1, 1]
    parts.push_back((normalize_activation(h) * scale).reshape({n, -1}));
  }
  return concat(parts, 1);
}

Tensor Vgg16::features(const Tensor& images) const {
  check_images(images, convs_[0]->weight, 1);
  const int64_t n = images.size(0);
  const int r = Vgg16Config::resolution;
  Tensor h = normalize_input(resize_bilinear(images, r, r, ResizeCoords::asymmetric));
  size_t k = 0;
  for (int s = 0; s < 5; ++s) {
    for (int i = 0; i < kStageConvs[s]; ++i) h = conv_relu(*convs_[k++], h);
    h = max_pool_2x2(h);  // 224 -> 112 -> 56 -> 28 -> 14 -> 7
  }
  h = adaptive_avg_pool2d(h, kPooledSize, kPooledSize).reshape({n, -1});  // 7x7 already at 224: the identity
  return relu(fc2_->forward(relu(fc1_->forward(h))));
}

}  // namespace gf::perceptual
