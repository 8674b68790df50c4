#include "models/pggan/config.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"

namespace gf::pggan {

using json = nlohmann::json;

int nf(int stage, int fmap_base, double fmap_decay, int fmap_max) {
  const int n = static_cast<int>(fmap_base / std::pow(2.0, stage * fmap_decay));
  return n < fmap_max ? n : fmap_max;
}

int widest_resolution(int fmap_base, double fmap_decay, int fmap_max) {
  int r = 2;
  while (r < (1 << 20) && nf(resolution_log2(2 * r, "widest_resolution") - 1, fmap_base, fmap_decay, fmap_max) >= 1) r *= 2;
  return r;
}

int resolution_log2(int resolution, const char* what) {
  GF_CHECK(resolution >= 4 && (resolution & (resolution - 1)) == 0, what,
           "resolution " << resolution << " is not a power of two >= 4");
  int l = 0;
  while ((1 << l) < resolution) ++l;
  return l;
}

json to_json(const GeneratorConfig& c) {
  return json{{"num_channels", c.num_channels},
              {"resolution", c.resolution},
              {"label_size", c.label_size},
              {"fmap_base", c.fmap_base},
              {"fmap_decay", c.fmap_decay},
              {"fmap_max", c.fmap_max},
              {"latent_size", c.latent_size},
              {"normalize_latents", c.normalize_latents},
              {"use_wscale", c.use_wscale},
              {"use_pixelnorm", c.use_pixelnorm},
              {"pixelnorm_epsilon", c.pixelnorm_epsilon},
              {"use_leakyrelu", c.use_leakyrelu},
              {"fused_scale", c.fused_scale}};
}

json to_json(const DiscriminatorConfig& c) {
  return json{{"num_channels", c.num_channels}, {"resolution", c.resolution},
              {"label_size", c.label_size},     {"fmap_base", c.fmap_base},
              {"fmap_decay", c.fmap_decay},     {"fmap_max", c.fmap_max},
              {"use_wscale", c.use_wscale},     {"mbstd_group_size", c.mbstd_group_size},
              {"fused_scale", c.fused_scale}};
}

GeneratorConfig generator_config_from_json(const json& j) {
  GeneratorConfig c;
  read_fields(j, "PGGAN generator config",
              {{"num_channels", [&](const json& v) { c.num_channels = json_size(v); }},
               {"resolution", [&](const json& v) { c.resolution = json_size(v); }},
               {"label_size", [&](const json& v) { c.label_size = json_size(v); }},
               {"fmap_base", [&](const json& v) { c.fmap_base = json_size(v); }},
               {"fmap_decay", [&](const json& v) { c.fmap_decay = v.get<double>(); }},
               {"fmap_max", [&](const json& v) { c.fmap_max = json_size(v); }},
               {"latent_size", [&](const json& v) { c.latent_size = v.is_null() ? 0 : json_size(v); }},
               {"normalize_latents", [&](const json& v) { c.normalize_latents = v.get<bool>(); }},
               {"use_wscale", [&](const json& v) { c.use_wscale = v.get<bool>(); }},
               {"use_pixelnorm", [&](const json& v) { c.use_pixelnorm = v.get<bool>(); }},
               {"pixelnorm_epsilon", [&](const json& v) { c.pixelnorm_epsilon = json_positive(v); }},
               {"use_leakyrelu", [&](const json& v) { c.use_leakyrelu = v.get<bool>(); }},
               {"fused_scale", [&](const json& v) { c.fused_scale = v.get<bool>(); }}});
  return c;
}

DiscriminatorConfig discriminator_config_from_json(const json& j) {
  DiscriminatorConfig c;
  read_fields(j, "PGGAN discriminator config",
              {{"num_channels", [&](const json& v) { c.num_channels = json_size(v); }},
               {"resolution", [&](const json& v) { c.resolution = json_size(v); }},
               {"label_size", [&](const json& v) { c.label_size = json_size(v); }},
               {"fmap_base", [&](const json& v) { c.fmap_base = json_size(v); }},
               {"fmap_decay", [&](const json& v) { c.fmap_decay = v.get<double>(); }},
               {"fmap_max", [&](const json& v) { c.fmap_max = json_size(v); }},
               {"use_wscale", [&](const json& v) { c.use_wscale = v.get<bool>(); }},
               {"mbstd_group_size", [&](const json& v) { c.mbstd_group_size = json_size(v); }},
               {"fused_scale", [&](const json& v) { c.fused_scale = v.get<bool>(); }}});
  return c;
}

}  // namespace gf::pggan
