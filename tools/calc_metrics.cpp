// calc_metrics: the official calc_metrics.py of StyleGAN2-ADA for a generator
// .bin (a train_stylegan or train_pggan snapshot or checkpoint, a converted
// official network): each --metrics entry (the official registry's names:
// metrics/metric_main.h) of its G_ema against --data, reported
// as the official jsonl line on stdout and, when the network sits in a run
// folder (beside training_options.json), appended to that folder's
// metric-<name>.jsonl (the line is printed first; a folder it cannot be
// appended to is refused before any work). FID, KID and IS run the Inception network (--detector),
// PR and PPL VGG16 (--vgg16); PPL needs a mapping network, so it refuses
// PGGAN. PGGAN's swd16k, swd16k_reals2 and msssim20k (metrics/pggan_metrics.h) need neither.
// StyleGAN's ls (metrics/linear_separability.h) runs the 40 CelebA-HQ
// attribute classifiers (--classifiers) and needs a mapping network too.
// Without --data the run folder's training_options.json names the dataset and
// whether it was mirrored, as the official script looks up the pickle's
// training_set_kwargs; outside a run folder, a converted official snapshot's
// own training_set_kwargs (which convert_weights keeps) do. Generated images: StyleGAN2 G_ema with truncation 1 and
// random noise (the official G_kwargs {}); StyleGAN (v1) without truncation
// and with random noise (v1's metrics run is_validation=True); PGGAN at its
// stored lod; labels of random dataset items for conditional networks.
//
// On N devices, as the official calc_metrics.py --gpus N: launched as the
// trainers are (`mpirun -np N calc_metrics ...`, or the torchrun-style
// environment RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT; the
// set-up is train/process_group.h's, shared with train_stylegan), every
// rank opens the network, the detectors and the data itself, on cuda:K +
// LOCAL_RANK for --device cuda:K (NCCL where built), and the ranks share
// every feature pass (metrics/sharding.h) and PR's distances
// (metrics/precision_recall.h); the results equal one process's bit for bit
// (the jsonl's num_gpus says N). Rank 0 alone prints (the progress and the
// results), reads and writes the statistics cache and appends to the run
// folder; the others print nothing but errors. The ranks must be given the
// same flags (paths only as given or not) and hold the same network,
// dataset and detectors by content, or every rank stops with one line
// naming the first difference; a rank that cannot set up stops every rank
// with its line; a rank that dies is named by the others (TCP: at once;
// under mpirun, mpirun stops the job), the waits bounded by
// GF_DIST_METRICS_TIMEOUT (engine/dist/communicator.h).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/io/safetensors.h"
#include "metrics/generators.h"
#include "engine/dist/communicator.h"
#include "engine/dist/same_run.h"
#include "metrics/inception_detector.h"
#include "metrics/stats_cache.h"
#include "metrics/training_metrics.h"
#include "models/network_file.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"
#include "models/stylegan2/network_file.h"
#include "train/checkpoint_state.h"
#include "train/cli.h"
#include "train/run_main.h"
#include "data/dataset.h"
#include "train/process_group.h"

