#include "models/psp/encoder.h"

#include "engine/ops/bias_act.h"
#include "engine/ops/pool2d.h"
#include "engine/ops/resize.h"

namespace gf::psp {
namespace {

template <class M, class... A>
std::unique_ptr<M> make(A&&... a) {
  return std::make_unique<M>(std::forward<A>(a)...);
}

int log2_int(int v) {
  int k = 0;
  while ((1 << k) < v) ++k;
  return k;
}

}  // namespace

GradualStyleBlock::GradualStyleBlock(int in_c, int out_c, int spatial, ParamInit& init)
    : out_c_(out_c), spatial_(spatial) {
  Sequential& convs = child("convs", make<Sequential>());
  const int n = log2_int(spatial);
  for (int i = 0; i < n; ++i)  // nn.Sequential(conv, LeakyReLU, conv, ...): the convs are 0, 2, 4, ...
    convs_.push_back(
        &convs.add_named(std::to_string(2 * i), make<Conv2d>(i == 0 ? in_c : out_c, out_c, 3, 2, 1, true, init)));
  linear_ = &child("linear", make<stylegan2::FullyConnectedLayer>(out_c, out_c, init));
}

Tensor GradualStyleBlock::forward(const Tensor& x) const {
  GF_CHECK(x.dim() == 4 && x.size(2) == spatial_ && x.size(3) == spatial_, "GradualStyleBlock",
           "input must be [N, C, " << spatial_ << ", " << spatial_ << "], got " << shape_str(x.shape()));
  static const BiasActSpec lrelu = bias_act_spec("lrelu", 0.01, 1.0);  // nn.LeakyReLU(): slope 0.01, no gain
  Tensor h = x;
  for (const Conv2d* c : convs_) {
    Conv2dParams p;
    p.stride_h = p.stride_w = 2;
    p.pad_h = p.pad_w = 1;
    h = bias_act(conv2d(h, c->weight, p), *c->bias, 1, lrelu);
  }
  return linear_->forward(h.reshape({-1, out_c_}));
}

void Encoder::train(bool on) {
  training_ = on;
  for (BatchNorm* bn : ir_.batch_norms()) bn->training = on;
  for (BatchNorm* bn : head_bns_) bn->training = on;
}

void Encoder::make_input_layer(ParamInit& init) { child("input_layer", ir_.make_input_layer(cfg_.body(), init)); }

void Encoder::make_body(ParamInit& init) { child("body", ir_.make_body(cfg_.body(), init)); }

Tensor Encoder::run_input_layer(const Tensor& x) const {
  const int s = cfg_.input_size;
  GF_CHECK(x.dim() == 4 && x.size(1) == cfg_.input_nc && x.size(2) == s && x.size(3) == s, "psp encoder",
           "input must be [N, " << cfg_.input_nc << ", " << s << ", " << s << "], got " << shape_str(x.shape()));
  return ir_.input_layer(x);
}

GradualStyleEncoder::GradualStyleEncoder(const PspConfig& cfg, ParamInit& init) : Encoder(cfg) {
  make_input_layer(init);
  make_body(init);
  const int d = cfg.style_dim();
  Module& styles = child("styles", make<Sequential>());
  for (int i = 0; i < cfg.n_styles; ++i) {
    const int spatial = cfg.input_size / (i < 3 ? 16 : i < 7 ? 8 : 4);
    styles_.push_back(&static_cast<Sequential&>(styles).add(make<GradualStyleBlock>(d, d, spatial, init)));
  }
  latlayer1_ = &child("latlayer1", make<Conv2d>(cfg.depths[2], d, 1, 1, 0, true, init));
  latlayer2_ = &child("latlayer2", make<Conv2d>(cfg.depths[1], d, 1, 1, 0, true, init));
}

Tensor GradualStyleEncoder::forward(const Tensor& x) const {
  Tensor h = run_input_layer(x);
  const std::vector<int> taps = cfg_.taps();
  Tensor c[3];
  for (size_t i = 0; i < units().size(); ++i) {
    h = units()[i]->forward(h);
    for (int k = 0; k < 3; ++k)
      if (int(i) == taps[size_t(k)]) c[k] = h;
  }
  const auto upsample_add = [](const Tensor& top, const Tensor& lateral) {
    return resize_bilinear(top, lateral.size(2), lateral.size(3), ResizeCoords::align_corners) + lateral;
  };
  const int n = cfg_.n_styles;
  std::vector<Tensor> codes;
  for (int j = 0; j < std::min(3, n); ++j) codes.push_back(styles_[size_t(j)]->forward(c[2]));
  if (n > 3) {
    const Tensor p2 = upsample_add(c[2], latlayer1_->forward(c[1]));
    for (int j = 3; j < std::min(7, n); ++j) codes.push_back(styles_[size_t(j)]->forward(p2));
    if (n > 7) {
      const Tensor p1 = upsample_add(p2, latlayer2_->forward(c[0]));
      for (int j = 7; j < n; ++j) codes.push_back(styles_[size_t(j)]->forward(p1));
    }
  }
  for (Tensor& t : codes) t = t.reshape({t.size(0), 1, t.size(1)});
  return concat(codes, 1);
}

BackboneEncoderW::BackboneEncoderW(const PspConfig& cfg, ParamInit& init) : Encoder(cfg) {
  make_input_layer(init);
  linear_ = &child("linear", make<stylegan2::FullyConnectedLayer>(cfg.style_dim(), cfg.style_dim(), init));
  make_body(init);
}

Tensor BackboneEncoderW::forward(const Tensor& x) const {
  Tensor h = run_input_layer(x);
  for (const nn::BottleneckIR* u : units()) h = u->forward(h);
  return linear_->forward(adaptive_avg_pool2d(h, 1, 1).reshape({h.size(0), h.size(1)}));
}

BackboneEncoderWPlus::BackboneEncoderWPlus(const PspConfig& cfg, ParamInit& init) : Encoder(cfg) {
  const int d = cfg.style_dim();
  make_input_layer(init);
  Sequential& out = child("output_layer_2", make<Sequential>());
  out_bn_ = &out.add_named("0", make<BatchNorm>(d, init));
  out_linear_ = &out.add_named("3", make<Linear>(d * 49, d, init));
  head_bns_.push_back(out_bn_);
  linear_ = &child("linear", make<stylegan2::FullyConnectedLayer>(d, d * cfg.n_styles, init));
  make_body(init);
}

Tensor BackboneEncoderWPlus::forward(const Tensor& x) const {
  Tensor h = run_input_layer(x);
  for (const nn::BottleneckIR* u : units()) h = u->forward(h);
  h = adaptive_avg_pool2d(out_bn_->forward(h), 7, 7);
  h = out_linear_->forward(h.reshape({h.size(0), -1}));
  return linear_->forward(h).reshape({h.size(0), cfg_.n_styles, cfg_.style_dim()});
}

std::unique_ptr<Encoder> make_encoder(const PspConfig& cfg, ParamInit& init) {
  cfg.validate();
  if (cfg.encoder_type == "GradualStyleEncoder") return std::make_unique<GradualStyleEncoder>(cfg, init);
  if (cfg.encoder_type == "BackboneEncoderUsingLastLayerIntoW") return std::make_unique<BackboneEncoderW>(cfg, init);
  return std::make_unique<BackboneEncoderWPlus>(cfg, init);
}

}  // namespace gf::psp
