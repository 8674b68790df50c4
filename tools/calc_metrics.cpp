// calc_metrics: the official calc_metrics.py of StyleGAN2-ADA for a generator
// .bin (a train_stylegan or train_pggan snapshot or checkpoint, a converted
// official network): each --metrics entry (the official registry's names:
// metrics/metric_main.h) of its G_ema against --data, reported
// as the official jsonl line on stdout and, when the network sits in a run
// folder (beside training_options.json), appended to that folder's
// metric-<name>.jsonl (the line is printed first; a folder it cannot be
// appended to is refused before any work). FID, KID and IS run the Inception network (--detector),
// PR and PPL VGG16 (--vgg16); PPL needs a mapping network, so it refuses
// PGGAN.
// Without --data the run folder's training_options.json names the dataset and
// whether it was mirrored, as the official script looks up the pickle's
// training_set_kwargs. Generated images: StyleGAN2 G_ema with truncation 1 and
// random noise (the official G_kwargs {}); StyleGAN (v1) without truncation
// and with random noise (v1's metrics run is_validation=True); PGGAN at its
// stored lod; labels of random dataset items for conditional networks.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/io/safetensors.h"
#include "metrics/generators.h"
#include "metrics/inception_detector.h"
#include "metrics/training_metrics.h"
#include "models/network_file.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"
#include "models/stylegan2/network_file.h"
#include "train/cli.h"
#include "train/dataset.h"

namespace {

using namespace gf;
namespace fs = std::filesystem;

// A loaded generator of any family: its images and (with a mapping network)
// its PPL paths as the metrics call them (metrics/generators.h), given the
// dataset its labels come from.
struct LoadedGenerator {
  std::shared_ptr<Module> owner;
  std::function<metrics::ImageGenerator(const Dataset&)> images;
  std::function<metrics::PathSampler(const Dataset&)> paths;  // empty: no W (PGGAN)
  std::string family;
  int resolution = 0, c_dim = 0;
};

// G on dev, with its images as the metrics call them and its image size and label count.
template <class Net, class Images>
LoadedGenerator loaded(std::shared_ptr<Net> G, Device dev, const std::string& family, int resolution, int c_dim,
                       Images images) {
  G->to(dev);
  return {G, [G, dev, images](const Dataset& d) { return images(*G, d, dev); }, {}, family, resolution, c_dim};
}

template <class Net, class Paths>
void with_paths(LoadedGenerator& L, std::shared_ptr<Net> G, Device dev, Paths paths) {
  L.paths = [G, dev, paths](const Dataset& d) { return paths(*G, d, dev); };
}

LoadedGenerator load_any_generator(const io::SafetensorsFile& file, const std::string& path, Device dev) {
  const std::string family = network_family(file);
  if (family == pggan::kFamily) {
    std::shared_ptr<pggan::Generator> G = pggan::load_generator(file, path, "G_ema");
    return loaded(G, dev, "PGGAN", G->config().resolution, G->config().label_size, metrics::pggan_images);
  }
  if (family == stylegan::kFamily) {
    std::shared_ptr<stylegan::Generator> G = stylegan::load_generator(file, path, "G_ema");
    LoadedGenerator L = loaded(G, dev, "StyleGAN", G->config().resolution, G->config().label_size, metrics::stylegan_images);
    with_paths(L, G, dev, metrics::stylegan_paths);
    return L;
  }
  std::shared_ptr<stylegan2::Generator> G = stylegan2::load_generator(file, path);
  LoadedGenerator L = loaded(G, dev, "StyleGAN2", G->config().img_resolution, G->config().c_dim, metrics::stylegan2_images);
  with_paths(L, G, dev, metrics::stylegan2_paths);
  return L;
}

// The run folder holding the network (beside training_options.json), or "".
std::string run_folder_of(const std::string& network) {
  const fs::path dir = fs::absolute(network).parent_path();
  std::error_code ec;
  return fs::is_regular_file(dir / "training_options.json", ec) ? dir.string() : std::string();
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "calc_metrics",
                 "Calculate quality metrics (FID, KID, IS, PR, PPL) of a generator snapshot, as the official calc_metrics.py.",
                 metrics::with_metric_flags(
                     {{"network", "FILE.bin", "", "generator snapshot or converted network (required)"},
                      {"data", "PATH", "", "dataset to evaluate against (default: the run's, from training_options.json; a relative path there is relative to where training ran)"},
                      cli::integer("mirror", "0|1", "", "whether the dataset was augmented with x-flips in training (default: the run's)", 0, 1),
                      cli::integer("seed", "N", "0", "seed of the generated images' latents, labels and noise, PPL's paths and KID's subsets", 0, cli::kSeedMax),
                      cli::device("device", "cpu", "where to run")},
                     "fid50k_full"));
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  if (!args.has("network")) throw Error("--network is required (see --help)");
  const metrics::MetricRequest req = metrics::metric_request(args);
  if (req.names.empty()) throw Error("--metrics is none: nothing to calculate");
  const Device dev = args.device("device");
  const std::string path = args.str("network");
  const io::SafetensorsFile file = io::read_safetensors(path);

