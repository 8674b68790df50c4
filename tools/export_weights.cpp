// export_weights: one network out of a bundle (a train_stylegan (StyleGAN2 or
// v1) or train_pggan snapshot or checkpoint, or converted weights) into a standalone
// .bin that generate and discriminate read. The
// network is loaded into its module first, so a tensor that is missing, extra
// or misshapen is an error here rather than in the exported file.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"
#include "models/stylegan2/network_file.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"

namespace {

using namespace gf;
namespace fs = std::filesystem;

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "export_weights", "Write one network of a snapshot or checkpoint as a standalone .bin.",
                 {{"in", "FILE.bin", "", "snapshot or checkpoint (required)"},
                  {"net", "NAME", "G_ema", "G_ema, G or D"},
                  {"out", "FILE.bin", "", "the standalone network file to write (required)"}});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  for (const char* f : {"in", "out"})
    if (!args.has(f)) throw Error(std::string("--") + f + " is required (see --help)");
  const std::string in = args.str("in"), out = args.str("out"), which = args.str("net");
  if (which != "G_ema" && which != "G" && which != "D") throw Error("--net must be G_ema, G or D, got '" + which + "'");
  cli::check_output_file(args, "out", {"in"});

  const io::SafetensorsFile file = io::read_safetensors(in);
  const std::vector<std::string> present = networks_in(file);
  if (std::find(present.begin(), present.end(), which) == present.end()) {
    std::string list;
    for (const auto& n : present) list += (list.empty() ? "" : ", ") + n;
    throw Error(in + ": holds no " + which + " network (it holds: " + (list.empty() ? "none" : list) + ")");
  }
  // One family's networks: its loaders of `which`, its configs' to_json (found
  // by the config's namespace), and its family tag (StyleGAN2's files carry none).
  // --out's folder is made once the network is read, right before the write:
  // a refused run leaves no new folder.
  auto export_net = [&](auto load_generator, auto load_discriminator, const io::Metadata& family) {
    auto write = [&](const Module& net, const nlohmann::json& kwargs) {
      io::MadeFolders folders = io::create_parent_folder(out, "--out");
      save_network(out, net, which, kwargs, family);
      folders.keep();
    };
    if (which == "D") {
      const auto D = load_discriminator();
      write(*D, to_json(D->config()));
    } else {
      const auto G = load_generator();
      write(*G, to_json(G->config()));
    }
  };
  const std::string family = network_family(file);
  if (family == pggan::kFamily)
    export_net([&] { return pggan::load_generator(file, in, which); }, [&] { return pggan::load_discriminator(file, in); },
               {{"family", pggan::kFamily}});
  else if (family == stylegan::kFamily)
    export_net([&] { return stylegan::load_generator(file, in, which); },
               [&] { return stylegan::load_discriminator(file, in); }, {{"family", stylegan::kFamily}});
  else
    export_net([&] { return stylegan2::load_generator(file, in, which); },
               [&] { return stylegan2::load_discriminator(file, in); }, {});
  std::cout << "export_weights: wrote " << which << " of " << in << " to " << out << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("export_weights", [&] { return run(argc, argv); }); }
