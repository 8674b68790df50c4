#include "models/perceptual/inception.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"
#include "engine/ops/batch_norm.h"
#include "engine/ops/pool2d.h"
#include "engine/ops/resize.h"

namespace gf::perceptual {

using json = nlohmann::json;
using inception::ConvLayer;

// The TF graph's Sub and Mul constants: x = (x - 128) * (1 / 128). (One
// third-party re-reading uses 127.5.)
constexpr double kPixelCenter = 128.0;
constexpr double kBatchNormEps = 1e-3;

void InceptionConfig::validate() const {
  // Every official width is a multiple of 16 (the narrowest: 48 and 80).
  GF_CHECK(width_divisor == 1 || width_divisor == 2 || width_divisor == 4 || width_divisor == 8 ||
               width_divisor == 16,
           "inception config", "width_divisor must be 1, 2, 4, 8 or 16, got " << width_divisor);
}

json to_json(const InceptionConfig& c) {
  return json{{"width_divisor", c.width_divisor}, {"classes", InceptionConfig::classes}};
}

InceptionConfig inception_config_from_json(const json& j) {
  InceptionConfig c;
  GF_CHECK(j.is_object(), "inception_kwargs", "must be a JSON object, got " << io::json_excerpt(j));
  try {
    for (const auto& [key, v] : j.items()) {
      if (key == "width_divisor") c.width_divisor = json_size(v);
      else if (key == "classes")
        GF_CHECK(v == InceptionConfig::classes, "inception_kwargs", "classes must be 1008, got " << io::json_excerpt(v));
      else throw Error("inception_kwargs: unknown key '" + key + "'");
    }
  } catch (const json::exception& e) {
    throw Error(std::string("inception_kwargs: bad value (") + io::json_error_text(e) + ")");
  }
  c.validate();
  return c;
}

namespace inception {

ConvLayer::ConvLayer(int in, int out, int kh, int kw, int stride, int pad_h, int pad_w, ParamInit& init)
    : weight(param("weight", init.uniform({out, in, kh, kw}, std::sqrt(6.0 / (in * kh * kw))))),
      beta(param("beta", init.uniform({out}, 0.1))),
      mean(buffer("mean", init.uniform({out}, 0.1))),
      var(buffer("var", init.uniform({out}, 0.5) + 1.0)) {
  p_.stride_h = p_.stride_w = stride;
  p_.pad_h = pad_h, p_.pad_w = pad_w;
}

Tensor ConvLayer::conv(const Tensor& x) const { return conv2d(x, weight, p_); }

Tensor ConvLayer::norm_relu(const Tensor& y) const {
  return relu(batch_norm(y, Tensor(), beta, mean, var, false, 0.1, kBatchNormEps));
}

}  // namespace inception

namespace {

Tensor max_pool(const Tensor& x, int stride, int pad) {
  MaxPool2dParams p;
  p.kernel_h = p.kernel_w = 3;
  p.stride_h = p.stride_w = stride;
  p.pad_h = p.pad_w = pad;
  return max_pool2d(x, p);
}

// The blocks' average pool: 3x3, stride 1, padding 1, the padding not counted
// (TF's SAME average pool; torch's count_include_pad=False). Composed of a
// depthwise conv2d of ones (the window sums) and a division by each pixel's
// window size; it is cheap where it runs (after the branch's 1x1 conv, below).
// The window sizes are the same sum over a plane of ones, formed on the
// tensor's device (no host-to-device copy, which would wait for the device).
Tensor avg_pool_3x3(const Tensor& x) {
  const int64_t c = x.size(1), h = x.size(2), w = x.size(3);
  Conv2dParams p;
  p.pad_h = p.pad_w = 1;
  const Tensor count = conv2d(ones({1, 1, h, w}, x.dtype(), x.device()), ones({1, 1, 3, 3}, x.dtype(), x.device()), p);
  p.groups = int(c);
  return conv2d(x, ones({c, 1, 3, 3}, x.dtype(), x.device()), p) / count;
}

// A pool branch "pool, then a 1x1 conv layer": the average pool and the 1x1
// convolution are both linear and act on different axes, so they commute,
// and the pool runs on the conv's (fewer) output channels: 192 instead of 768
// in mixed_4..7, 192 instead of 1280 in mixed_9. Same result up to rounding.
Tensor avg_pool_then(const ConvLayer& layer, const Tensor& x) {
  return layer.norm_relu(avg_pool_3x3(layer.conv(x)));
}

}  // namespace

// A mixed layer; its towers are containers named tower, tower_1, tower_2.
class InceptionV3::Block : public nn::Sequential {
 public:
  virtual Tensor forward(const Tensor& x) const = 0;

