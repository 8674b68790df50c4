#include "models/perceptual/lpips.h"

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops/pool2d.h"
#include "models/perceptual/lpips_common.h"

namespace gf::perceptual {

using json = nlohmann::json;

void LpipsConfig::validate() const {
  GF_CHECK(channels.size() == 5, "lpips config", "AlexNet has 5 conv layers; channels lists " << channels.size());
  for (int c : channels) GF_CHECK(c >= 1, "lpips config", "channel counts must be positive, got " << c);
}

json to_json(const LpipsConfig& c) { return json{{"net", "alex"}, {"version", "0.1"}, {"channels", c.channels}}; }

LpipsConfig lpips_config_from_json(const json& j) {
  LpipsConfig c;
  GF_CHECK(j.is_object(), "lpips_kwargs", "must be a JSON object, got " << io::json_excerpt(j));
  try {
    for (const auto& [key, v] : j.items()) {
      if (key == "channels") c.channels = v.get<std::vector<int>>();
      else if (key == "net") GF_CHECK(v == "alex", "lpips_kwargs", "net must be alex, got " << io::json_excerpt(v));
      else if (key == "version") GF_CHECK(v == "0.1", "lpips_kwargs", "version must be 0.1, got " << io::json_excerpt(v));
      else throw Error("lpips_kwargs: unknown key '" + key + "'");
    }
  } catch (const json::exception& e) {
    throw Error(std::string("lpips_kwargs: bad value (") + io::json_error_text(e) + ")");
  }
  c.validate();
  return c;
}

namespace {

// torchvision's AlexNet features: (index in the Sequential, kernel, stride, padding) of each conv.
struct ConvSpec {
  int index, kernel, stride, pad;
};
constexpr ConvSpec kConvs[5] = {{0, 11, 4, 2}, {3, 5, 1, 2}, {6, 3, 1, 1}, {8, 3, 1, 1}, {10, 3, 1, 1}};

}  // namespace

Lpips::Lpips(const LpipsConfig& cfg, ParamInit& init) : cfg_(cfg) {
  cfg.validate();
  nn::Sequential& net = child("net", std::make_unique<nn::Sequential>());
  nn::Sequential& layers = net.add_named("layers", std::make_unique<nn::Sequential>());
  int cin = 3;
  for (int k = 0; k < 5; ++k) {
    const ConvSpec& s = kConvs[k];
    convs_.push_back(&layers.add_named(std::to_string(s.index),
                                       std::make_unique<nn::Conv2d>(cin, cfg.channels[size_t(k)], s.kernel, s.stride,
                                                                    s.pad, true, init)));
    cin = cfg.channels[size_t(k)];
  }
  nn::Sequential& lin = child("lin", std::make_unique<nn::Sequential>());
  for (int k = 0; k < 5; ++k) {
    // LinLayers: Sequential(Identity, Conv2d(nc, 1, 1, bias=False)), so the conv is "1".
    nn::Sequential& seq = lin.add_named(std::to_string(k), std::make_unique<nn::Sequential>());
    lins_.push_back(&seq.add_named("1", std::make_unique<nn::Conv2d>(cfg.channels[size_t(k)], 1, 1, 1, 0, false, init)));
  }
  requires_grad_(false);
}

std::vector<Tensor> Lpips::features(const Tensor& x) const {
  GF_CHECK(x.dim() == 4 && x.size(1) == 3, "lpips", "images must be [N, 3, H, W], got " << shape_str(x.shape()));
  GF_CHECK(x.size(2) >= 31 && x.size(3) >= 31, "lpips",
           "images must be at least 31x31 for AlexNet's feature stack, got " << x.size(2) << "x" << x.size(3));
  // BaseNet.z_score with its 'mean' and 'std' buffers.
  Tensor h = lpips_scaling(x);
  MaxPool2dParams pool;
  pool.kernel_h = pool.kernel_w = 3;
  pool.stride_h = pool.stride_w = 2;
  std::vector<Tensor> taps;
  for (int k = 0; k < 5; ++k) {
    if (k == 1 || k == 2) h = max_pool2d(h, pool);  // features 2 and 5
    h = relu(convs_[size_t(k)]->forward(h));
    taps.push_back(normalize_activation(h));
  }
  return taps;
}

Tensor Lpips::forward(const Tensor& x, const Tensor& y) const {
  GF_CHECK(x.shape() == y.shape(), "lpips",
           "images " << shape_str(x.shape()) << " and " << shape_str(y.shape()) << " differ in shape");
  const std::vector<Tensor> fx = features(x), fy = features(y);
  Tensor total;
  for (int k = 0; k < 5; ++k) {
    const Tensor d = lins_[size_t(k)]->forward(square(fx[size_t(k)] - fy[size_t(k)]));  // [N, 1, h, w]
    const Tensor s = sum(mean(d, {2, 3}));
    total = total.defined() ? total + s : s;
  }
  return total / double(x.size(0));
}

}  // namespace gf::perceptual
