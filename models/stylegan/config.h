// Hyper-parameters of StyleGAN (v1)'s networks (NVlabs/stylegan,
// training/networks_stylegan.py: G_style with its G_mapping and G_synthesis
// components, and D_basic), under their official names and with their
// defaults. A .bin keeps them as JSON in its metadata ("G_kwargs",
// "D_kwargs"). The official dtype, structure, is_template_graph and
// randomize_noise arguments have no counterpart: ganforge computes in the
// tensors' dtype with the 'recursive' structure's semantics, and the noise
// mode is a call argument. use_styles and const_input_layer are fixed at their
// defaults (true), the form every released network has; other values are
// refused by name.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gf::stylegan {

// The official fused_scale: 'auto' fuses the resampling convs at (output, for
// G; input, for D) resolution >= 128.
enum class FusedScale { automatic, always, never };

struct GeneratorConfig {
  // G_style
  double truncation_psi = 0.7;  // the inference default; 1 = off
  int truncation_cutoff = 8;    // layers below it are truncated; <= 0 = off
  double dlatent_avg_beta = 0.995;
  double style_mixing_prob = 0.9;
  // G_mapping
  int latent_size = 512;
  int label_size = 0;
  int dlatent_size = 512;
  int mapping_layers = 8;
  int mapping_fmaps = 512;
  double mapping_lrmul = 0.01;
  std::string mapping_nonlinearity = "lrelu";  // 'lrelu' (0.2) or 'relu'
  bool normalize_latents = true;
  // G_synthesis
  int num_channels = 3;
  int resolution = 1024;
  int fmap_base = 8192;
  double fmap_decay = 1.0;
  int fmap_max = 512;
  bool use_noise = true;
  std::string nonlinearity = "lrelu";
  bool use_wscale = true;  // G_mapping and G_synthesis both
  bool use_pixel_norm = false;
  bool use_instance_norm = true;
  FusedScale fused_scale = FusedScale::automatic;
  std::vector<double> blur_filter{1, 2, 1};  // empty: no blur
};

struct DiscriminatorConfig {
  int num_channels = 1;
  int resolution = 32;
  int label_size = 0;  // > 0: conditioned by projection (LabelSwitch)
  int fmap_base = 8192;
  double fmap_decay = 1.0;
  int fmap_max = 512;
  std::string nonlinearity = "lrelu";
  bool use_wscale = true;
  int mbstd_group_size = 4;  // <= 1: no minibatch-stddev layer
  int mbstd_num_features = 1;
  FusedScale fused_scale = FusedScale::automatic;
  std::vector<double> blur_filter{1, 2, 1};
};

// Feature maps at a stage: min(int(fmap_base / 2^(stage * fmap_decay)), fmap_max).
int nf(int stage, int fmap_base, double fmap_decay, int fmap_max);
// Synthesis layers (= ws per latent): 2 log2(resolution) - 2.
int num_layers(const GeneratorConfig& c);
// Whether the resampling conv at resolution `res` (G: the output's; D: the input's) is fused.
bool fused_at(FusedScale f, int res);

// Every field is written; reading accepts a subset (the rest keep their
// defaults) and throws gf::Error naming an unknown key or a mistyped value.
// fused_scale is "auto", true or false as in the official kwargs.
nlohmann::json to_json(const GeneratorConfig& c);
nlohmann::json to_json(const DiscriminatorConfig& c);
GeneratorConfig generator_config_from_json(const nlohmann::json& j);
DiscriminatorConfig discriminator_config_from_json(const nlohmann::json& j);

}  // namespace gf::stylegan