  // The dataset: --data, else the run folder's options, as the official lookup.
  const std::string run_dir = run_folder_of(path);
  // The results' files before hours of work (the official script learns at the end).
  if (!run_dir.empty()) metrics::check_metric_files_writable(req.names, run_dir);
  nlohmann::json run_options;
  if (!run_dir.empty()) {
    std::ifstream f(run_dir + "/training_options.json");
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    run_options = io::parse_json_or_discarded(text);
    if (!run_options.is_object() && !args.has("data"))
      throw Error(run_dir + "/training_options.json cannot be read as a JSON object; give --data (and --mirror)");
  }
  DatasetOptions dopt;
  std::string data;
  if (args.has("data")) {
    data = args.str("data");
  } else if (run_options.is_object() && run_options.contains("data") && run_options["data"].is_string()) {
    data = run_options["data"].get<std::string>();  // "" is Fashion-MNIST, the programs' default
    // Recorded as training was given it, so a relative path is relative to
    // where training ran (as the official training_set_kwargs): from
    // elsewhere it is missing; say where it came from, before any work.
    std::error_code ec;
    if (!data.empty() && !fs::exists(data, ec))
      throw Error(data + ": no such file or folder; this --data path came from " + run_dir +
                  "/training_options.json (a relative path is relative to where training ran): run from there, or give --data");
  } else {
    throw Error("--data is required: " + path + " is not in a run folder with training_options.json");
  }
  if (args.has("mirror")) dopt.xflip = args.integer("mirror") == 1;
  else if (!args.has("data") && run_options.contains("mirror") && run_options["mirror"].is_boolean())
    dopt.xflip = run_options["mirror"].get<bool>();

  LoadedGenerator G = load_any_generator(file, path, dev);
  for (const std::string& m : req.names)
    if (metrics::metric_needs_mapping(m) && !G.paths)
      throw Error(m + " interpolates in W or Z through a mapping network, which " + G.family + " has not (" + path + ")");
  // The detectors before the dataset: a wrong file is one line, before a large dataset loads.
  const metrics::MetricDetectors detectors = metrics::load_metric_detectors(req, dev);
  dopt.use_labels = G.c_dim > 0;  // as the official use_labels = (G.c_dim != 0)
  dopt.labels_for = "the conditional network " + path + " (" + std::to_string(G.c_dim) + " classes)";
  const std::unique_ptr<Dataset> ds = open_dataset(data, dopt);
  if (ds->resolution() != G.resolution)
    throw Error("the dataset's images are " + std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) +
                ", the generator's " + std::to_string(G.resolution) + "x" + std::to_string(G.resolution));
  if (G.c_dim > 0 && ds->c_dim() != G.c_dim)
    throw Error("the generator takes " + std::to_string(G.c_dim) + " classes, the dataset has " + std::to_string(ds->c_dim()));

  auto log = [](const std::string& l) { std::cout << l << std::endl; };
  metrics::MetricContext ctx = metrics::metric_context(req, detectors, *ds, G.images(*ds),
                                                       G.paths ? G.paths(*ds) : metrics::PathSampler(), dev,
                                                       static_cast<uint64_t>(args.integer("seed")), log);
  ctx.feature_opt.progress = log;
  std::cout << "Dataset " << ds->name() << ": " << ds->size() << " images" << (dopt.xflip ? " (with x-flips)" : "")
            << (run_dir.empty() ? "" : "; results also go to " + run_dir) << std::endl;
  metrics::evaluate_metrics(req, ctx, run_dir, run_dir.empty() ? path : fs::absolute(path).string(), log);
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("calc_metrics", [&] { return run(argc, argv); }); }
