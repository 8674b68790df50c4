#include "models/config_json.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"

namespace gf {

void read_fields(const nlohmann::json& j, const char* what, const ConfigSetters& set,
                 std::initializer_list<const char*> required) {
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
  // After the loop: a misspelt key is named as unknown, not as a missing one.
  for (const char* key : required)
    GF_CHECK(j.contains(key), what, "missing key '" << key << "' (part of the network's shape, with no default)");
}

double json_positive(const nlohmann::json& v) {
  const double x = v.get<double>();
  if (!(x > 0) || !std::isfinite(x)) throw Error("expected a number > 0, got " + io::json_excerpt(v));
  return x;
}

int json_size(const nlohmann::json& v) {
  const int x = io::json_int(v);
  if (x > kMaxNetworkSize || x < -kMaxNetworkSize)
    throw Error("expected a network size of magnitude at most " + std::to_string(kMaxNetworkSize) + ", got " +
                io::json_excerpt(v));
  return x;
}

int json_count(const nlohmann::json& v) {
  const int x = json_size(v);
  if (x < 0) throw Error("expected a whole number >= 0, got " + io::json_excerpt(v));
  return x;
}

double json_fraction(const nlohmann::json& v) {
  const double x = v.get<double>();
  if (!(x >= 0 && x <= 1)) throw Error("expected a number in [0, 1], got " + io::json_excerpt(v));
  return x;
}

}  // namespace gf
