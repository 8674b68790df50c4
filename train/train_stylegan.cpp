// train_stylegan: trains a StyleGAN2 generator and discriminator (the official
// StyleGAN2-ADA train.py, with its adaptive discriminator augmentation: --aug,
// --p, --target, --augpipe as there). Flags become a TrainSpec and a
// StyleGAN2Trainer (train/stylegan2/trainer.h); run_training (train/training_loop.h)
// runs the ticks and writes the numbered run folder. --arch stylegan trains
// StyleGAN (v1) with progressive growing instead (train/stylegan/).
// This file holds the flags, the checks both share and the dispatch; the
// runs are run_stylegan2 (train/stylegan2/) and run_v1 (train/stylegan/).
//
// One process per device: under `mpirun -np N` or the torchrun-style
// environment (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) each
// process trains replica `rank` of N on cuda:K+LOCAL_RANK for --device cuda:K
// (on the CPU: the CPU), gradients averaged through NCCL on GPUs when built
// with it, else through the launcher's host group; rank 0 alone writes the
// run folder. --metrics are evaluated by every rank on its device, each
// taking a share of the feature passes (metrics/sharding.h), and rank 0
// forms and writes the results (the waits under GF_DIST_METRICS_TIMEOUT;
// engine/dist/communicator.h). Under torchrun
// itself (`torchrun --no_python ... train_stylegan ...`) with its default
// static rendezvous, its agent holds MASTER_PORT, so rank 0 listens on
// MASTER_PORT + 1 (or on GF_DIST_RENDEZVOUS_PORT when set), which must be
// free on the MASTER_ADDR machine.
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "data/dataset.h"
#include "engine/device.h"
#include "engine/dist/communicator.h"
#include "engine/dist/same_run.h"
#include "engine/error.h"
#include "metrics/inception_detector.h"
#include "metrics/training_metrics.h"
#include "train/checkpoint_state.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "train/setting_checks.h"
#include "train/process_group.h"
#include "train/run_metrics.h"
#include "train/stylegan/run_v1.h"
#include "train/stylegan2/augmentation_flags.h"
#include "train/stylegan2/configs.h"
#include "train/stylegan2/run_description.h"
#include "train/stylegan2/run_stylegan2.h"
#include "train/stylegan_flags.h"

