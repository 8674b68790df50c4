#include "models/stylegan/config.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"
#include "models/pggan/config.h"

namespace gf::stylegan {

using json = nlohmann::json;

int nf(int stage, int fmap_base, double fmap_decay, int fmap_max) {
  return pggan::nf(stage, fmap_base, fmap_decay, fmap_max);
}

int num_layers(const GeneratorConfig& c) {
  return 2 * pggan::resolution_log2(c.resolution, "stylegan::GeneratorConfig") - 2;
}

bool fused_at(FusedScale f, int res) { return f == FusedScale::always || (f == FusedScale::automatic && res >= 128); }

namespace {

json fused_json(FusedScale f) {
  return f == FusedScale::automatic ? json("auto") : json(f == FusedScale::always);
}

FusedScale fused_from(const json& v) {
  if (v.is_boolean()) return v.get<bool>() ? FusedScale::always : FusedScale::never;
  GF_CHECK(v.is_string() && v.get<std::string>() == "auto", "stylegan config",
           "fused_scale must be \"auto\", true or false, got " << io::json_excerpt(v));
  return FusedScale::automatic;
}

std::string activation_name(const json& v) {
  const std::string s = v.get<std::string>();
  GF_CHECK(s == "lrelu" || s == "relu", "stylegan config", "nonlinearity must be 'lrelu' or 'relu', got '" << s << "'");
  return s;
}

void require(const json& v, const char* key) {
  GF_CHECK(v.get<bool>(), "stylegan config",
           key << " false is not supported (every released StyleGAN network has it true)");
}

}  // namespace

json to_json(const GeneratorConfig& c) {
  return json{{"truncation_psi", c.truncation_psi},
              {"truncation_cutoff", c.truncation_cutoff},
              {"dlatent_avg_beta", c.dlatent_avg_beta},
              {"style_mixing_prob", c.style_mixing_prob},
              {"latent_size", c.latent_size},
              {"label_size", c.label_size},
              {"dlatent_size", c.dlatent_size},
              {"mapping_layers", c.mapping_layers},
              {"mapping_fmaps", c.mapping_fmaps},
              {"mapping_lrmul", c.mapping_lrmul},
              {"mapping_nonlinearity", c.mapping_nonlinearity},
              {"normalize_latents", c.normalize_latents},
              {"num_channels", c.num_channels},
              {"resolution", c.resolution},
              {"fmap_base", c.fmap_base},
              {"fmap_decay", c.fmap_decay},
              {"fmap_max", c.fmap_max},
              {"use_noise", c.use_noise},
              {"nonlinearity", c.nonlinearity},
              {"use_wscale", c.use_wscale},
              {"use_pixel_norm", c.use_pixel_norm},
              {"use_instance_norm", c.use_instance_norm},
              {"fused_scale", fused_json(c.fused_scale)},
              {"blur_filter", c.blur_filter}};
}

json to_json(const DiscriminatorConfig& c) {
  return json{{"num_channels", c.num_channels},
              {"resolution", c.resolution},
              {"label_size", c.label_size},
              {"fmap_base", c.fmap_base},
              {"fmap_decay", c.fmap_decay},
              {"fmap_max", c.fmap_max},
              {"nonlinearity", c.nonlinearity},
              {"use_wscale", c.use_wscale},
              {"mbstd_group_size", c.mbstd_group_size},
              {"mbstd_num_features", c.mbstd_num_features},
              {"fused_scale", fused_json(c.fused_scale)},
              {"blur_filter", c.blur_filter}};
}

GeneratorConfig generator_config_from_json(const json& j) {
  GeneratorConfig c;
  auto blur = [](const json& v) { return v.is_null() ? std::vector<double>{} : v.get<std::vector<double>>(); };
  read_fields(j, "StyleGAN generator config",
              {{"truncation_psi", [&](const json& v) { c.truncation_psi = v.is_null() ? 1.0 : v.get<double>(); }},
               {"truncation_cutoff", [&](const json& v) { c.truncation_cutoff = v.is_null() ? 0 : json_size(v); }},
               {"dlatent_avg_beta", [&](const json& v) { c.dlatent_avg_beta = v.is_null() ? 1.0 : json_fraction(v); }},
               {"style_mixing_prob", [&](const json& v) { c.style_mixing_prob = v.is_null() ? 0.0 : json_fraction(v); }},
               {"latent_size", [&](const json& v) { c.latent_size = json_size(v); }},
               {"label_size", [&](const json& v) { c.label_size = json_size(v); }},
               {"dlatent_size", [&](const json& v) { c.dlatent_size = json_size(v); }},
               {"mapping_layers", [&](const json& v) { c.mapping_layers = json_size(v); }},
               {"mapping_fmaps", [&](const json& v) { c.mapping_fmaps = json_size(v); }},
               {"mapping_lrmul", [&](const json& v) { c.mapping_lrmul = json_positive(v); }},
               {"mapping_nonlinearity", [&](const json& v) { c.mapping_nonlinearity = activation_name(v); }},
               {"normalize_latents", [&](const json& v) { c.normalize_latents = v.get<bool>(); }},
               {"num_channels", [&](const json& v) { c.num_channels = json_size(v); }},
               {"resolution", [&](const json& v) { c.resolution = json_size(v); }},
               {"fmap_base", [&](const json& v) { c.fmap_base = json_size(v); }},
               {"fmap_decay", [&](const json& v) { c.fmap_decay = v.get<double>(); }},
               {"fmap_max", [&](const json& v) { c.fmap_max = json_size(v); }},
               {"use_styles", [&](const json& v) { require(v, "use_styles"); }},
               {"const_input_layer", [&](const json& v) { require(v, "const_input_layer"); }},
               {"use_noise", [&](const json& v) { c.use_noise = v.get<bool>(); }},
               {"nonlinearity", [&](const json& v) { c.nonlinearity = activation_name(v); }},
               {"use_wscale", [&](const json& v) { c.use_wscale = v.get<bool>(); }},
               {"use_pixel_norm", [&](const json& v) { c.use_pixel_norm = v.get<bool>(); }},
               {"use_instance_norm", [&](const json& v) { c.use_instance_norm = v.get<bool>(); }},
               {"fused_scale", [&](const json& v) { c.fused_scale = fused_from(v); }},
               {"blur_filter", [&](const json& v) { c.blur_filter = blur(v); }}});
  return c;
}

DiscriminatorConfig discriminator_config_from_json(const json& j) {
  DiscriminatorConfig c;
  read_fields(j, "StyleGAN discriminator config",
              {{"num_channels", [&](const json& v) { c.num_channels = json_size(v); }},
               {"resolution", [&](const json& v) { c.resolution = json_size(v); }},
               {"label_size", [&](const json& v) { c.label_size = json_size(v); }},
               {"fmap_base", [&](const json& v) { c.fmap_base = json_size(v); }},
               {"fmap_decay", [&](const json& v) { c.fmap_decay = v.get<double>(); }},
               {"fmap_max", [&](const json& v) { c.fmap_max = json_size(v); }},
               {"nonlinearity", [&](const json& v) { c.nonlinearity = activation_name(v); }},
               {"use_wscale", [&](const json& v) { c.use_wscale = v.get<bool>(); }},
               {"mbstd_group_size", [&](const json& v) { c.mbstd_group_size = json_size(v); }},
               {"mbstd_num_features", [&](const json& v) { c.mbstd_num_features = json_size(v); }},
               {"fused_scale", [&](const json& v) { c.fused_scale = fused_from(v); }},
               {"blur_filter", [&](const json& v) {
                  c.blur_filter = v.is_null() ? std::vector<double>{} : v.get<std::vector<double>>();
                }}});
  return c;
}

}  // namespace gf::stylegan
