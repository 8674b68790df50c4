// Reading a network config from the JSON in a file's metadata, for every
// family: each key through a table of setters, so an unknown key (a typo, or
// a file written for another network) is an error rather than ignored.
#pragma once
#include <functional>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace gf {

using ConfigSetters = std::map<std::string, std::function<void(const nlohmann::json&)>>;

// Throws gf::Error naming `what` and the key when j is not an object, a key
// is unknown, or a value has the wrong type.
void read_fields(const nlohmann::json& j, const char* what, const ConfigSetters& set);

}  // namespace gf
