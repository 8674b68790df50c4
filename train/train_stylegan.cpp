// train_stylegan: trains a StyleGAN2 generator and discriminator (the official
// StyleGAN2-ADA train.py without augmentation). Flags become a TrainSpec and a
// StyleGAN2Trainer (train/trainer.h); run_training (train/training_loop.h)
// runs the ticks and writes the numbered run folder.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "engine/io/safetensors.h"
#include "train/stylegan2/checkpoint.h"
#include "train/cli.h"
#include "train/stylegan2/configs.h"
#include "train/dataset.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/stylegan2/training_loop.h"

namespace {

using namespace gf;

// --kimg and --tick: a trillion images, far beyond any run, and exact as a
// count of images in int64 (the loop counts images).
constexpr double kMaxKimg = 1e9;

// The trainer for --resume FILE: a checkpoint brings its own spec and seed
// (which the flags must then not change); any other network bundle gives the
// networks' configs and weights, as the official --resume of a pickle does.
std::unique_ptr<StyleGAN2Trainer> resumed_trainer(const cli::Args& args, const std::string& path,
                                                  const TrainerSetup& fresh, const Dataset& ds) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  if (is_checkpoint(file)) {
    for (const char* f : {"cfg", "gpus", "batch", "batch-gpu", "gamma", "seed"})
      if (args.has(f)) throw Error(std::string("--") + f + " cannot change a run resumed from a checkpoint (" + path + ")");
    TrainerSetup setup = checkpoint_setup(file, path, fresh.device);
    if (args.has("kimg")) setup.spec.kimg = args.number("kimg");
    auto t = std::make_unique<StyleGAN2Trainer>(setup, ds);
    load_checkpoint(*t, file, path);
    return t;
  }
  auto t = std::make_unique<StyleGAN2Trainer>(bundle_setup(file, path, fresh), ds);
  load_networks(*t, file, path);
  return t;
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "train_stylegan",
                 "Train a StyleGAN2 network. Without --data it trains on Fashion-MNIST (Debian's dataset-fashion-mnist).",
                 {{"outdir", "DIR", "runs", "where to make the run folder"},
                  {"data", "PATH", "", "image folder or .zip (default: Fashion-MNIST)"},
                  {"cfg", "NAME", "auto", "auto, stylegan2, paper256, paper512, paper1024, cifar, small, tiny"},
                  cli::integer("gpus", "N", "1", "data-parallel replicas on cuda:K .. cuda:K+N-1 for --device cuda:K (on the CPU: N replicas, for tests)", 1, 1024),
                  cli::integer("batch", "N", "", "override the config's total batch size", 1, cli::kIntMax),
                  cli::integer("batch-gpu", "N", "", "images per pass on one GPU; more passes accumulate gradients; 0: batch / gpus (default: the config's)", 0, cli::kIntMax),
                  cli::number("kimg", "N", "", "train for this many thousand images; at least one minibatch is trained", cli::Range::at_least(0, kMaxKimg)),
                  cli::number("gamma", "G", "", "override the R1 weight", cli::Range::at_least(0)),
                  cli::integer("snap", "TICKS", "50", "snapshot interval in ticks; 0: only at the end", 0, cli::kIntMax),
                  cli::number("tick", "KIMG", "4", "progress line interval in thousand images", cli::Range::above(0, kMaxKimg)),
                  cli::integer("seed", "N", "0", "random seed", 0, cli::kSeedMax),
                  {"mirror", "", "", "add x-flipped copies of the data"},
                  {"cond", "", "", "train a class-conditional network from the dataset's labels"},
                  cli::integer("max-images", "N", "", "use at most N images of the dataset", 1, cli::kInt64Max),
                  {"resume", "FILE.bin", "", "continue from a checkpoint.bin exactly, or start from a snapshot's weights"},
                  {"record-draws", "DIR", "", "write every random draw of each minibatch to DIR/draws-mb<K>.bin (for a reference to replay)"},
                  {"replay-draws", "PATHS", "", "take every random draw from these draw-log files or folders (comma-separated)"},
                  cli::device("device", "cpu", "where to train")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  const Device dev = args.device("device");
  DatasetOptions dopt;
  dopt.use_labels = args.flag("cond");
  dopt.xflip = args.flag("mirror");
  if (args.has("max-images")) dopt.max_images = args.integer("max-images");
  const auto ds = open_dataset(args.str("data"), dopt);
  TrainSpec spec = make_train_spec(args.str("cfg"), ds->resolution(), static_cast<int>(args.integer("gpus")));
  if (args.has("batch")) {
    spec.batch = static_cast<int>(args.integer("batch"));
    spec.batch_gpu = 0;  // as train.py: a given batch is split evenly, one pass per GPU
  }
  if (args.has("batch-gpu")) spec.batch_gpu = static_cast<int>(args.integer("batch-gpu"));
  if (args.has("gamma")) spec.gamma = args.number("gamma");
  if (args.has("kimg")) spec.kimg = args.number("kimg");
  const uint64_t seed = static_cast<uint64_t>(args.integer("seed"));  // in [0, 2^32-1]
  const TrainerSetup fresh = make_trainer_setup(spec, *ds, seed, dev);
  std::unique_ptr<StyleGAN2Trainer> trainer =
      args.has("resume") ? resumed_trainer(args, args.str("resume"), fresh, *ds) : std::make_unique<StyleGAN2Trainer>(fresh, *ds);
  if (args.has("record-draws") && args.has("replay-draws"))
    throw Error("--record-draws and --replay-draws exclude each other");
  if (args.has("record-draws")) trainer->set_draw_log(DrawLog::recorder(args.str("record-draws")));
  if (args.has("replay-draws")) {
    std::vector<std::string> paths;
    std::stringstream list(args.str("replay-draws"));
    for (std::string p; std::getline(list, p, ',');)
      if (!p.empty()) paths.push_back(p);
    trainer->set_draw_log(DrawLog::replayer(paths));
  }
  const TrainerSetup& setup = trainer->setup();
  const bool cond = ds->c_dim() > 0;

  std::ostringstream desc;
  desc << ds->name() << "-" << setup.spec.cfg << (cond ? "-cond" : "") << (dopt.xflip ? "-mirror" : "");
  RunDir run(args.str("outdir"), desc.str());
  nlohmann::json options = {{"spec", to_json(setup.spec)},
                            {"G_kwargs", stylegan2::to_json(setup.G_kwargs)},
                            {"D_kwargs", stylegan2::to_json(setup.D_kwargs)},
                            {"data", args.str("data")},
                            {"dataset", ds->name()},
                            {"resolution", ds->resolution()},
                            {"channels", ds->channels()},
                            {"c_dim", ds->c_dim()},
                            {"dataset_size", ds->size()},
                            {"total_kimg", setup.spec.kimg},
                            {"seed", setup.seed},
                            {"device", dev.str()},
                            {"device_name", device_description(dev) + (trainer->num_replicas() > 1
                                                                          ? " x " + std::to_string(trainer->num_replicas())
                                                                          : std::string())},
                            {"resume", args.str("resume")},
                            {"resume_kimg", trainer->cur_nimg() / 1000.0},
                            {"snap", args.integer("snap")},
                            {"tick", args.number("tick")},
                            {"max_images", dopt.max_images > 0 ? nlohmann::json(dopt.max_images) : nlohmann::json()}};
  run.write_json("training_options.json", options);
  // A resumed run's report continues the curves of the run it came from.
  if (args.has("resume")) carry_earlier_stats(run.path(), args.str("resume"), trainer->cur_nimg());
  run.log("Run folder " + run.path() + ": " + ds->name() + " (" + std::to_string(ds->size()) + " images, " +
          std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) + "), cfg " + setup.spec.cfg +
          ", batch " + std::to_string(setup.spec.batch) + " (" +
          std::to_string(setup.spec.gpus) + " replicas x " +
          std::to_string(setup.spec.batch / setup.spec.gpus / batch_per_pass(setup.spec)) + " passes of " +
          std::to_string(batch_per_pass(setup.spec)) + "), G " + std::to_string(trainer->G().num_params()) +
          " params, D " + std::to_string(trainer->D().num_params()) + " params, device " + dev.str() +
          (trainer->num_replicas() > 1 && dev.is_cuda() ? " to " + trainer->device(trainer->num_replicas() - 1).str() : std::string()) +
          (args.has("resume") ? ", resumed from " + args.str("resume") + " at kimg " +
                                    std::to_string(trainer->cur_nimg() / 1000.0)
                              : std::string()));
  // What the loader skipped or converted, by file (train/dataset.h).
  for (const std::string& line : ds->notes()) run.log(line);

  LoopOptions lo;
  lo.total_kimg = setup.spec.kimg;
  lo.tick_kimg = args.number("tick");
  lo.snap_ticks = static_cast<int>(args.integer("snap"));
  lo.progress = isatty(fileno(stdout));
  run_training(*trainer, run, lo);
  run.log("Done: " + run.path());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("train_stylegan", [&] { return run(argc, argv); }); }
