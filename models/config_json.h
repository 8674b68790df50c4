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

// A number > 0 (a learning-rate multiplier, an epsilon): 0 or a negative
// one loads and gives a constant or diverging network without a word.
// Throws gf::Error naming the value; read_fields adds the key.
double json_positive(const nlohmann::json& v);

// A number in [0, 1] (an EMA decay, a probability).
double json_fraction(const nlohmann::json& v);

}  // namespace gf
