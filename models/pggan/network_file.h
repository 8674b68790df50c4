// PGGAN networks in ganforge .bin files (models/network_file.h): a bundle
// ("G.", "D.", "G_ema." with the official TF variable names, "G_ema" being the
// official Gs) or a standalone network, with metadata "family" = "pggan" and
// the configs as "G_kwargs" / "D_kwargs" (models/pggan/config.h). What
// train_pggan's snapshots and checkpoints and convert_weights.py's PGGAN
// import write.
#pragma once
#include <memory>
#include <string>

#include "engine/io/safetensors.h"
#include "models/network_file.h"
#include "models/pggan/networks.h"

namespace gf::pggan {

inline constexpr const char* kFamily = "pggan";

// Throws gf::Error naming the file unless it holds PGGAN networks.
void check_family(const io::SafetensorsFile& file, const std::string& path);

// Builds a generator from the file's G_kwargs and loads `which` ("G_ema" or
// "G") of a bundle, or a standalone generator; likewise D. Missing, extra or
// misshapen tensors throw gf::Error naming the file and tensor.
std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which = "G_ema");
std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path);

// The metadata a PGGAN bundle carries: family and both configs.
io::Metadata bundle_metadata(const GeneratorConfig& g, const DiscriminatorConfig& d);

}  // namespace gf::pggan
