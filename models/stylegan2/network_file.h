// Reading and writing StyleGAN2 networks in ganforge .bin files. Two layouts:
//  - a standalone network: the official state-dict names as they are
//    ("mapping.fc0.weight"), metadata "network" = G_ema | G | D and the
//    matching "G_kwargs" or "D_kwargs" (what export_weights writes);
//  - a bundle (train_stylegan's network-snapshot-*.bin and checkpoint.bin,
//    convert_weights.py's output): several networks under the prefixes
//    "G.", "D.", "G_ema.", with "G_kwargs" and "D_kwargs" in the metadata, and
//    in a checkpoint the training state beside them (see train/checkpoint.h).
#pragma once
#include <memory>
#include <string>

#include "engine/io/safetensors.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/generator.h"

namespace gf::stylegan2 {

// The tensors named "<prefix>..." with the prefix removed.
io::TensorMap select_prefix(const io::TensorMap& all, const std::string& prefix);
// Every name given the prefix.
io::TensorMap add_prefix(const io::TensorMap& tensors, const std::string& prefix);

// Metadata `key` parsed as JSON; throws gf::Error naming the file when it is
// absent or not JSON.
nlohmann::json metadata_json(const io::SafetensorsFile& file, const std::string& path, const std::string& key);

// Which networks a file holds: "G", "D", "G_ema" for a bundle (those present),
// or the single metadata "network" of a standalone file.
std::vector<std::string> networks_in(const io::SafetensorsFile& file);

// Builds a generator from a file's G_kwargs and loads `which` ("G_ema" or
// "G") from a bundle, or the network of a standalone generator file. Throws
// gf::Error naming the file when it holds no such network or a tensor is
// missing, extra or misshapen.
std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which = "G_ema");
std::unique_ptr<Generator> load_generator(const std::string& path, const std::string& which = "G_ema");
std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path);
std::unique_ptr<Discriminator> load_discriminator(const std::string& path);

// net.load_state_dict(state), with an error prefixed by "<path>: <what>: ".
void load_module(Module& net, const io::TensorMap& state, const std::string& path, const std::string& what);

// A standalone network file: the module's state dict unprefixed, with its
// config. `network` is "G_ema", "G" or "D".
void save_network(const std::string& path, const Module& net, const std::string& network,
                  const nlohmann::json& kwargs, io::Metadata extra = {});

}  // namespace gf::stylegan2
