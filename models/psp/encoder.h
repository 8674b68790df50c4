// pSp's encoders (pixel2style2pixel models/encoders/psp_encoders.py over the
// IR-SE body of helpers.py), with the official module names, so a checkpoint's
// `encoder.*` tensors load by name.
//
// Body: input_layer = 3x3 conv (no bias), BatchNorm2d(64), PReLU(64); then
// four stages of bottleneck units, the first of each stage strided by 2. A
// unit (bottleneck_IR_SE): BN, 3x3 conv, PReLU, strided 3x3 conv, BN,
// squeeze-excitation (global average, 1x1 conv C -> C/16, ReLU, 1x1 conv back,
// sigmoid, scale); plus a shortcut, a strided 1x1 max pool when the depth is
// kept, else a strided 1x1 conv and BN; no activation after the sum.
#pragma once
#include <memory>
#include <vector>

#include "models/psp/config.h"
#include "models/psp/layers.h"
#include "models/stylegan2/layers.h"

namespace gf::psp {

class SEModule : public Module {
 public:
  SEModule(int channels, int reduction, ParamInit& init);
  Tensor forward(const Tensor& x) const;
  Conv2d& fc1;
  Conv2d& fc2;
};

class BottleneckIR : public Module {
 public:
  BottleneckIR(int in_channel, int depth, int stride, bool se, int reduction, ParamInit& init,
               std::vector<BatchNorm*>& bns);
  Tensor forward(const Tensor& x) const;

 private:
  // Declared before res_layer_: its initializer registers the shortcut first, as pSp does.
  int stride_;
  Sequential* shortcut_ = nullptr;  // conv + BN, when the depth changes
  Conv2d* sc_conv_ = nullptr;
  BatchNorm* sc_bn_ = nullptr;
  Sequential& res_layer_;
  BatchNorm *bn0_, *bn1_;
  Conv2d *conv0_, *conv1_;
  PReLU* prelu_;
  SEModule* se_ = nullptr;
};

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
  PspConfig cfg_;
  std::vector<BatchNorm*> bns_;
  std::vector<BottleneckIR*> units_;

 private:
  Sequential* input_layer_ = nullptr;
  Conv2d* in_conv_ = nullptr;
  BatchNorm* in_bn_ = nullptr;
  PReLU* in_prelu_ = nullptr;
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
