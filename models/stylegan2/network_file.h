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
#include "models/network_file.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/generator.h"

namespace gf::stylegan2 {

// The shared bundle helpers (models/network_file.h), by their old names here.
using gf::add_prefix;
using gf::load_module;
using gf::metadata_json;
using gf::metadata_seed;
using gf::metadata_value;
using gf::networks_in;
using gf::save_network;
using gf::select_prefix;

// Builds a generator from a file's G_kwargs and loads `which` ("G_ema" or
// "G") from a bundle, or the network of a standalone generator file. Throws
// gf::Error naming the file when it holds no such network or a tensor is
// missing, extra or misshapen.
std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which = "G_ema");
std::unique_ptr<Generator> load_generator(const std::string& path, const std::string& which = "G_ema");
std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path);
std::unique_ptr<Discriminator> load_discriminator(const std::string& path);

}  // namespace gf::stylegan2
