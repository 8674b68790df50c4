// Settings of a pSp network (pixel2style2pixel, models/psp.py and the
// training options it reads back from a checkpoint's `opts`). A .bin keeps
// them as JSON in its __metadata__ ("psp_kwargs"), beside the decoder's
// "G_kwargs" (models/stylegan2/config.h).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/ir_se.h"

namespace gf::psp {

// pSp's encoder names (--encoder_type), as written, and as a message lists them.
bool is_encoder_type(const std::string& name);
inline constexpr const char* kEncoderTypesText =
    "GradualStyleEncoder, BackboneEncoderUsingLastLayerIntoW or BackboneEncoderUsingLastLayerIntoWPlus";

struct PspConfig {
  // One of pSp's encoders: GradualStyleEncoder (W+ through a feature pyramid,
  // the paper's), BackboneEncoderUsingLastLayerIntoW (one w, pSp's learn_in_w
  // runs) or BackboneEncoderUsingLastLayerIntoWPlus.
  std::string encoder_type = "GradualStyleEncoder";
  std::string mode = "ir_se";   // body units: ir_se (with squeeze-excitation, pSp's) or ir
  int input_nc = 3;             // image channels the encoder reads
  int input_size = 256;         // square input resolution (pSp resizes every image to 256)
  int n_styles = 18;            // 2 log2(output_size) - 2 = the decoder's num_ws
  // The IR body: units per stage and their depths; IR-SE50 is [3, 4, 14, 3] at
  // [64, 128, 256, 512]. Smaller values build the same architecture, for tests.
  std::vector<int> units = {3, 4, 14, 3};
  std::vector<int> depths = {64, 128, 256, 512};
  int se_reduction = 16;
  // models/psp.py: add latent_avg to the codes (opts.start_from_latent_avg), and
  // whether the encoder outputs one w for every layer (opts.learn_in_w).
  bool start_from_latent_avg = true;
  bool learn_in_w = false;

  nn::IRBodyConfig body() const { return {mode, input_nc, units, depths, se_reduction}; }
  int style_dim() const { return depths.empty() ? 0 : depths.back(); }  // the latent width, 512
  // Body indices whose outputs feed the pyramid: the last unit of stages 2, 3, 4.
  std::vector<int> taps() const;
  // Throws gf::Error naming the problem (unknown type, sizes that do not fit).
  void validate() const;
};

nlohmann::json to_json(const PspConfig& c);
// Reading accepts a subset of keys (the rest keep their defaults) and throws
// gf::Error naming an unknown key or a mistyped value.
PspConfig psp_config_from_json(const nlohmann::json& j);

}  // namespace gf::psp
