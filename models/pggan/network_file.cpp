#include "models/pggan/network_file.h"

#include "engine/error.h"

namespace gf::pggan {

void check_family(const io::SafetensorsFile& file, const std::string& path) {
  const std::string family = network_family(file);
  if (family != kFamily) throw Error(path + ": holds " + family + " networks, not PGGAN ones");
}

std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which) {
  GF_CHECK(which == "G_ema" || which == "G", "pggan::load_generator", "which must be G_ema or G, got '" << which << "'");
  check_family(file, path);
  const io::TensorMap state = network_state(file, path, which);
  std::unique_ptr<Generator> G;
  try {
    G = std::make_unique<Generator>(generator_config_from_json(metadata_json(file, path, "G_kwargs")), 0);
  } catch (const Error& e) {
    throw Error(path + ": G_kwargs: " + e.what());
  }
  load_module(*G, state, path, which);
  return G;
}

std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path) {
  check_family(file, path);
  const io::TensorMap state = network_state(file, path, "D");
  std::unique_ptr<Discriminator> D;
  try {
    D = std::make_unique<Discriminator>(discriminator_config_from_json(metadata_json(file, path, "D_kwargs")), 0);
  } catch (const Error& e) {
    throw Error(path + ": D_kwargs: " + e.what());
  }
  load_module(*D, state, path, "D");
  return D;
}

io::Metadata bundle_metadata(const GeneratorConfig& g, const DiscriminatorConfig& d) {
  return {{"family", kFamily}, {"G_kwargs", to_json(g).dump()}, {"D_kwargs", to_json(d).dump()}};
}

}  // namespace gf::pggan
