#include "models/stylegan2/network_file.h"

#include "engine/error.h"

namespace gf::stylegan2 {

io::TensorMap select_prefix(const io::TensorMap& all, const std::string& prefix) {
  io::TensorMap out;
  for (const auto& [name, t] : all)
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) out.emplace(name.substr(prefix.size()), t);
  return out;
}

io::TensorMap add_prefix(const io::TensorMap& tensors, const std::string& prefix) {
  io::TensorMap out;
  for (const auto& [name, t] : tensors) out.emplace(prefix + name, t);
  return out;
}

nlohmann::json metadata_json(const io::SafetensorsFile& file, const std::string& path, const std::string& key) {
  auto meta = file.metadata.find(key);
  if (meta == file.metadata.end()) throw Error(path + ": no " + key + " in its metadata");
  try {
    return nlohmann::json::parse(meta->second);
  } catch (const std::exception& e) {
    throw Error(path + ": metadata " + key + " is not JSON: " + e.what());
  }
}

std::vector<std::string> networks_in(const io::SafetensorsFile& file) {
  auto it = file.metadata.find("network");
  if (it != file.metadata.end()) return {it->second};
  std::vector<std::string> out;
  for (const char* n : {"G", "D", "G_ema"})
    if (!select_prefix(file.tensors, std::string(n) + ".").empty()) out.push_back(n);
  return out;
}

namespace {

// The state of network `which` (a standalone file must hold exactly it; of a
// standalone generator, G_ema and G both accept it).
io::TensorMap network_state(const io::SafetensorsFile& file, const std::string& path, const std::string& which,
                            bool generator) {
  auto it = file.metadata.find("network");
  if (it != file.metadata.end()) {
    const bool is_gen = it->second == "G" || it->second == "G_ema";
    if (generator ? !is_gen : it->second != "D")
      throw Error(path + ": holds network '" + it->second + "', not " + (generator ? "a generator" : "a discriminator"));
    return file.tensors;
  }
  io::TensorMap state = select_prefix(file.tensors, which + ".");
  if (state.empty()) throw Error(path + ": holds no " + which + " network (no tensor named '" + which + ".*')");
  return state;
}

}  // namespace

void load_module(Module& net, const io::TensorMap& state, const std::string& path, const std::string& what) {
  try {
    net.load_state_dict(state);
  } catch (const Error& e) {
    throw Error(path + ": " + what + ": " + e.what());
  }
}

std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which) {
  GF_CHECK(which == "G_ema" || which == "G", "load_generator", "which must be G_ema or G, got '" << which << "'");
  const io::TensorMap state = network_state(file, path, which, true);
  auto G = std::make_unique<Generator>(generator_config_from_json(metadata_json(file, path, "G_kwargs")), 0);
  load_module(*G, state, path, which);
  return G;
}

std::unique_ptr<Generator> load_generator(const std::string& path, const std::string& which) {
  return load_generator(io::read_safetensors(path), path, which);
}

std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path) {
  const io::TensorMap state = network_state(file, path, "D", false);
  auto D = std::make_unique<Discriminator>(discriminator_config_from_json(metadata_json(file, path, "D_kwargs")), 0);
  load_module(*D, state, path, "D");
  return D;
}

std::unique_ptr<Discriminator> load_discriminator(const std::string& path) {
  return load_discriminator(io::read_safetensors(path), path);
}

void save_network(const std::string& path, const Module& net, const std::string& network, const nlohmann::json& kwargs,
                  io::Metadata extra) {
  GF_CHECK(network == "G_ema" || network == "G" || network == "D", "save_network",
           "network must be G_ema, G or D, got '" << network << "'");
  extra["network"] = network;
  extra[network == "D" ? "D_kwargs" : "G_kwargs"] = kwargs.dump();
  io::save_safetensors(path, net.state_dict(), extra);
}

}  // namespace gf::stylegan2
