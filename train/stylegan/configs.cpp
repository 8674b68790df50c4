#include "train/stylegan/configs.h"

#include "engine/error.h"

namespace gf {

std::vector<std::string> stylegan_config_names() { return {"1gpu", "cpu", "tiny"}; }

StyleGANSpec make_stylegan_spec(const std::string& cfg) {
  StyleGANSpec s;
  s.cfg = cfg;
  s.sched = stylegan_v1_schedule();
  if (cfg == "1gpu") return s;
  if (cfg == "cpu" || cfg == "tiny") {
    const bool tiny = cfg == "tiny";
    auto& g = s.G_kwargs;
    auto& d = s.D_kwargs;
    g.latent_size = g.dlatent_size = g.mapping_fmaps = tiny ? 8 : 64;
    g.mapping_layers = tiny ? 2 : 4;
    g.fmap_base = d.fmap_base = tiny ? 64 : 512;
    g.fmap_max = d.fmap_max = tiny ? 8 : 64;
    s.sched.lod_initial_resolution = tiny ? 4 : 8;
    s.sched.lod_training_kimg = s.sched.lod_transition_kimg = tiny ? 0.032 : 15;
    s.sched.minibatch_base = tiny ? 4 : 16;
    s.sched.minibatch_dict.clear();
    s.sched.G_lrate_dict.clear();
    s.sched.D_lrate_dict.clear();
    s.sched.tick_kimg_base = tiny ? 0.016 : 4;
    s.sched.tick_kimg_dict.clear();
    // Gs with a half-life of ~60 minibatches: the short phases' Gs shows the current level.
    s.G_smoothing_kimg = tiny ? 0.01 : 1;
    s.total_kimg = tiny ? 0.192 : 75;
    return s;
  }
  std::string names;
  for (const auto& n : stylegan_config_names()) names += (names.empty() ? "" : ", ") + n;
  throw Error("unknown --cfg '" + cfg + "' for --arch stylegan (expected " + names + ")");
}

}  // namespace gf
