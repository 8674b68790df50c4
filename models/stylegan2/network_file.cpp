#include "models/stylegan2/network_file.h"

#include "engine/error.h"

namespace gf::stylegan2 {
namespace {

void check_family(const io::SafetensorsFile& file, const std::string& path) {
  const std::string family = network_family(file);
  if (family != "stylegan2") throw Error(path + ": holds " + family + " networks, not StyleGAN2 ones");
}

}  // namespace

std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which) {
  GF_CHECK(which == "G_ema" || which == "G", "load_generator", "which must be G_ema or G, got '" << which << "'");
  check_family(file, path);
  return load_network<Generator>(file, path, which, "G_kwargs", generator_config_from_json);
}

std::unique_ptr<Generator> load_generator(const std::string& path, const std::string& which) {
  return load_generator(io::read_safetensors(path), path, which);
}

std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path) {
  check_family(file, path);
  return load_network<Discriminator>(file, path, "D", "D_kwargs", discriminator_config_from_json);
}

std::unique_ptr<Discriminator> load_discriminator(const std::string& path) {
  return load_discriminator(io::read_safetensors(path), path);
}

}  // namespace gf::stylegan2
