// Hyper-parameters of the StyleGAN2-ADA generator and discriminator, with the
// defaults of the official training/networks.py (and the values train.py
// passes for the 'stylegan2' config where networks.py has none). A .bin keeps
// them as JSON in its __metadata__, so a weights file rebuilds its network.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>

namespace gf::stylegan2 {

struct GeneratorConfig {
  int z_dim = 512;
  int c_dim = 0;  // 0: unconditional
  int w_dim = 512;
  int img_resolution = 1024;
  int img_channels = 3;
  // MappingNetwork.
  int mapping_layers = 8;
  double mapping_lr_multiplier = 0.01;
  double w_avg_beta = 0.995;
  // SynthesisNetwork: min(channel_base / res, channel_max) channels at res.
  int channel_base = 32768;
  int channel_max = 512;
  std::optional<double> conv_clamp;  // unset: no clamp (train.py uses 256)
  bool use_noise = true;
};

// networks.py's DiscriminatorBlock architectures ganforge builds: 'resnet'
// (train.py's configs) and 'orig' (its --cfg cifar: no residual skip path).
// 'skip' (FromRGB at every block) is not built.
enum class DiscriminatorArchitecture { resnet, orig };

struct DiscriminatorConfig {
  DiscriminatorArchitecture architecture = DiscriminatorArchitecture::resnet;
  int c_dim = 0;
  int img_resolution = 1024;
  int img_channels = 3;
  int channel_base = 32768;
  int channel_max = 512;
  std::optional<double> conv_clamp;
  int mbstd_group_size = 4;    // 0: the entire minibatch (official None)
  int mbstd_num_channels = 1;  // 0: no minibatch-stddev layer
  int cmap_dim = 0;            // 0: the channel count at 4x4 (official None)
  int mapping_layers = 8;      // of the label mapping, when c_dim > 0
  int freeze_layers = 0;       // Freeze-D: the first N layers hold their weights as buffers
};

// Every field is written; reading accepts a subset (the rest keep their
// defaults) and throws gf::Error naming an unknown key or a mistyped value.
nlohmann::json to_json(const GeneratorConfig& c);
nlohmann::json to_json(const DiscriminatorConfig& c);
GeneratorConfig generator_config_from_json(const nlohmann::json& j);
DiscriminatorConfig discriminator_config_from_json(const nlohmann::json& j);  // "architecture": absent is "resnet"
const char* architecture_name(DiscriminatorArchitecture a);

// Channels at a resolution: min(channel_base / res, channel_max).
inline int channels_at(int channel_base, int channel_max, int res) {
  return channel_base / res < channel_max ? channel_base / res : channel_max;
}

}  // namespace gf::stylegan2
