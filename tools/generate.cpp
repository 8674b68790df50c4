// generate: images from a generator .bin (G_ema of a train_stylegan snapshot
// or checkpoint, or a standalone generator from export_weights). One PNG per seed, or one grid. z for a seed is
// Philox randn([1, z_dim]) with that seed, so a seed gives the same image on
// the CPU and the GPU.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "models/network_file.h"
#include "train/cli.h"
#include "train/image_io.h"

namespace {

using namespace gf;

NoiseMode parse_noise_mode(const std::string& s) {
  if (s == "const") return NoiseMode::constant;
  if (s == "random") return NoiseMode::random;
  if (s == "none") return NoiseMode::none;
  throw Error("--noise-mode must be const, random or none, got '" + s + "'");
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "generate", "Generate images with a trained StyleGAN2 generator.",
                 {{"network", "FILE.bin", "", "generator snapshot (required)"},
                  {"seeds", "LIST", "0-7", "seeds, e.g. 0-63 or 1,5,9"},
                  {"trunc", "PSI", "1", "truncation psi"},
                  {"class", "K", "", "class label, for a conditional network"},
                  {"noise-mode", "MODE", "const", "const, random or none"},
                  {"outdir", "DIR", "out", "where to write the PNGs"},
                  {"grid", "WxH", "", "write one grid.png of W x H images instead of one file per seed"},
                  {"device", "cpu|cuda", "cpu", "where to run"}});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  if (!args.has("network")) throw Error("--network is required (see --help)");
  const Device dev = Device::parse(args.str("device"));
  check_device_usable(dev);
  const std::string path = args.str("network");
  const std::unique_ptr<stylegan2::Generator> net = stylegan2::load_generator(path);
  stylegan2::Generator& G = *net;
  const stylegan2::GeneratorConfig& cfg = G.config();
  G.to(dev);

  const std::vector<long long> seeds = cli::parse_range_list(args.str("seeds"), "seeds");
  const double psi = args.number("trunc");
  Tensor c;
  if (cfg.c_dim > 0) {
    if (!args.has("class")) throw Error("the network is conditional (" + std::to_string(cfg.c_dim) + " classes): pass --class");
    const long long k = args.integer("class");
    if (k < 0 || k >= cfg.c_dim) throw Error("--class " + std::to_string(k) + " is outside [0, " + std::to_string(cfg.c_dim) + ")");
    std::vector<double> onehot(static_cast<size_t>(cfg.c_dim), 0.0);
    onehot[static_cast<size_t>(k)] = 1;
    c = Tensor::from_vector(onehot, {1, cfg.c_dim}, DType::f32, dev);
  } else if (args.has("class")) {
    throw Error("--class given, but the network is unconditional");
  }
  int gw = 0, gh = 0;
  if (args.has("grid")) {
    if (std::sscanf(args.str("grid").c_str(), "%dx%d", &gw, &gh) != 2 || gw < 1 || gh < 1)
      throw Error("--grid expects WxH, e.g. 8x8");
    if (static_cast<size_t>(gw * gh) != seeds.size())
      throw Error("--grid " + args.str("grid") + " holds " + std::to_string(gw * gh) + " images, but " +
                  std::to_string(seeds.size()) + " seeds were given");
  }
  const std::string outdir = args.str("outdir");
  std::filesystem::create_directories(outdir);

  stylegan2::SynthesisOptions so;
  so.noise_mode = parse_noise_mode(args.str("noise-mode"));
  NoGradGuard ng;
  std::vector<Tensor> images;
  for (long long seed : seeds) {
    gf::Generator rng(static_cast<uint64_t>(seed));
    const Tensor z = randn({1, cfg.z_dim}, rng, DType::f32, dev);
    so.noise_gen = &rng;  // random noise continues the seed's stream
    Tensor img = G.forward(z, c, psi, std::nullopt, so).to(Device::cpu());
    if (gw > 0) {
      images.push_back(img);
    } else {
      char name[64];
      std::snprintf(name, sizeof name, "/seed%04lld.png", seed);
      save_image_grid(img, outdir + name, 1, 1);
    }
  }
  if (gw > 0) save_image_grid(concat(images, 0), outdir + "/grid.png", gw, gh);
  std::cout << "generate: wrote " << (gw > 0 ? std::string("grid.png") : std::to_string(seeds.size()) + " images")
            << " to " << outdir << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("generate", [&] { return run(argc, argv); }); }
