#include "models/psp/config.h"

#include <functional>
#include <map>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"

namespace gf::psp {

using json = nlohmann::json;

std::vector<int> PspConfig::taps() const {
  std::vector<int> t;
  int end = 0;
  for (size_t k = 0; k < units.size(); ++k) {
    end += units[k];
    if (k >= 1) t.push_back(end - 1);
  }
  return t;
}

bool is_encoder_type(const std::string& name) {
  return name == "GradualStyleEncoder" || name == "BackboneEncoderUsingLastLayerIntoW" ||
         name == "BackboneEncoderUsingLastLayerIntoWPlus";
}

void PspConfig::validate() const {
  const char* what = "psp config";
  GF_CHECK(is_encoder_type(encoder_type), what, "unknown encoder_type '" << encoder_type << "' (" << kEncoderTypesText << ")");
  body().validate(what);
  GF_CHECK(input_size >= 16 && (input_size & (input_size - 1)) == 0, what,
           "input_size must be a power of two of at least 16 (the body halves it four times), got " << input_size);
  GF_CHECK(n_styles >= 1, what, "n_styles must be positive");
  GF_CHECK(!learn_in_w || encoder_type == "BackboneEncoderUsingLastLayerIntoW", what,
           "learn_in_w needs the BackboneEncoderUsingLastLayerIntoW encoder (it outputs one w)");
  GF_CHECK(learn_in_w || encoder_type != "BackboneEncoderUsingLastLayerIntoW", what,
           "BackboneEncoderUsingLastLayerIntoW outputs one w: set learn_in_w");
}

json to_json(const PspConfig& c) {
  return json{{"encoder_type", c.encoder_type}, {"mode", c.mode},
              {"input_nc", c.input_nc},         {"input_size", c.input_size},
              {"n_styles", c.n_styles},         {"units", c.units},
              {"depths", c.depths},             {"se_reduction", c.se_reduction},
              {"start_from_latent_avg", c.start_from_latent_avg},
              {"learn_in_w", c.learn_in_w}};
}

PspConfig psp_config_from_json(const json& j) {
  PspConfig c;
  const char* what = "psp_kwargs";
  const auto sizes = [](const json& v) {  // each a network size (models/config_json.h)
    std::vector<int> out;
    for (const json& x : v.get<std::vector<json>>()) out.push_back(json_size(x));
    return out;
  };
  const std::map<std::string, std::function<void(const json&)>> set = {
      {"encoder_type", [&](const json& v) { c.encoder_type = v.get<std::string>(); }},
      {"mode", [&](const json& v) { c.mode = v.get<std::string>(); }},
      {"input_nc", [&](const json& v) { c.input_nc = json_size(v); }},
      {"input_size", [&](const json& v) { c.input_size = json_size(v); }},
      {"n_styles", [&](const json& v) { c.n_styles = json_size(v); }},
      {"units", [&](const json& v) { c.units = sizes(v); }},
      {"depths", [&](const json& v) { c.depths = sizes(v); }},
      {"se_reduction", [&](const json& v) { c.se_reduction = json_size(v); }},
      {"start_from_latent_avg", [&](const json& v) { c.start_from_latent_avg = v.get<bool>(); }},
      {"learn_in_w", [&](const json& v) { c.learn_in_w = v.get<bool>(); }}};
  GF_CHECK(j.is_object(), what, "must be a JSON object, got " << io::json_excerpt(j));
  for (const auto& [key, value] : j.items()) {
    auto it = set.find(key);
    GF_CHECK(it != set.end(), what, "unknown key '" << key << "'");
    try {
      it->second(value);
    } catch (const json::exception& e) {
      throw Error(std::string(what) + ": key '" + key + "' has a bad value " + io::json_excerpt(value) + " (" + io::json_error_text(e) + ")");
    }
  }
  c.validate();
  return c;
}

}  // namespace gf::psp