 protected:
  // A conv layer named `name` under `parent` (this block or one of its towers).
  static ConvLayer* layer(nn::Sequential& parent, const std::string& name, int in, int out, int kh, int kw,
                          int stride, int ph, int pw, ParamInit& init) {
    return &parent.add_named(name, std::make_unique<ConvLayer>(in, out, kh, kw, stride, ph, pw, init));
  }
  nn::Sequential& tower(const std::string& name) { return add_named(name, std::make_unique<nn::Sequential>()); }
  // A tower's conv layers applied in order.
  static Tensor chain(const std::vector<ConvLayer*>& ls, Tensor h) {
    for (const ConvLayer* l : ls) h = l->forward(h);
    return h;
  }
};

namespace {

using Block = InceptionV3::Block;

// A(in, pool_features): 1x1 | 1x1, 5x5 | 1x1, 3x3, 3x3 | avg pool, 1x1.
class BlockA : public Block {
 public:
  BlockA(int in, int pf, int d, ParamInit& init) {
    c_ = layer(*this, "conv", in, 64 / d, 1, 1, 1, 0, 0, init);
    nn::Sequential& t = tower("tower");
    t0_ = layer(t, "conv", in, 48 / d, 1, 1, 1, 0, 0, init);
    t1_ = layer(t, "conv_1", 48 / d, 64 / d, 5, 5, 1, 2, 2, init);
    nn::Sequential& u = tower("tower_1");
    u0_ = layer(u, "conv", in, 64 / d, 1, 1, 1, 0, 0, init);
    u1_ = layer(u, "conv_1", 64 / d, 96 / d, 3, 3, 1, 1, 1, init);
    u2_ = layer(u, "conv_2", 96 / d, 96 / d, 3, 3, 1, 1, 1, init);
    p_ = layer(tower("tower_2"), "conv", in, pf / d, 1, 1, 1, 0, 0, init);
  }
  Tensor forward(const Tensor& x) const override {
    return concat({c_->forward(x), t1_->forward(t0_->forward(x)), u2_->forward(u1_->forward(u0_->forward(x))),
                   avg_pool_then(*p_, x)},
                  1);
  }

 private:
  ConvLayer *c_, *t0_, *t1_, *u0_, *u1_, *u2_, *p_;
};

// B(in): 3x3 stride 2 | 1x1, 3x3, 3x3 stride 2 | max pool stride 2.
class BlockB : public Block {
 public:
  BlockB(int in, int d, ParamInit& init) {
    c_ = layer(*this, "conv", in, 384 / d, 3, 3, 2, 0, 0, init);
    nn::Sequential& t = tower("tower");
    t0_ = layer(t, "conv", in, 64 / d, 1, 1, 1, 0, 0, init);
    t1_ = layer(t, "conv_1", 64 / d, 96 / d, 3, 3, 1, 1, 1, init);
    t2_ = layer(t, "conv_2", 96 / d, 96 / d, 3, 3, 2, 0, 0, init);
  }
  Tensor forward(const Tensor& x) const override {
    return concat({c_->forward(x), t2_->forward(t1_->forward(t0_->forward(x))), max_pool(x, 2, 0)}, 1);
  }

