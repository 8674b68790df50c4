#include "models/stylegan/network_file.h"

#include "engine/error.h"
#include "engine/io/json_input.h"

namespace gf::stylegan {

void check_family(const io::SafetensorsFile& file, const std::string& path) {
  check_network_family(file, path, kFamily, "StyleGAN (v1)");
}

std::unique_ptr<Generator> load_generator(const io::SafetensorsFile& file, const std::string& path,
                                          const std::string& which) {
  GF_CHECK(which == "G_ema" || which == "G", "stylegan::load_generator", "which must be G_ema or G, got '" << which << "'");
  check_family(file, path);
  return load_network<Generator>(file, path, which, "G_kwargs", generator_config_from_json);
}

std::unique_ptr<Discriminator> load_discriminator(const io::SafetensorsFile& file, const std::string& path) {
  check_family(file, path);
  return load_network<Discriminator>(file, path, "D", "D_kwargs", discriminator_config_from_json);
}

io::Metadata bundle_metadata(const GeneratorConfig& g, const DiscriminatorConfig& d) {
  return {{"family", kFamily}, {"G_kwargs", io::json_text(to_json(g))}, {"D_kwargs", io::json_text(to_json(d))}};
}

}  // namespace gf::stylegan
