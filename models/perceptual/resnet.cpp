#include "models/perceptual/resnet.h"

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops/pool2d.h"
#include "models/config_json.h"

namespace gf::perceptual {

using json = nlohmann::json;

class ResNet::Bottleneck : public Module {
 public:
  Bottleneck(int in, int width, int stride, ParamInit& init)
      : conv1_(child("conv1", std::make_unique<nn::Conv2d>(in, width, 1, 1, 0, false, init))),
        bn1_(child("bn1", std::make_unique<nn::BatchNorm>(width, init))),
        conv2_(child("conv2", std::make_unique<nn::Conv2d>(width, width, 3, stride, 1, false, init))),
        bn2_(child("bn2", std::make_unique<nn::BatchNorm>(width, init))),
        conv3_(child("conv3", std::make_unique<nn::Conv2d>(width, width * 4, 1, 1, 0, false, init))),
        bn3_(child("bn3", std::make_unique<nn::BatchNorm>(width * 4, init))) {
    if (stride != 1 || in != width * 4) {
      nn::Sequential& down = child("downsample", std::make_unique<nn::Sequential>());
      down_conv_ = &down.add(std::make_unique<nn::Conv2d>(in, width * 4, 1, stride, 0, false, init));
      down_bn_ = &down.add(std::make_unique<nn::BatchNorm>(width * 4, init));
    }
  }

  Tensor forward(const Tensor& x) const {
    Tensor h = relu(bn1_.forward(conv1_.forward(x)));
    h = relu(bn2_.forward(conv2_.forward(h)));
    h = bn3_.forward(conv3_.forward(h));
    return relu(h + (down_conv_ ? down_bn_->forward(down_conv_->forward(x)) : x));
  }

 private:
  nn::Conv2d& conv1_;
  nn::BatchNorm& bn1_;
  nn::Conv2d& conv2_;
  nn::BatchNorm& bn2_;
  nn::Conv2d& conv3_;
  nn::BatchNorm& bn3_;
  nn::Conv2d* down_conv_ = nullptr;
  nn::BatchNorm* down_bn_ = nullptr;
};

void ResNetConfig::validate() const {
  GF_CHECK(layers.size() == 4, "resnet config", "layers must list 4 stages' block counts, got " << layers.size());
  for (int n : layers) GF_CHECK(n >= 1 && n <= 1024, "resnet config", "a stage's block count must be 1..1024, got " << n);
  GF_CHECK(width >= 1 && width <= 4096, "resnet config", "width must be 1..4096, got " << width);
}

json to_json(const ResNetConfig& c) { return json{{"layers", c.layers}, {"width", c.width}}; }

ResNetConfig resnet_config_from_json(const json& j) {
  ResNetConfig c;
  GF_CHECK(j.is_object(), "moco_kwargs", "must be a JSON object, got " << io::json_excerpt(j));
  try {
    for (const auto& [key, v] : j.items()) {
      if (key == "layers") c.layers = v.get<std::vector<int>>();
      else if (key == "width") c.width = json_size(v);
      else throw Error("moco_kwargs: unknown key '" + key + "'");
    }
  } catch (const json::exception& e) {
    throw Error(std::string("moco_kwargs: bad value (") + io::json_error_text(e) + ")");
  }
  c.validate();
  return c;
}

ResNet::ResNet(const ResNetConfig& cfg, ParamInit& init) : cfg_(cfg) {
  cfg.validate();
  conv1_ = &child("conv1", std::make_unique<nn::Conv2d>(3, cfg.width, 7, 2, 3, false, init));
  bn1_ = &child("bn1", std::make_unique<nn::BatchNorm>(cfg.width, init));
  int in = cfg.width;
  for (int s = 0; s < 4; ++s) {
    nn::Sequential& stage = child("layer" + std::to_string(s + 1), std::make_unique<nn::Sequential>());
    const int width = cfg.width << s;
    for (int b = 0; b < cfg.layers[size_t(s)]; ++b) {
      blocks_.push_back(&stage.add(std::make_unique<Bottleneck>(in, width, b == 0 && s > 0 ? 2 : 1, init)));
      in = width * 4;
    }
  }
  requires_grad_(false);
}

Tensor ResNet::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) >= 1 && x.size(3) >= 1, "resnet",
           "input must be [N, 3, H, W], got " << shape_str(x.shape()));
  MaxPool2dParams pool;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  pool.pad_h = pool.pad_w = 1;
  Tensor h = max_pool2d(relu(bn1_->forward(conv1_->forward(x))), pool);
  for (const Bottleneck* b : blocks_) h = b->forward(h);
  return adaptive_avg_pool2d(h, 1, 1).reshape({h.size(0), h.size(1)});
}

}  // namespace gf::perceptual
