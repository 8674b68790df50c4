#include "models/config_json.h"

#include "engine/error.h"
#include "engine/io/json_input.h"

namespace gf {

void read_fields(const nlohmann::json& j, const char* what, const ConfigSetters& set) {
  GF_CHECK(j.is_object(), what, "config must be a JSON object, got " << io::json_excerpt(j));
  for (const auto& [key, value] : j.items()) {
    auto it = set.find(key);
    GF_CHECK(it != set.end(), what, "unknown key '" << key << "'");
    try {
      it->second(value);
    } catch (const nlohmann::json::exception& e) {
      throw Error(std::string(what) + ": key '" + key + "' has a bad value " + io::json_excerpt(value) + " (" + io::json_error_text(e) + ")");
    } catch (const Error& e) {  // io::json_int's range check
      throw Error(std::string(what) + ": key '" + key + "': " + e.what());
    }
  }
}

}  // namespace gf
