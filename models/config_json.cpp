#include "models/config_json.h"

#include "engine/error.h"

namespace gf {

void read_fields(const nlohmann::json& j, const char* what, const ConfigSetters& set) {
  GF_CHECK(j.is_object(), what, "config must be a JSON object, got " << j.dump());
  for (const auto& [key, value] : j.items()) {
    auto it = set.find(key);
    GF_CHECK(it != set.end(), what, "unknown key '" << key << "'");
    try {
      it->second(value);
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string(what) + ": key '" + key + "' has a bad value " + value.dump() + " (" + e.what() + ")");
    }
  }
}

}  // namespace gf
