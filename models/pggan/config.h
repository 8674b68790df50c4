// Hyper-parameters of PGGAN's G_paper and D_paper (progressive_growing_of_gans
// networks.py), under their official names and with their defaults. A .bin
// keeps them as JSON in its metadata ("G_kwargs", "D_kwargs"), so a weights
// file rebuilds its network. The official dtype, structure and
// is_template_graph arguments have no counterpart: ganforge computes in the
// tensors' dtype, always with the 'recursive' structure's semantics (only the
// levels the lod needs are run).
#pragma once
#include <nlohmann/json.hpp>

namespace gf::pggan {

struct GeneratorConfig {
  int num_channels = 1;  // output color channels
  int resolution = 32;
  int label_size = 0;    // 0: no labels
  int fmap_base = 8192;
  double fmap_decay = 1.0;
  int fmap_max = 512;
  int latent_size = 0;   // 0: nf(0) (official None)
  bool normalize_latents = true;
  bool use_wscale = true;
  bool use_pixelnorm = true;
  double pixelnorm_epsilon = 1e-8;
  bool use_leakyrelu = true;
  bool fused_scale = true;  // fused upscale2d_conv2d ("Conv0_up") instead of upscale2d + "Conv0"
};

struct DiscriminatorConfig {
  int num_channels = 1;
  int resolution = 32;
  int label_size = 0;       // > 0: AC-GAN label logits beside the score
  int fmap_base = 8192;
  double fmap_decay = 1.0;
  int fmap_max = 512;
  bool use_wscale = true;
  int mbstd_group_size = 4;  // <= 1: no minibatch-stddev layer
  bool fused_scale = true;   // fused conv2d_downscale2d ("Conv1_down") instead of "Conv1" + downscale2d
};

// Feature maps at a stage: min(int(fmap_base / 2^(stage * fmap_decay)), fmap_max).
int nf(int stage, int fmap_base, double fmap_decay, int fmap_max);
// The highest resolution whose every stage has a feature map (the last stage
// of resolution r is log2(r) - 1): up to 2 * fmap_base at fmap_decay 1.
int widest_resolution(int fmap_base, double fmap_decay, int fmap_max);
// log2 of a resolution; throws gf::Error naming `what` unless it is a power of two >= 4.
int resolution_log2(int resolution, const char* what);

// Every field is written; reading accepts a subset (the rest keep their
// defaults) and throws gf::Error naming an unknown key or a mistyped value.
nlohmann::json to_json(const GeneratorConfig& c);
nlohmann::json to_json(const DiscriminatorConfig& c);
GeneratorConfig generator_config_from_json(const nlohmann::json& j);
DiscriminatorConfig discriminator_config_from_json(const nlohmann::json& j);

}  // namespace gf::pggan