namespace {

using namespace gf;
namespace fs = std::filesystem;

// The flags that name files and folders: the ranks' flags agree on whether
// each is given (check_same_run); the network, the data and the detectors
// are then compared by content.
const std::set<std::string> kPathFlags = {"network", "data", "detector", "vgg16", "classifiers", "metrics-cache"};

// A loaded generator of any family: its images and (with a mapping network)
// its PPL paths and LS samples as the metrics call them
// (metrics/generators.h), given the dataset its labels come from.
struct LoadedGenerator {
  std::shared_ptr<Module> owner;
  std::function<metrics::ImageGenerator(const Dataset&)> images;
  std::function<metrics::PathSampler(const Dataset&)> paths;  // empty: no W (PGGAN)
  std::function<metrics::LatentSampler(const Dataset&)> latents;  // empty: no W (PGGAN)
  std::string family;
  int resolution = 0, channels = 0, c_dim = 0;
};

// G on dev, with its images as the metrics call them and its image shape and label count.
template <class Net, class Images>
LoadedGenerator loaded(std::shared_ptr<Net> G, Device dev, const std::string& family, int resolution, int channels,
                       int c_dim, Images images) {
  G->to(dev);
  return {G, [G, dev, images](const Dataset& d) { return images(*G, d, dev); }, {}, {}, family, resolution, channels,
          c_dim};
}

template <class Net, class Paths, class Latents>
void with_mapping(LoadedGenerator& L, std::shared_ptr<Net> G, Device dev, Paths paths, Latents latents) {
  L.paths = [G, dev, paths](const Dataset& d) { return paths(*G, d, dev); };
  L.latents = [G, dev, latents](const Dataset& d) { return latents(*G, d, dev); };
}

LoadedGenerator load_any_generator(const io::SafetensorsFile& file, const std::string& path, Device dev) {
  const std::string family = network_family(file);
  if (family == pggan::kFamily) {
    std::shared_ptr<pggan::Generator> G = pggan::load_generator(file, path, "G_ema");
    return loaded(G, dev, "PGGAN", G->config().resolution, G->config().num_channels, G->config().label_size,
                  metrics::pggan_images);
  }
  if (family == stylegan::kFamily) {
    std::shared_ptr<stylegan::Generator> G = stylegan::load_generator(file, path, "G_ema");
    LoadedGenerator L = loaded(G, dev, "StyleGAN", G->config().resolution, G->config().num_channels,
                               G->config().label_size, metrics::stylegan_images);
    with_mapping(L, G, dev, metrics::stylegan_paths, metrics::stylegan_latents);
    return L;
  }
  std::shared_ptr<stylegan2::Generator> G = stylegan2::load_generator(file, path);
  LoadedGenerator L = loaded(G, dev, "StyleGAN2", G->config().img_resolution, G->config().img_channels,
                             G->config().c_dim, metrics::stylegan2_images);
  with_mapping(L, G, dev, metrics::stylegan2_paths, metrics::stylegan2_latents);
  return L;
}

// A converted official snapshot's training_set_kwargs (tools/convert_weights.py
// keeps path, xflip, max_size and random_seed) in training_options.json's
// terms: {"data", "mirror", "max_images", "subset_seed"}; null when the file
// has none. `where` names them in the refusal of a malformed entry.
nlohmann::json official_training_set(const io::SafetensorsFile& file, const std::string& where) {
  const auto it = file.metadata.find("training_set_kwargs");
  if (it == file.metadata.end()) return nullptr;
  const nlohmann::json kw = io::parse_json_or_discarded(it->second);
  if (!kw.is_object() || !kw.contains("path") || !kw["path"].is_string())
    throw Error(where + " is not a JSON object with a \"path\" string: " + io::json_excerpt(kw) +
                "; give --data (and --mirror)");
  nlohmann::json options = {{"data", kw["path"]}};
  if (kw.contains("xflip") && kw["xflip"].is_boolean()) options["mirror"] = kw["xflip"];
  // train.py sets max_size to the dataset's length, and to --subset with
  // random_seed = --seed: only a smaller one picks a subset (the caller
  // compares it with the dataset).
  if (kw.contains("max_size") && kw["max_size"].is_number_unsigned() && kw["max_size"].get<uint64_t>() > 0)
    options["max_images"] = kw["max_size"];
  options["subset_seed"] = kw.contains("random_seed") ? kw["random_seed"] : nlohmann::json(0u);  // ImageFolderDataset's default 0
  return options;
}

// The run folder holding the network (beside training_options.json), or "".
std::string run_folder_of(const std::string& network) {
  const fs::path dir = fs::absolute(network).parent_path();
  std::error_code ec;
  return fs::is_regular_file(dir / "training_options.json", ec) ? dir.string() : std::string();
}

// What a rank's set-up made, for check_same_run: the network's bytes (the
// path may differ between machines), the family and sizes it was read as,
// the dataset (its shape, x-flips, and a key of every image's pixels,
// dataset_resume_key: not its name or path), the detectors' weights, and
// where PPL's labels come from (a rank whose training_options.json lacks the
// subset would draw them from the whole dataset).
std::vector<RunItem> made_run_items(const std::string& network, const LoadedGenerator& G, const Dataset& ds,
                                    bool xflip, const metrics::MetricDetectors& detectors, const Dataset* ppl_labels) {
  std::vector<RunItem> items = {
      {"--network content", metrics::file_content_key(network)},
      {"generator", G.family + " " + std::to_string(G.resolution) + "x" + std::to_string(G.resolution) + ", " +
                        "c_dim " + std::to_string(G.c_dim)},
      {"dataset", std::to_string(ds.size()) + " images " + std::to_string(ds.resolution()) + "x" +
                      std::to_string(ds.resolution()) + "x" + std::to_string(ds.channels()) + ", " +
                      std::to_string(ds.c_dim()) + " labels" + (xflip ? ", x-flips" : "")},
      {"--detector weights", detectors.inception ? detectors.inception->key : "none"},
      {"--vgg16 weights", detectors.vgg16 ? detectors.vgg16->key : "none"},
      {"--classifiers weights", detectors.classifiers ? detectors.classifiers_key : "none"}};
  if (ds.size() > 0) items.push_back({"dataset content", dataset_resume_key(ds)});
  items.push_back({"PPL labels", ppl_labels ? "the run's --max-images subset of " + std::to_string(ppl_labels->size()) +
                                                  " images, " + dataset_resume_key(*ppl_labels)
                                            : std::string("the dataset")});
  return items;
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "calc_metrics",
                 "Calculate quality metrics (FID, KID, IS, PR, PPL; PGGAN's SWD, MS-SSIM; StyleGAN's LS) of a "
                 "generator snapshot, "
                 "as the official calc_metrics.py.",
                 metrics::with_metric_flags(
                     {{"network", "FILE.bin", "", "generator snapshot or converted network (required)"},
                      {"data", "PATH", "", "dataset to evaluate against (default: the run's, from training_options.json, or a converted official snapshot's training_set_kwargs; a relative path there is relative to where training ran)"},
                      {"mirror", "BOOL", "", "whether the dataset was augmented with x-flips in training: true or false, 1 or 0, as calc_metrics.py's (default: the run's, or a converted official snapshot's training_set_kwargs)"},
                      cli::data_from_files_flag(),
                      cli::integer("seed", "N", "0",
                                   "seed of the generated images' latents, labels and noise, PPL's paths, KID's "
                                   "subsets and SWD's numpy draws",
                                   0, cli::kSeedMax),
                      cli::device("device", "cpu", "where to run (one process per device: cuda:K+LOCAL_RANK)"),
                      cli::integer("gpus", "N", "", "calc_metrics.py's process count: here one process runs per device, launched by mpirun or torchrun (see the README), so N must be their count (1 alone)", 1, 1024),
                      cli::click_bool({"verbose", "", "", "calc_metrics.py's: false leaves out the progress lines (on by default; the results are printed either way)"})},
                     "fid50k_full"));
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  if (!args.has("network")) throw Error("--network is required (see --help)");
  const std::optional<bool> mirror =
      args.has("mirror") ? std::optional<bool>(cli::parse_bool(args.str("mirror"), "mirror")) : std::nullopt;
  const metrics::MetricRequest req = metrics::metric_request(args);
  // calc_metrics.py's --gpus N launches N processes; here the launcher has.
  if (args.has("gpus") && args.integer("gpus") != launched_world_size())
    throw Error("--gpus " + std::to_string(args.integer("gpus")) + " is calc_metrics.py's process count; here one process runs per device, "
                "launched by mpirun or torchrun (see the README), and " + cli::count_text(launched_world_size(), "process") +
                " " + (launched_world_size() == 1 ? "was" : "were") + " launched: leave --gpus out, or launch that many");
  const bool verbose = !args.has("verbose") || args.flag("verbose");
  // Launched as one of several processes: this one's group, its device, and
  // the flags every rank must share (the paths only as given or not: each
  // machine may hold the files elsewhere; the network and the data are
  // compared by content below).
  const ProcessGroup pg = join_process_group(args, args.device("device"), kPathFlags, {});
  const Device dev = pg.device;
  Communicator* comm = pg.world > 1 ? pg.comm.get() : nullptr;
  const std::string path = args.str("network");
  // The run folder beside the network: every rank reads its options; rank 0
  // alone appends the results there.
  const std::string run_dir = run_folder_of(path);

