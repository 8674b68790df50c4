// The IR and IR-SE ResNets of InsightFace (TreB1eN's InsightFace_Pytorch, as
// pSp copies it in models/encoders/helpers.py): the body of pSp's encoders
// (models/psp/) and of the ArcFace network its identity loss runs
// (models/perceptual/arcface.h), with pSp's module names.
//
// Input layer: 3x3 conv to 64 channels (no bias), BatchNorm2d(64), PReLU(64).
// Body: stages of bottleneck units, the first of each stage strided by 2. A
// unit (bottleneck_IR / bottleneck_IR_SE): BN, 3x3 conv, PReLU, strided 3x3
// conv, BN, and in IR-SE a squeeze-excitation (global average, 1x1 conv
// C -> C/reduction, ReLU, 1x1 conv back, sigmoid, scale); plus a shortcut, a
// strided 1x1 max pool when the depth is kept, else a strided 1x1 conv and
// BN; no activation after the sum. IR-SE50 is units [3, 4, 14, 3] at depths
// [64, 128, 256, 512], reduction 16.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/torch_layers.h"

namespace gf::nn {

class SEModule : public Module {
 public:
  SEModule(int channels, int reduction, ParamInit& init);
  Tensor forward(const Tensor& x) const;
  Conv2d& fc1;
  Conv2d& fc2;
};

class BottleneckIR : public Module {
 public:
  // Appends its batch norms to bns (for switching them to training mode).
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

// The shape of an IR body. Stages must number 4 (the body halves the input
// four times); a depth must be at least the SE reduction.
struct IRBodyConfig {
  std::string mode = "ir_se";  // ir_se (with squeeze-excitation) or ir
  int input_nc = 3;
  std::vector<int> units = {3, 4, 14, 3};
  std::vector<int> depths = {64, 128, 256, 512};
  int se_reduction = 16;
  // Throws gf::Error naming `what` and the problem.
  void validate(const char* what) const;
};

// The input layer and the body, built in two calls that the owner registers
// as its children "input_layer" and "body", each where its official code
// registers it among its own layers. IRBody keeps pointers into both.
class IRBody {
 public:
  std::unique_ptr<Sequential> make_input_layer(const IRBodyConfig& cfg, ParamInit& init);
  std::unique_ptr<Sequential> make_body(const IRBodyConfig& cfg, ParamInit& init);

  // x [N, input_nc, H, W] -> [N, 64, H, W].
  Tensor input_layer(const Tensor& x) const;
  const std::vector<BottleneckIR*>& units() const { return units_; }
  // Every batch norm of the input layer and the units.
  const std::vector<BatchNorm*>& batch_norms() const { return bns_; }

 private:
  Conv2d* in_conv_ = nullptr;
  BatchNorm* in_bn_ = nullptr;
  PReLU* in_prelu_ = nullptr;
  std::vector<BottleneckIR*> units_;
  std::vector<BatchNorm*> bns_;
};

}  // namespace gf::nn