 private:
  ConvLayer *c_, *t0_, *t1_, *t2_;
};

// C(in, c7): 1x1 | 1x1, 1x7, 7x1 | 1x1, 7x1, 1x7, 7x1, 1x7 | avg pool, 1x1.
class BlockC : public Block {
 public:
  BlockC(int in, int c7, int d, ParamInit& init) {
    const int m = c7 / d, o = 192 / d;
    c_ = layer(*this, "conv", in, o, 1, 1, 1, 0, 0, init);
    nn::Sequential& t = tower("tower");
    t_ = {layer(t, "conv", in, m, 1, 1, 1, 0, 0, init), layer(t, "conv_1", m, m, 1, 7, 1, 0, 3, init),
          layer(t, "conv_2", m, o, 7, 1, 1, 3, 0, init)};
    nn::Sequential& u = tower("tower_1");
    u_ = {layer(u, "conv", in, m, 1, 1, 1, 0, 0, init), layer(u, "conv_1", m, m, 7, 1, 1, 3, 0, init),
          layer(u, "conv_2", m, m, 1, 7, 1, 0, 3, init), layer(u, "conv_3", m, m, 7, 1, 1, 3, 0, init),
          layer(u, "conv_4", m, o, 1, 7, 1, 0, 3, init)};
    p_ = layer(tower("tower_2"), "conv", in, o, 1, 1, 1, 0, 0, init);
  }
  Tensor forward(const Tensor& x) const override {
    return concat({c_->forward(x), chain(t_, x), chain(u_, x), avg_pool_then(*p_, x)}, 1);
  }

 private:
  ConvLayer *c_, *p_;
  std::vector<ConvLayer*> t_, u_;
};

// D(in): 1x1, 3x3 stride 2 | 1x1, 1x7, 7x1, 3x3 stride 2 | max pool stride 2.
class BlockD : public Block {
 public:
  BlockD(int in, int d, ParamInit& init) {
    const int o = 192 / d;
    nn::Sequential& t = tower("tower");
    t0_ = layer(t, "conv", in, o, 1, 1, 1, 0, 0, init);
    t1_ = layer(t, "conv_1", o, 320 / d, 3, 3, 2, 0, 0, init);
    nn::Sequential& u = tower("tower_1");
    u_ = {layer(u, "conv", in, o, 1, 1, 1, 0, 0, init), layer(u, "conv_1", o, o, 1, 7, 1, 0, 3, init),
          layer(u, "conv_2", o, o, 7, 1, 1, 3, 0, init), layer(u, "conv_3", o, o, 3, 3, 2, 0, 0, init)};
  }
  Tensor forward(const Tensor& x) const override {
    return concat({t1_->forward(t0_->forward(x)), chain(u_, x), max_pool(x, 2, 0)}, 1);
  }

 private:
  ConvLayer *t0_, *t1_;
  std::vector<ConvLayer*> u_;
};

// E(in, pool): 1x1 | 1x1 -> (1x3, 3x1) | 1x1, 3x3 -> (1x3, 3x1) | pool, 1x1.
// The towers are flat names (tower_conv, tower_mixed_conv, ...).
class BlockE : public Block {
 public:
  BlockE(int in, bool max_pool, int d, ParamInit& init) : max_pool_(max_pool) {
    const int w = 384 / d;
    c_ = layer(*this, "conv", in, 320 / d, 1, 1, 1, 0, 0, init);
    t_ = layer(*this, "tower_conv", in, w, 1, 1, 1, 0, 0, init);
    ta_ = layer(*this, "tower_mixed_conv", w, w, 1, 3, 1, 0, 1, init);
    tb_ = layer(*this, "tower_mixed_conv_1", w, w, 3, 1, 1, 1, 0, init);
    u0_ = layer(*this, "tower_1_conv", in, 448 / d, 1, 1, 1, 0, 0, init);
    u1_ = layer(*this, "tower_1_conv_1", 448 / d, w, 3, 3, 1, 1, 1, init);
    ua_ = layer(*this, "tower_1_mixed_conv", w, w, 1, 3, 1, 0, 1, init);
    ub_ = layer(*this, "tower_1_mixed_conv_1", w, w, 3, 1, 1, 1, 0, init);
    p_ = layer(*this, "tower_2_conv", in, 192 / d, 1, 1, 1, 0, 0, init);
  }
  Tensor forward(const Tensor& x) const override {
    const Tensor t = t_->forward(x), u = u1_->forward(u0_->forward(x));
    // Max does not commute with the conv: mixed_10 pools first.
    const Tensor pooled = max_pool_ ? p_->forward(max_pool(x, 1, 1)) : avg_pool_then(*p_, x);
    return concat({c_->forward(x), ta_->forward(t), tb_->forward(t), ua_->forward(u), ub_->forward(u), pooled}, 1);
  }

