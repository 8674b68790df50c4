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
  const io::TensorMap state = network_state(file, path, which);
  const GeneratorConfig cfg = metadata_value(file, path, "G_kwargs", generator_config_from_json);
  std::unique_ptr<Generator> G;
  try {
    G = std::make_unique<Generator>(cfg, 0);
  } catch (const Error& e) {
    throw Error(path + ": G_kwargs: " + e.what());
  }
  load_module(*G, state, path, which);
  return G;
}

std::unique_ptr<Generator> load_generator(const std::string& path, const std::string& which) {
  return load_generator(io::read_safetensors(path), path, which);
}

std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path) {
  check_family(file, path);
  const io::TensorMap state = network_state(file, path, "D");
  const DiscriminatorConfig cfg = metadata_value(file, path, "D_kwargs", discriminator_config_from_json);
  std::unique_ptr<Discriminator> D;
  try {
    D = std::make_unique<Discriminator>(cfg, 0);
  } catch (const Error& e) {
    throw Error(path + ": D_kwargs: " + e.what());
  }
  load_module(*D, state, path, "D");
  return D;
}

std::unique_ptr<Discriminator> load_discriminator(const std::string& path) {
  return load_discriminator(io::read_safetensors(path), path);
}

}  // namespace gf::stylegan2
