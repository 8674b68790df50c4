// StyleGAN (v1) networks in ganforge .bin files (models/network_file.h): a
// bundle ("G.", "D.", "G_ema." with the official TF variable names, G's
// prefixed by their component, "G_ema" being the official Gs) or a standalone
// network, with metadata "family" = "stylegan" and the configs as "G_kwargs" /
// "D_kwargs" (models/stylegan/config.h). What convert_weights.py's StyleGAN
// import and train_stylegan --arch stylegan write.
#pragma once
#include <memory>
#include <string>

#include "engine/io/safetensors.h"
#include "models/network_file.h"
#include "models/stylegan/networks.h"

namespace gf::stylegan {

inline constexpr const char* kFamily = "stylegan";

// Throws gf::Error naming the file unless it holds StyleGAN (v1) networks.
void check_family(const io::SafetensorsFile& file, const std::string& path);

// Builds a network from the file's G_kwargs / D_kwargs and loads `which`
// ("G_ema" or "G") of a bundle, or a standalone network. Missing, extra or
// misshapen tensors throw gf::Error naming the file and tensor.
std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which = "G_ema");
std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path);

io::Metadata bundle_metadata(const GeneratorConfig& g, const DiscriminatorConfig& d);

}  // namespace gf::stylegan
