#include "models/stylegan2/generator.h"

namespace gf::stylegan2 {
namespace {

std::unique_ptr<SynthesisNetwork> make_synthesis(const GeneratorConfig& c, ParamInit& init) {
  return std::make_unique<SynthesisNetwork>(c.w_dim, c.img_resolution, c.img_channels, c.channel_base, c.channel_max,
                                            c.conv_clamp, c.use_noise, init);
}

std::unique_ptr<MappingNetwork> make_mapping(const GeneratorConfig& c, int num_ws, ParamInit& init) {
  MappingNetwork::Options o;
  o.z_dim = c.z_dim;
  o.c_dim = c.c_dim;
  o.w_dim = c.w_dim;
  o.num_ws = num_ws;
  o.num_layers = c.mapping_layers;
  o.lr_multiplier = c.mapping_lr_multiplier;
  o.w_avg_beta = c.w_avg_beta;
  return std::make_unique<MappingNetwork>(o, init);
}

}  // namespace

// Delegates so that one ParamInit lives through both members' construction.
Generator::Generator(const GeneratorConfig& cfg, uint64_t seed, DType dtype)
    : Generator(cfg, ParamInit(seed, dtype)) {}

Generator::Generator(const GeneratorConfig& cfg, ParamInit&& init)
    : synthesis(child("synthesis", make_synthesis(cfg, init))),
      mapping(child("mapping", make_mapping(cfg, synthesis.num_ws(), init))),
      cfg_(cfg) {}

Tensor Generator::forward(const Tensor& z, const Tensor& c, double truncation_psi,
                          std::optional<int> truncation_cutoff, const SynthesisOptions& opt) {
  return synthesis.forward(mapping.forward(z, c, truncation_psi, truncation_cutoff), opt);
}

}  // namespace gf::stylegan2
