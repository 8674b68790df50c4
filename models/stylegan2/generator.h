// The StyleGAN2-ADA generator: mapping (z, c -> ws) then synthesis (ws -> img),
// registered as `synthesis` then `mapping`, as in the official state dict.
#pragma once
#include <optional>

#include "models/stylegan2/config.h"
#include "models/stylegan2/mapping.h"
#include "models/stylegan2/synthesis.h"

namespace gf::stylegan2 {

class Generator : public Module {
 public:
  // Parameters drawn from a generator seeded with `seed`, in `dtype`.
  Generator(const GeneratorConfig& cfg, uint64_t seed, DType dtype = DType::f32);

  // z [N, z_dim], c [N, c_dim] (undefined when c_dim is 0) -> img [N, C, res, res].
  Tensor forward(const Tensor& z, const Tensor& c, double truncation_psi = 1,
                 std::optional<int> truncation_cutoff = std::nullopt, const SynthesisOptions& opt = {});

  const GeneratorConfig& config() const { return cfg_; }
  int num_ws() const { return synthesis.num_ws(); }

  SynthesisNetwork& synthesis;
  MappingNetwork& mapping;

 private:
  Generator(const GeneratorConfig& cfg, ParamInit&& init);
  GeneratorConfig cfg_;
};

}  // namespace gf::stylegan2
