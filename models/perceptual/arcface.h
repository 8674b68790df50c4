// ArcFace, the face-recognition network pSp's identity loss runs
// (criteria/id_loss.py): the IR-SE50 Backbone(input_size=112, num_layers=50,
// mode='ir_se', drop_ratio=0.6, affine=True) of models/encoders/model_irse.py
// (from TreB1eN's InsightFace_Pytorch), with its module names, so the
// user's model_ir_se50.pth loads by name once converted:
//   input_layer (3x3 conv 3 -> 64, BN, PReLU), body (the IR-SE units of
//   models/ir_se.h), output_layer = BatchNorm2d(512) [0], Dropout [1],
//   Flatten [2], Linear(512 * 7 * 7, 512) [3], BatchNorm1d(512) [4];
//   then L2 normalization, x / ||x|| (no epsilon, as l2_norm).
// Only eval mode: the loss runs it with running statistics and without
// dropout. The body's stages and the embedding width are settings, so tests
// run the same code on a small network; the defaults are IR-SE50's.
#pragma once
#include <nlohmann/json.hpp>

#include "models/ir_se.h"

namespace gf::perceptual {

struct ArcFaceConfig {
  nn::IRBodyConfig body;  // IR-SE50; input_nc 3
  int embedding = 512;    // the Linear's output width
  bool affine = true;     // the last BatchNorm1d's weight and bias (pSp's Backbone: affine=True)
  static constexpr int input_size = 112;  // Backbone(112): the body leaves 7x7 maps
  void validate() const;                  // throws gf::Error naming the problem
};
nlohmann::json to_json(const ArcFaceConfig& c);
ArcFaceConfig arcface_config_from_json(const nlohmann::json& j);  // throws gf::Error on unknown keys or bad values

class ArcFace : public Module {
 public:
  // Parameters drawn from init (tests); real weights come from a converted
  // file (models/perceptual/network_file.h). The parameters do not require
  // grad: the loss network is fixed.
  ArcFace(const ArcFaceConfig& cfg, ParamInit& init);
  // x [N, 3, 112, 112] in [-1, 1] -> unit-length embeddings [N, embedding].
  Tensor forward(const Tensor& x) const;
  const ArcFaceConfig& config() const { return cfg_; }

 private:
  ArcFaceConfig cfg_;
  nn::IRBody ir_;
  nn::BatchNorm* out_bn2d_;
  nn::Linear* out_linear_;
  nn::BatchNorm* out_bn1d_;
};

}  // namespace gf::perceptual
