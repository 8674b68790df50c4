#include "train/stylegan_flags.h"

#include "engine/error.h"
#include "models/network_file.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"

namespace gf {

void check_resume_family(const io::SafetensorsFile& file, const std::string& path, const std::string& arch_family) {
  const std::string found = network_family(file);
  if (found == arch_family) return;
  if (found == "stylegan2") throw Error(path + ": holds StyleGAN2 networks; resume them without --arch stylegan");
  if (found == stylegan::kFamily)
    throw Error(path + ": holds StyleGAN (v1) networks; resume them with --arch stylegan");
  if (found == pggan::kFamily) throw Error(path + ": holds PGGAN networks; train_pggan --resume continues them");
  throw Error(path + ": holds " + found + " networks, which train_stylegan does not train");
}

int snapshot_ticks(const cli::Args& args, bool v1) {
  return args.has("snap") ? static_cast<int>(args.integer("snap")) : v1 ? 10 : 50;
}

uint64_t run_seed(const cli::Args& args) {
  if (args.has("seed")) return static_cast<uint64_t>(args.integer("seed"));
  return args.str("arch") == "stylegan" ? 1000 : 0;
}

}  // namespace gf