  // Every rank sets up (a rank that cannot, with its own files, stops every
  // rank with its line, not a hang).
  std::optional<LoadedGenerator> G;
  std::optional<metrics::MetricDetectors> detectors;
  std::unique_ptr<Dataset> ds;
  std::unique_ptr<Dataset> ppl_labels;  // the run's --max-images subset, for PPL's labels (else ds)
  DatasetOptions dopt;
  checked_on_every_rank(comm, [&] {
    const io::SafetensorsFile file = io::read_safetensors(path);
    // The results' files before hours of work (the official script learns at the end).
    if (!run_dir.empty() && pg.main()) metrics::check_metric_files_writable(req.names, run_dir);
    nlohmann::json run_options;
    std::string options_from;  // where run_options came from, for messages
    if (!run_dir.empty()) {
      options_from = run_dir + "/training_options.json";
      std::ifstream f(options_from);
      const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      run_options = io::parse_json_or_discarded(text);
      if (!run_options.is_object() && !args.has("data"))
        throw Error(options_from + " cannot be read as a JSON object; give --data (and --mirror)");
    } else if (!args.has("data")) {
      // A converted official snapshot outside a run folder: its
      // training_set_kwargs, as calc_metrics.py looks them up in the pickle.
      options_from = path + "'s training_set_kwargs (the official snapshot's)";
      run_options = official_training_set(file, options_from);
    }
    // The dataset: --data, else the run folder's options, as the official lookup.
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
        throw Error(data + ": no such file or folder; this --data path came from " + options_from +
                    " (a relative path is relative to where training ran): run from there, or give --data");
    } else if (run_options.is_object()) {
      throw Error("--data is required: " + options_from + " names no dataset (its \"data\" is " +
                  (run_options.contains("data") ? io::json_excerpt(run_options["data"]) : std::string("missing")) + ")");
    } else {
      throw Error("--data is required: " + path +
                  " is not in a run folder with training_options.json, and holds no official training_set_kwargs");
    }
    dopt.from_files = args.flag("data-from-files");
    if (mirror) dopt.xflip = *mirror;
    else if (!args.has("data") && run_options.contains("mirror") && run_options["mirror"].is_boolean())
      dopt.xflip = run_options["mirror"].get<bool>();

    G = load_any_generator(file, path, dev);
    // The detectors take RGB, grey repeated (as the official metric_utils
    // repeats it); other channel counts (a converted network) failed after the
    // whole real-image pass, with a warning calling them RGB before it.
    if (G->channels != 1 && G->channels != 3)
      throw Error(path + " makes images of " + std::to_string(G->channels) +
                  " channels; the metrics take grey or RGB images (the official ones fail on these too)");
    for (const std::string& m : req.names)
      if (metrics::metric_needs_mapping(m) && !G->paths)
        throw Error(m + (metrics::metric_needs_classifiers(m) ? " separates Z and W" : " interpolates in W or Z") +
                    " through a mapping network, which " + G->family + " has not (" + path + ")");
    // The detectors before the dataset: a wrong file is one line, before a large dataset loads.
    detectors = metrics::load_metric_detectors(req, dev);
    dopt.use_labels = G->c_dim > 0;  // as the official use_labels = (G.c_dim != 0)
    dopt.labels_for = "the conditional network " + path + " (c_dim " + std::to_string(G->c_dim) + ")";
    ds = open_dataset(data, dopt);
    // compute_ppl draws labels from the run's dataset_kwargs as they are
    // (metric_main.py resets max_size for the other metrics alone): the
    // subset the run trained on, which training_options.json records.
    const auto& sub = run_options.is_object() ? run_options.value("max_images", nlohmann::json()) : nlohmann::json();
    const auto& sub_seed = run_options.is_object() ? run_options.value("subset_seed", nlohmann::json()) : nlohmann::json();
    const bool wants_paths = std::any_of(req.names.begin(), req.names.end(), metrics::metric_needs_mapping);
    // As the official Dataset, a max_size not below the image count picks no
    // subset (it refused "--max-images N is more than its M images").
    const int64_t raw_images = ds->size() / (dopt.xflip ? 2 : 1);
    // (A run folder of before 2026-12-06 records no subset_seed: the whole dataset, as then.)
    if (!args.has("data") && G->c_dim > 0 && wants_paths && sub.is_number_unsigned() && !sub_seed.is_null() &&
        sub.get<uint64_t>() < static_cast<uint64_t>(raw_images)) {
      // numpy's RandomState(seed) takes 0 to 2**32 - 1 (the official fails on others).
      if (!sub_seed.is_number_unsigned() || sub_seed.get<uint64_t>() > UINT32_MAX)
        throw Error(options_from + ": the subset's seed " + io::json_excerpt(sub_seed) +
                    " is no seed numpy's RandomState takes (0 to 2**32 - 1), and PPL draws its labels from the subset; give --data");
      DatasetOptions subset = dopt;
      subset.max_images = sub.get<int64_t>();
      subset.subset_seed = sub_seed.get<uint32_t>();
      ppl_labels = open_dataset(data, subset);
    }
    if (ds->resolution() != G->resolution)
      throw Error("the dataset's images are " + std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) +
                  ", the generator's " + std::to_string(G->resolution) + "x" + std::to_string(G->resolution));
    if (G->c_dim > 0 && ds->c_dim() != G->c_dim)
      throw Error("the generator takes labels of " + std::to_string(G->c_dim) + " entries (c_dim), the dataset's have " +
                  std::to_string(ds->c_dim()) + (ds->has_label_vectors() ? " (label vectors)" : " (one-hot classes)"));
    // The official metrics repeat grey images to RGB on either side and go
    // on; so do these, but a grey/colour pair is rarely what was meant.
    if (ds->channels() != G->channels && pg.main())
      std::cerr << "calc_metrics: warning: " << path << " makes " << (G->channels == 1 ? "grey" : "RGB") << " images, but "
                << ds->name() << "'s are " << (ds->channels() == 1 ? "grey" : "RGB")
                << ": the metrics compare them with grey repeated to RGB, as the official code does\n";
  }, "could not set up, so no rank evaluates");
  // The ranks' networks, data and detectors must be the same by content:
  // each rank forms its share of the batches from its own copies.
  if (comm) check_same_run(*comm, made_run_items(path, *G, *ds, dopt.xflip, *detectors, ppl_labels.get()));

  // Rank 0 alone prints (the progress, each result's line) and appends.
  const std::function<void(const std::string&)> log =
      pg.main() ? [](const std::string& l) { std::cout << l << std::endl; } : std::function<void(const std::string&)>();
  std::optional<metrics::MetricContext> ctx;
  checked_on_every_rank(comm, [&] {  // check_metric's refusals (too few images) come alike on every rank
    ctx = metrics::metric_context(req, *detectors, *ds, G->images(*ds),
                                  G->paths ? G->paths(ppl_labels ? *ppl_labels : *ds) : metrics::PathSampler(),
                                  G->latents ? G->latents(*ds) : metrics::LatentSampler(),
                                  dev, static_cast<uint64_t>(args.integer("seed")), log);
  }, "could not set up, so no rank evaluates");
  if (verbose) ctx->feature_opt.progress = log;
  ctx->feature_opt.comm = comm;  // the ranks share every pass (metrics/sharding.h) and PR's distances
  // As calc_metrics.py: --verbose false prints the results (and the notes
  // on what the dataset passed over) alone.
  if (pg.main() && verbose)
    std::cout << "Dataset " << ds->name() << ": " << cli::count_text(static_cast<long long>(ds->size()), "image")
              << (dopt.xflip ? " (with x-flips)" : "") << (ds->from_files() ? ", read from their files" : "")
              << (pg.world > 1 ? "; " + std::to_string(pg.world) + " processes (" + pg.comm->backend() + ")" : "")
              << (run_dir.empty() ? "" : "; results also go to " + run_dir) << std::endl;
  // What the dataset passed over or converted (unreadable files skipped,
  // grey replicated...), as the trainers log it: the metrics are of what is left.
  if (pg.main())
    for (const std::string& line : ds->notes()) std::cout << line << "\n";
  // --metrics none: set up and checked as the official script does, nothing to evaluate.
  if (req.names.empty() && pg.main()) std::cout << "--metrics none: the network and dataset load; no metric to evaluate" << std::endl;
  metrics::evaluate_metrics_within(req, *ctx, pg.main() ? run_dir : "",
                                   run_dir.empty() ? path : fs::absolute(path).string(), log, verbose);
  // Every rank ends with rank 0: one whose line could not be appended ends
  // them all with a line naming it.
  if (comm) comm->barrier_within(dist_metrics_timeout_seconds(), "GF_DIST_METRICS_TIMEOUT");
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("calc_metrics", [&] { return run(argc, argv); }); }
