#include "models/stylegan2/config.h"

#include <functional>
#include <map>
#include <string>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"

namespace gf::stylegan2 {
namespace {

using json = nlohmann::json;

json clamp_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

// null: no clamp; else a number > 0. The official bias_act asserts >= 0 (a
// negative one read as no clamp at all); 0 clamps every layer's output to 0,
// which no official config uses, so a 0 here is a damaged file.
std::optional<double> clamp_from(const json& v) {
  if (v.is_null()) return std::nullopt;
  const double c = v.get<double>();
  if (!(c > 0)) throw Error("expected null (no clamp) or a number > 0, got " + io::json_excerpt(v));
  return c;
}

}  // namespace

json to_json(const GeneratorConfig& c) {
  return json{{"z_dim", c.z_dim},
              {"c_dim", c.c_dim},
              {"w_dim", c.w_dim},
              {"img_resolution", c.img_resolution},
              {"img_channels", c.img_channels},
              {"mapping_layers", c.mapping_layers},
              {"mapping_lr_multiplier", c.mapping_lr_multiplier},
              {"w_avg_beta", c.w_avg_beta},
              {"channel_base", c.channel_base},
              {"channel_max", c.channel_max},
              {"conv_clamp", clamp_json(c.conv_clamp)},
              {"use_noise", c.use_noise}};
}

const char* architecture_name(DiscriminatorArchitecture a) {
  return a == DiscriminatorArchitecture::orig ? "orig" : "resnet";
}

json to_json(const DiscriminatorConfig& c) {
  return json{{"architecture", architecture_name(c.architecture)},
              {"c_dim", c.c_dim},
              {"img_resolution", c.img_resolution},
              {"img_channels", c.img_channels},
              {"channel_base", c.channel_base},
              {"channel_max", c.channel_max},
              {"conv_clamp", clamp_json(c.conv_clamp)},
              {"mbstd_group_size", c.mbstd_group_size},
              {"mbstd_num_channels", c.mbstd_num_channels},
              {"cmap_dim", c.cmap_dim},
              {"mapping_layers", c.mapping_layers},
              {"freeze_layers", c.freeze_layers}};
}

GeneratorConfig generator_config_from_json(const json& j) {
  GeneratorConfig c;
  read_fields(j, "generator config",
              {{"z_dim", [&](const json& v) { c.z_dim = json_size(v); }},
               {"c_dim", [&](const json& v) { c.c_dim = json_size(v); }},
               {"w_dim", [&](const json& v) { c.w_dim = json_size(v); }},
               {"img_resolution", [&](const json& v) { c.img_resolution = json_size(v); }},
               {"img_channels", [&](const json& v) { c.img_channels = json_size(v); }},
               {"mapping_layers", [&](const json& v) { c.mapping_layers = json_size(v); }},
               {"mapping_lr_multiplier", [&](const json& v) { c.mapping_lr_multiplier = json_positive(v); }},
               {"w_avg_beta", [&](const json& v) { c.w_avg_beta = json_fraction(v); }},
               {"channel_base", [&](const json& v) { c.channel_base = json_size(v); }},
               {"channel_max", [&](const json& v) { c.channel_max = json_size(v); }},
               {"conv_clamp", [&](const json& v) { c.conv_clamp = clamp_from(v); }},
               {"use_noise", [&](const json& v) { c.use_noise = v.get<bool>(); }}},
              // networks.py's Generator takes these five without defaults.
              {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"});
  return c;
}

DiscriminatorConfig discriminator_config_from_json(const json& j) {
  DiscriminatorConfig c;
  read_fields(j, "discriminator config",
              {{"architecture",
                [&](const json& v) {
                  const std::string a = v.get<std::string>();
                  if (a == "resnet") c.architecture = DiscriminatorArchitecture::resnet;
                  else if (a == "orig") c.architecture = DiscriminatorArchitecture::orig;
                  else throw Error("expected \"resnet\" or \"orig\" (the architectures built here), got " + io::json_excerpt(v));
                }},
               {"c_dim", [&](const json& v) { c.c_dim = json_size(v); }},
               {"img_resolution", [&](const json& v) { c.img_resolution = json_size(v); }},
               {"img_channels", [&](const json& v) { c.img_channels = json_size(v); }},
               {"channel_base", [&](const json& v) { c.channel_base = json_size(v); }},
               {"channel_max", [&](const json& v) { c.channel_max = json_size(v); }},
               {"conv_clamp", [&](const json& v) { c.conv_clamp = clamp_from(v); }},
               {"mbstd_group_size", [&](const json& v) { c.mbstd_group_size = json_count(v); }},
               {"mbstd_num_channels", [&](const json& v) { c.mbstd_num_channels = json_count(v); }},
               {"cmap_dim", [&](const json& v) { c.cmap_dim = json_count(v); }},
               {"mapping_layers", [&](const json& v) { c.mapping_layers = json_size(v); }},
               {"freeze_layers", [&](const json& v) { c.freeze_layers = json_count(v); }}},
              // networks.py's Discriminator takes these three without defaults.
              {"c_dim", "img_resolution", "img_channels"});
  return c;
}

}  // namespace gf::stylegan2