namespace {

// The largest --batch and --batch-gpu (train_psp's cap too): far above the
// official configs' 64, below what makes a typo fill the memory.
constexpr long long kMaxBatch = 65536;

using namespace gf;

// --kimg and --tick: a trillion images, far beyond any run, and exact as a
// count of images in int64 (the loop counts images).
constexpr double kMaxKimg = 1e9;

// The flags that name input files and folders (compared by content once
// read, or read by rank 0 alone: the detectors, the metrics cache) and the
// draw logs: the ranks' flag_items count only whether they are given.
// --outdir is not compared: rank 0 alone writes it.
const std::set<std::string> kPathFlags = {"data", "resume", "detector", "vgg16", "metrics-cache", "record-draws",
                                          "replay-draws"};

// Why train.py's --nhwc, --nobench and --allow-tf32 are refused.
constexpr const char* kPerformanceSwitch = "is a PyTorch performance switch of train.py with no counterpart here: leave it out";

// train.py's --resume noresume is no resume at all: the flag is dropped. As
// click keeps an option's last value, a --resume X before a last --resume
// noresume goes too (it was kept, and the run resumed from X); noresume
// before a last --resume X leaves X. `noresume`: whether the last said so.
std::vector<char*> without_noresume(int argc, char** argv, bool& noresume) {
  std::vector<std::pair<int, int>> resumes;  // each --resume: its first argument and how many it takes
  for (int i = 0; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--resume=", 0) == 0) resumes.emplace_back(i, 1);
    else if (a == "--resume" && i + 1 < argc) resumes.emplace_back(i, 2), ++i;
  }
  auto value = [&](const std::pair<int, int>& r) {
    const std::string a = argv[r.first];
    return r.second == 1 ? a.substr(std::string("--resume=").size()) : std::string(argv[r.first + 1]);
  };
  const bool last_is_noresume = !resumes.empty() && value(resumes.back()) == "noresume";
  noresume = last_is_noresume;
  std::vector<char> dropped(size_t(argc), 0);
  for (const auto& r : resumes)
    if (last_is_noresume || value(r) == "noresume")
      for (int k = 0; k < r.second; ++k) dropped[size_t(r.first + k)] = 1;
  std::vector<char*> out;
  for (int i = 0; i < argc; ++i)
    if (!dropped[size_t(i)]) out.push_back(argv[i]);
  return out;
}

int run(int argc_given, char** argv_given) {
  bool noresume_given = false;
  std::vector<char*> kept_argv = without_noresume(argc_given, argv_given, noresume_given);
  const int argc = static_cast<int>(kept_argv.size());
  char** argv = kept_argv.data();
  cli::Args args(argc, argv, "train_stylegan",
                 "Train a StyleGAN2 network. Without --data it trains on Fashion-MNIST (Debian's dataset-fashion-mnist).",
                 metrics::with_metric_flags({{"outdir", "DIR", "runs", "where to make the run folder"},
                  {"arch", "NAME", "stylegan2", "stylegan2, or stylegan: StyleGAN (v1) with progressive growing (--cfg 1gpu, cpu, tiny)"},
                  {"data", "PATH", "", "image folder or .zip (default: Fashion-MNIST)"},
                  {"cfg", "NAME", "auto", "auto, stylegan2, paper256, paper512, paper1024, cifar, small, tiny"},
                  cli::integer("gpus", "N", "1", "data-parallel replicas on cuda:K .. cuda:K+N-1 for --device cuda:K (on the CPU: N replicas, for tests)", 1, 1024),
                  // Capped as train_psp's: --batch 2000000000 (a typo) was taken and grew past 1.5 GiB in 20 s.
                  cli::integer("batch", "N", "", "override the config's total batch size", 1, kMaxBatch),
                  cli::integer("batch-gpu", "N", "", "images per pass on one GPU; more passes accumulate gradients; 0: batch / gpus (default: the config's)", 0, kMaxBatch),
                  cli::number("kimg", "N", "", "train for this many thousand images; at least one minibatch is trained", cli::Range::at_least(0, kMaxKimg)),
                  cli::number("resume-kimg", "N", "", "--arch stylegan, with --resume of networks (a snapshot, a converted pickle): the kimg the schedule continues from, as the official resume_kimg (default 0)",
                              cli::Range::at_least(0, kMaxKimg)),
                  cli::resume_time_flag("--arch stylegan, "),
                  cli::number("gamma", "G", "", "override the R1 weight", cli::Range::at_least(0)),
                  cli::integer("snap", "TICKS", "", "snapshot and checkpoint interval in ticks; 0: only at the end (default: 50 as StyleGAN2-ADA's train.py; --arch stylegan: 10 as v1's training_loop, fakes every tick)", 0, cli::kIntMax),
                  cli::number("tick", "KIMG", "4", "progress line interval in thousand images (stylegan: default the schedule's)", cli::Range::above(0, kMaxKimg)),
                  cli::integer("seed", "N", "", "random seed (default 0 as StyleGAN2-ADA's train.py; --arch stylegan: 1000 as v1's)", 0, cli::kSeedMax),
                  cli::click_bool({"mirror", "", "",
                                   "add x-flipped copies of the data (--arch stylegan: flip each drawn real image "
                                   "with probability 1/2, as v1's mirror_augment)"}),
                  cli::click_bool({"cond", "", "", "train a class-conditional network from the dataset's labels"}),
                  {"aug", "MODE", kDefaultAug, "discriminator augmentation: ada (p adapts to --target), noaug, fixed (p = --p)"},
                  cli::number("p", "P", "", "augmentation probability for --aug fixed", cli::Range::at_least(0, 1)),
                  cli::number("target", "T", cli::number_text(kDefaultTarget), "ADA target for the mean sign of D's real logits (--aug ada)", cli::Range::at_least(0, 1)),
                  {"augpipe", "NAME", kDefaultAugpipe, "augmentation pipeline: blit, geom, color, filter, noise, cutout, bg, bgc, bgcf, bgcfn, bgcfnc"},
                  cli::integer("max-images", "N", "", "use at most N images of the dataset", 1, cli::kInt64Max),
                  cli::data_from_files_flag(),
                  cli::integer("freezed", "N", "", "Freeze-D for transfer learning: D's first N layers, from the top resolution, keep their weights (stylegan2)", 0, cli::kIntMax),
                  {"resume", "FILE.bin", "", "continue from a checkpoint.bin exactly (same data by content), or start from a snapshot's or converted networks (their sizes, not --cfg's; a generator alone: D from scratch, no --freezed)"},
                  {"record-draws", "DIR", "", "write every random draw of each minibatch to DIR/draws-mb<K>.bin (for a reference to replay)"},
                  cli::not_here("subset", "is train.py's; here it is --max-images N (the same images for the same --seed)"),
                  cli::not_here("workers", "sets train.py's DataLoader processes; here the data is decoded into memory before training, or with --data-from-files by every thread per minibatch: leave it out"),
                  cli::click_bool(cli::not_here("fp32", "turns off train.py's mixed precision (and its conv_clamp); ganforge trains in float32 with the config's clamp: leave it out")),
                  cli::click_bool(cli::not_here("nhwc", kPerformanceSwitch)),
                  cli::click_bool(cli::not_here("nobench", kPerformanceSwitch)),
                  cli::click_bool(cli::not_here("allow-tf32", kPerformanceSwitch)),
                  {"replay-draws", "PATHS", "", "take every random draw from these draw-log files or folders (comma-separated)"},
                  cli::with_short_name('n', {"dry-run", "", "", "print the training options and exit, making no run folder (stylegan2); -n as train.py's"}),
                  cli::device("device", "cpu", "where to train")}));
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  if (args.has("resume")) {
    const auto named = kOfficialResumeNames.find(args.str("resume"));
    std::error_code ec;
    if (named != kOfficialResumeNames.end() && !std::filesystem::exists(named->first, ec))
      throw Error("--resume " + named->first + " is train.py's name for its pickle " + named->second +
                  "; nothing is downloaded here: convert that pickle with tools/convert_weights.py import and give the .bin");
  }
  // The run folder and the draw logs must not join the dataset.
  cli::check_output_folders(args, {"outdir", "record-draws"}, {"data"});
  // Launched as one of several processes: this one's group and device.
  Device dev = args.device("device");  // checked before waiting for the other ranks
  // What this rank can check alone, before the rendezvous's wait (up to
  // GF_DIST_RENDEZVOUS_TIMEOUT for ranks that will never come).
  const int launched = launched_world_size();
  if (launched_by_launcher() && args.has("gpus") && args.integer("gpus") != launched)
    throw Error("--gpus " + std::to_string(args.integer("gpus")) + " does not match the " +
                cli::count_text(launched, "process") + " launched (one replica each; leave --gpus out)");
  if (args.str("arch") == "stylegan") refuse_multi_process_launch("train_stylegan --arch stylegan");
  const ProcessGroup pg = join_process_group(args, dev, kPathFlags, {"outdir"});
  const int world = pg.world;
  dev = pg.device;
  const std::shared_ptr<Communicator> comm = pg.comm;
  DatasetOptions dopt;
  dopt.use_labels = args.flag("cond");
  dopt.xflip = args.flag("mirror");
  dopt.from_files = args.flag("data-from-files");
  if (args.has("max-images")) dopt.max_images = args.integer("max-images");
  if (dopt.max_images > 0)
    dopt.subset_seed = data_subset_seed(run_seed(args), args.has("seed"),
                                        args.has("resume") ? args.str("resume") : "");
  const std::string arch = args.str("arch");
  if (arch != "stylegan2" && arch != "stylegan") throw Error("--arch must be stylegan2 or stylegan, got '" + arch + "'");
  if (arch == "stylegan") dopt.xflip = false;  // v1 mirrors by a flip per drawn image (mirror_augment)
  if (arch == "stylegan")
    for (const char* f : {"aug", "p", "target", "augpipe"})
      if (args.has(f)) throw Error(std::string("--") + f + " is StyleGAN2-ADA's augmentation; --arch stylegan trains without it");
  if (arch == "stylegan" && args.has("freezed")) throw Error("--freezed is StyleGAN2-ADA's Freeze-D; --arch stylegan trains without it");
  if (arch == "stylegan" && args.flag("dry-run")) throw Error("--dry-run is StyleGAN2-ADA's; --arch stylegan has none");
  if (!args.has("resume")) cli::check_resume_point(args, "", false);  // before the data is read
  if (arch == "stylegan2" && args.has("resume-kimg"))
    throw Error("--resume-kimg is the TensorFlow trainers' (train_pggan, --arch stylegan); StyleGAN2-ADA starts a resumed "
                "run's count at 0, as the official train.py, and a checkpoint.bin resumes at its own");
  if (arch == "stylegan2" && args.has("resume-time"))
    throw Error("--resume-time is the TensorFlow trainers' (train_pggan, --arch stylegan); StyleGAN2-ADA starts a resumed "
                "run's clock at 0, as the official train.py");
  if (arch == "stylegan2") {  // the flags' rules, before the data is read
    TrainSpec scratch;
    set_augmentation(args, scratch);
  }
  const metrics::MetricRequest metric_req = metrics::metric_request(args);  // the same check on every rank
  // With one process per device every rank evaluates its share of the
  // metrics, on its device, after each snapshot, and rank 0 forms and writes
  // the results; their waits are under GF_DIST_METRICS_TIMEOUT (not
  // GF_DIST_TIMEOUT). Its value is read here: a bad one stops every rank.
  const bool multi = world > 1 && !metric_req.names.empty();
  const double metrics_wait = multi ? dist_metrics_timeout_seconds() : 0;
  // Loaded before the data and the run folder: a bad file is one line, early
  // (on every rank: the first refusal's). Every rank loads them: each
  // evaluates its share of the items, so their weights must agree.
  std::optional<metrics::MetricDetectors> detectors;
  if (!metric_req.names.empty()) {
    checked_on_every_rank(comm.get(), [&] { detectors = metrics::load_metric_detectors(metric_req, dev); },
                          kRefusedMetrics);
    if (world > 1)
      check_same_run(*comm, {{"--detector weights", detectors->inception ? detectors->inception->key : "none"},
                             {"--vgg16 weights", detectors->vgg16 ? detectors->vgg16->key : "none"}});
  }
  const auto ds = open_dataset(args.str("data"), dopt);
  if (arch == "stylegan") {
    DatasetOptions v1opt = dopt;
    v1opt.xflip = args.flag("mirror");
    return run_v1(args, *ds, v1opt, dev, metric_req, detectors);
  }
  return run_stylegan2(args, *ds, dopt, dev, metric_req, detectors, world, comm, multi, metrics_wait, noresume_given);
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("train_stylegan", [&] { return run(argc, argv); }); }
