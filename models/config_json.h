// Reading a network config from the JSON in a file's metadata, for every
// family: each key through a table of setters, so an unknown key (a typo, or
// a file written for another network) is an error rather than ignored.
#pragma once
#include <functional>
#include <initializer_list>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace gf {

using ConfigSetters = std::map<std::string, std::function<void(const nlohmann::json&)>>;

// Throws gf::Error naming `what` and the key when j is not an object, a key
// is unknown, a value has the wrong type, or a key of `required` is missing
// (a shape the official constructor takes without a default: read with ours
// it gave a network of the wrong size and a message about a tensor).
void read_fields(const nlohmann::json& j, const char* what, const ConfigSetters& set,
                 std::initializer_list<const char*> required = {});

// A number > 0 (a learning-rate multiplier, an epsilon): 0 or a negative
// one loads and gives a constant or diverging network without a word.
// Throws gf::Error naming the value; read_fields adds the key.
double json_positive(const nlohmann::json& v);

// A number in [0, 1] (an EMA decay, a probability).
double json_fraction(const nlohmann::json& v);

// A network's size read from a file (a width, a dimension, a resolution, a
// layer count): a whole number of magnitude at most kMaxNetworkSize, so that
// the sums a network forms of its sizes (in_channels + mbstd_num_channels,
// z_dim + embed_features) stay within an int; a larger one is a damaged file
// (2^31 - 1 made a signed overflow). Negative ones pass, for the network's
// own check to name.
inline constexpr int kMaxNetworkSize = 1 << 24;
int json_size(const nlohmann::json& v);

// A json_size >= 0 (a group size, a layer count).
int json_count(const nlohmann::json& v);

}  // namespace gf
