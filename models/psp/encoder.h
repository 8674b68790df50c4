// pSp's encoders (pixel2style2pixel models/encoders/psp_encoders.py over the
// IR-SE body of helpers.py), with the official module names, so a checkpoint's
// `encoder.*` tensors load by name.
//
// The body is the IR-SE ResNet of models/ir_se.h (IR-SE50 by default).
#pragma once
#include <memory>
#include <vector>

#include "models/psp/config.h"
#include "models/ir_se.h"
#include "models/stylegan2/layers.h"

namespace gf::psp {

using nn::BatchNorm;
using nn::Conv2d;
using nn::Linear;
using nn::PReLU;
using nn::Sequential;

// map2style (GradualStyleBlock): log2(spatial) stride-2 3x3 convs with bias,
// each followed by LeakyReLU(0.01), down to 1x1; then an EqualLinear.
class GradualStyleBlock : public Module {
 public:
  GradualStyleBlock(int in_c, int out_c, int spatial, ParamInit& init);
  Tensor forward(const Tensor& x) const;  // [N, in_c, spatial, spatial] -> [N, out_c]

 private:
  int out_c_, spatial_;
  std::vector<Conv2d*> convs_;
  stylegan2::FullyConnectedLayer* linear_;
};

// What every pSp encoder shares: the IR body, the batch norms' mode.
class Encoder : public Module {
 public:
  // x [N, input_nc, input_size, input_size] in [-1, 1] -> codes [N, n_styles,
  // style_dim] (the W encoder: [N, style_dim]).
  virtual Tensor forward(const Tensor& x) const = 0;
  // Batch norms in training mode (batch statistics, running-stat updates) or not.
  void train(bool on);
  bool training() const { return training_; }
  const PspConfig& config() const { return cfg_; }

 protected:
  explicit Encoder(const PspConfig& cfg) : cfg_(cfg) {}
  void make_input_layer(ParamInit& init);
  void make_body(ParamInit& init);
  Tensor run_input_layer(const Tensor& x) const;
  const std::vector<nn::BottleneckIR*>& units() const { return ir_.units(); }
  PspConfig cfg_;
  nn::IRBody ir_;
  std::vector<BatchNorm*> head_bns_;  // batch norms outside the IR body

 private:
  bool training_ = false;
};

// The paper's encoder: a feature pyramid over body taps c1, c2, c3 (input/4,
// /8, /16 px); styles 0-2 from c3, 3-6 from p2 = up(c3) + latlayer1(c2), the
// rest from p1 = up(p2) + latlayer2(c1) (bilinear, align_corners=True).
class GradualStyleEncoder : public Encoder {
 public:
  GradualStyleEncoder(const PspConfig& cfg, ParamInit& init);
  Tensor forward(const Tensor& x) const override;

 private:
  std::vector<GradualStyleBlock*> styles_;
  Conv2d *latlayer1_, *latlayer2_;
};

// The body, global average pool, one EqualLinear: one w (learn_in_w).
class BackboneEncoderW : public Encoder {
 public:
  BackboneEncoderW(const PspConfig& cfg, ParamInit& init);
  Tensor forward(const Tensor& x) const override;

 private:
  stylegan2::FullyConnectedLayer* linear_;
};

// The body, then output_layer_2 = BN, adaptive average pool to 7x7, flatten,
// Linear(512*49, 512); an EqualLinear to n_styles * 512.
class BackboneEncoderWPlus : public Encoder {
 public:
  BackboneEncoderWPlus(const PspConfig& cfg, ParamInit& init);
  Tensor forward(const Tensor& x) const override;

 private:
  BatchNorm* out_bn_;
  Linear* out_linear_;
  stylegan2::FullyConnectedLayer* linear_;
};

std::unique_ptr<Encoder> make_encoder(const PspConfig& cfg, ParamInit& init);

}  // namespace gf::psp