 private:
  bool max_pool_;
  ConvLayer *c_, *t_, *ta_, *tb_, *u0_, *u1_, *ua_, *ub_, *p_;
};

}  // namespace

InceptionV3::InceptionV3(const InceptionConfig& cfg, ParamInit& init) : cfg_(cfg) {
  cfg.validate();
  const int d = cfg.width_divisor;
  nn::Sequential& layers = child("layers", std::make_unique<nn::Sequential>());
  auto conv = [&](const char* name, int in, int out, int k, int stride, int pad) {
    stem_.push_back(&layers.add_named(name, std::make_unique<ConvLayer>(in, out, k, k, stride, pad, pad, init)));
  };
  conv("conv", 3, 32 / d, 3, 2, 0);
  conv("conv_1", 32 / d, 32 / d, 3, 1, 0);
  conv("conv_2", 32 / d, 64 / d, 3, 1, 1);
  conv("conv_3", 64 / d, 80 / d, 1, 1, 0);
  conv("conv_4", 80 / d, 192 / d, 3, 1, 0);
  auto block = [&](const char* name, std::unique_ptr<Block> b) {
    blocks_.push_back(&layers.add_named(name, std::move(b)));
  };
  block("mixed", std::make_unique<BlockA>(192 / d, 32, d, init));
  block("mixed_1", std::make_unique<BlockA>(256 / d, 64, d, init));
  block("mixed_2", std::make_unique<BlockA>(288 / d, 64, d, init));
  block("mixed_3", std::make_unique<BlockB>(288 / d, d, init));
  block("mixed_4", std::make_unique<BlockC>(768 / d, 128, d, init));
  block("mixed_5", std::make_unique<BlockC>(768 / d, 160, d, init));
  block("mixed_6", std::make_unique<BlockC>(768 / d, 160, d, init));
  block("mixed_7", std::make_unique<BlockC>(768 / d, 192, d, init));
  block("mixed_8", std::make_unique<BlockD>(768 / d, d, init));
  block("mixed_9", std::make_unique<BlockE>(1280 / d, false, d, init));
  block("mixed_10", std::make_unique<BlockE>(2048 / d, true, d, init));
  output_ = &child("output", std::make_unique<nn::Linear>(cfg.features(), InceptionConfig::classes, init));
  requires_grad_(false);
}

Tensor InceptionV3::stem(const Tensor& x) const {
  Tensor h = stem_[2]->forward(stem_[1]->forward(stem_[0]->forward(x)));  // 299 -> 149 -> 147 -> 147
  h = max_pool(h, 2, 0);                                                   // -> 73
  h = stem_[4]->forward(stem_[3]->forward(h));                             // -> 73 -> 71
  return max_pool(h, 2, 0);                                                // -> 35
}

Tensor InceptionV3::features(const Tensor& images) const {
  const Tensor& w = output_->weight;
  GF_CHECK(images.dim() == 4 && images.size(1) == 3, "inception",
           "images must be [N, 3, H, W], got " << shape_str(images.shape()));
  GF_CHECK(images.size(0) >= 1 && images.size(2) >= 1 && images.size(3) >= 1, "inception",
           "images must not be empty, got " << shape_str(images.shape()));
  GF_CHECK(images.dtype() == w.dtype(), "inception",
           "images must be " << dtype_name(w.dtype()) << " (the network's dtype), got " << dtype_name(images.dtype()));
  GF_CHECK(images.device() == w.device(), "inception",
           "images are on " << images.device().str() << ", the network on " << w.device().str());
  const int r = InceptionConfig::resolution;
  Tensor h = resize_bilinear(images, r, r, ResizeCoords::asymmetric);
  h = affine(h, 1 / kPixelCenter, -1.0);  // (x - 128) / 128
  h = stem(h);
  for (const Block* b : blocks_) h = b->forward(h);  // 35 -> 17 (mixed_3) -> 8 (mixed_8)
  // pool2: an 8x8 average pool with stride 8 over the 8x8 map.
  return adaptive_avg_pool2d(h, 1, 1).reshape({images.size(0), cfg_.features()});
}

Tensor InceptionV3::probabilities(const Tensor& images) const {
  const Tensor logits = matmul(features(images), output_->weight, false, true);
  const Tensor e = exp(logits - max(logits, {1}, true));
  return e / sum(e, {1}, true);
}

}  // namespace gf::perceptual
