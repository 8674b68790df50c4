#include "train/stylegan2/run_stylegan2.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "engine/dist/same_run.h"
#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops.h"
#include "metrics/generators.h"
#include "metrics/perceptual_path_length.h"
#include "models/stylegan2/config.h"
#include "models/stylegan2/generator.h"
#include "train/draw_log.h"
#include "train/process_group.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/run_metrics.h"
#include "train/setting_checks.h"
#include "train/stylegan2/augmentation_flags.h"
#include "train/stylegan2/configs.h"
#include "train/stylegan2/resume.h"
#include "train/stylegan2/run_description.h"
#include "train/stylegan2/run_items.h"
#include "train/stylegan2/trainer.h"
#include "train/stylegan2/training_loop.h"
#include "train/stylegan_flags.h"

namespace gf {

int run_stylegan2(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt, Device dev,
                  const metrics::MetricRequest& metric_req, const std::optional<metrics::MetricDetectors>& detectors,
                  int world, const std::shared_ptr<Communicator>& comm, bool multi, double metrics_wait,
                  bool noresume_given) {
  // The dataset loader takes 4x4 (PGGAN and v1 start there); StyleGAN2's D ends in a 4x4 block after one at 8x8.
  if (ds.resolution() < 8)
    throw Error(ds.name() + ": images of " + std::to_string(ds.resolution()) + "x" + std::to_string(ds.resolution()) +
                "; StyleGAN2 trains at 8x8 or more (--arch stylegan and train_pggan start at 4x4)");
  TrainSpec spec =
      make_train_spec(args.str("cfg"), ds.resolution(), world > 1 ? world : static_cast<int>(args.integer("gpus")));
  if (args.has("batch")) {
    spec.batch = static_cast<int>(args.integer("batch"));
    spec.batch_gpu = 0;  // as train.py: a given batch is split evenly, one pass per GPU
  }
  if (args.has("batch-gpu")) {
    spec.batch_gpu = static_cast<int>(args.integer("batch-gpu"));
    // A config's pass size is capped at the batch per replica; a given one
    // larger than that is refused, as StyleGAN3's train.py refuses it. (With
    // --resume the batch may be the checkpoint's, which the kept-flags check
    // compares --batch-gpu against instead.)
    const int per_replica = spec.batch / std::max(spec.gpus, 1);
    if (!args.has("resume") && spec.batch_gpu > per_replica)
      throw Error("--batch-gpu " + std::to_string(spec.batch_gpu) + " is more than the batch per replica, " +
                  std::to_string(per_replica) + " (" + std::to_string(spec.batch) + " over " +
                  cli::count_text(spec.gpus, "replica") + ")");
  }
  if (args.has("gamma")) spec.gamma = args.number("gamma");
  if (args.has("kimg")) spec.kimg = args.number("kimg");
  set_augmentation(args, spec);
  const uint64_t seed = run_seed(args);
  if (!args.has("resume"))
    cli::check_cfg_resolution(spec.cfg, "channel_base " + std::to_string(spec.channel_base), spec.channel_base,
                              ds.name(), ds.resolution());
  TrainerSetup fresh = make_trainer_setup(spec, ds, seed, dev);
  if (args.has("freezed")) fresh.D_kwargs.freeze_layers = static_cast<int>(args.integer("freezed"));
  if (world > 1) fresh.comm = comm;
  // The flags agreed at the start; what they made must too (the data and the
  // checkpoint by content, the networks' tensors: the gradients' sizes).
  const auto agree = [&](StyleGAN2Trainer& t) {
    if (world > 1) check_same_run(*comm, built_run_items(t, ds, args.str("resume")));
  };
  const bool dry_run = args.flag("dry-run");
  // A dry run builds no networks (as train.py's, which returns before them:
  // every replica's G, D, G_ema and Adam state, 128 of them at 2048 px, took
  // the machine's memory), unless --resume's file sets the options.
  std::unique_ptr<StyleGAN2Trainer> trainer;
  std::string resume_note;
  if (args.has("resume")) {
    trainer = resumed_trainer(args, args.str("resume"), fresh, ds, agree, &resume_note);
  } else if (!dry_run) {
    trainer = std::make_unique<StyleGAN2Trainer>(fresh, ds);
    agree(*trainer);
  } else {
    StyleGAN2Trainer::check_setup(fresh, ds);  // what building would refuse
  }
  if (trainer) {
    if (auto log = draw_log_from_flags(args.str("record-draws"), args.str("replay-draws"), trainer->setup().seed))
      trainer->set_draw_log(std::move(log));
  } else {  // a dry run: a draw log to replay must open (one to record is not made: no files)
    draw_log_from_flags("", args.str("replay-draws"), fresh.seed);
  }
  const TrainerSetup& setup = trainer ? trainer->setup() : fresh;
  const bool is_main = trainer ? trainer->is_main() : world == 1 || comm->rank() == 0;
  const bool cond = ds.c_dim() > 0;
  LoopOptions lo;
  lo.total_kimg = setup.spec.kimg;
  lo.tick_kimg = args.number("tick");
  lo.snap_ticks = snapshot_ticks(args, false);
  lo.progress = isatty(fileno(stdout)) && world == 1;  // mpirun forwards output line by line
  if (world > 1) lo.agree_stop = [comm] { agree_on_stop(*comm); };
  std::shared_ptr<RunMetrics> run_metrics;
  if (!metric_req.names.empty())
    checked_on_every_rank(comm.get(), [&] {
      // G_ema of replica 0 on the run's first device (this rank's replica:
      // the same bits on every rank).
      if (!trainer) {  // a dry run: the metrics' flags and files checked, nothing evaluated
        const metrics::ImageGenerator no_images = [](int64_t, gf::Generator&) -> Tensor {
          throw Error("a dry run generates no image");
        };
        // The metrics' set-up probes one sample's size (PPL's crop against
        // VGG16's least side, LS's against the classifiers'): blank images
        // of the run's shape (G makes the dataset's), as the paths and the
        // LS samples shape them; z and w are not looked at there.
        const int64_t res = ds.resolution(), channels = ds.channels();
        const metrics::PathSampler no_paths = [res, channels](int64_t n, const metrics::PplSpec& spec, gf::Generator&) {
          return metrics::crop_and_downsample(zeros({2 * n, channels, res, res}), spec.crop, res / 256);
        };
        const metrics::LatentSampler no_latents = [res, channels](int64_t n, gf::Generator&) {
          return metrics::LatentSample{zeros({n, 1}), zeros({n, 1}), zeros({n, channels, res, res})};
        };
        run_metrics = prepare_metrics(
            args, metric_req, *detectors, ds, dopt, [&](const Dataset&) { return no_images; },
            [&](const Dataset&) { return no_paths; }, [&](const Dataset&) { return no_latents; }, dev, comm.get());
        return;
      }
      stylegan2::Generator& G_ema = trainer->G_ema();
      const Device gdev = trainer->setup().device;
      run_metrics = prepare_metrics(
          args, metric_req, *detectors, ds, dopt,
          [&G_ema, gdev](const Dataset& d) { return metrics::stylegan2_images(G_ema, d, gdev); },
          [&G_ema, gdev](const Dataset& d) { return metrics::stylegan2_paths(G_ema, d, gdev); },
          [&G_ema, gdev](const Dataset& d) { return metrics::stylegan2_latents(G_ema, d, gdev); }, dev, comm.get());
    }, kRefusedMetrics);
  // After each snapshot the other ranks take their share of the metrics'
  // passes (rank 0 in after_snapshot), then every rank meets rank 0 once it
  // has written the last result: no rank waits in the next step's
  // collective, under GF_DIST_TIMEOUT.
  if (multi)
    lo.meet_after_snapshot = [comm, metrics_wait, run_metrics, main = is_main] {
      if (!main) evaluate_shared(*run_metrics, "", "");
      comm->barrier_within(metrics_wait, "GF_DIST_METRICS_TIMEOUT");
    };
  if (!is_main) {  // another rank: the collectives, no files
    if (!dry_run) run_training(*trainer, nullptr, lo);
    return 0;
  }

  const std::string desc = stylegan2_run_description(args, ds, dopt, setup, noresume_given);
  const nlohmann::json options = {{"spec", to_json(setup.spec)},
                            {"G_kwargs", stylegan2::to_json(setup.G_kwargs)},
                            {"D_kwargs", stylegan2::to_json(setup.D_kwargs)},
                            {"data", args.str("data")},
                            {"dataset", ds.name()},
                            {"resolution", ds.resolution()},
                            {"channels", ds.channels()},
                            {"c_dim", ds.c_dim()},
                            {"dataset_size", ds.size()},
                            {"total_kimg", setup.spec.kimg},
                            {"seed", setup.seed},
                            {"device", dev.str()},
                            {"device_name", device_description(dev) + (setup.spec.gpus > 1
                                                                          ? " x " + std::to_string(setup.spec.gpus)
                                                                          : std::string())},
                            {"processes", world},
                            {"process_group", world > 1 ? comm->backend() : std::string("none")},
                            {"resume", args.str("resume")},
                            {"resume_kimg", trainer ? trainer->cur_nimg() / 1000.0 : 0.0},
                            {"snap", snapshot_ticks(args, false)},
                            {"tick", args.number("tick")},
                            {"max_images", dopt.max_images > 0 ? nlohmann::json(dopt.max_images) : nlohmann::json()},
                            {"subset_seed", dopt.max_images > 0 ? nlohmann::json(dopt.subset_seed) : nlohmann::json()},
                            {"mirror", dopt.xflip},
                            {"cond", dopt.use_labels},
                            {"metrics", metric_req.names}};
  if (dry_run) {  // train.py --dry-run: the options and the summary it prints, and no run folder
    std::cout << "Training options:\n" << io::json_text(options, 2) << "\n\n"
              << "Output directory:   " << next_run_path(args.str("outdir"), desc) << "\n"
              << "Training data:      " << (args.str("data").empty() ? ds.name() : args.str("data")) << "\n"
              << "Training duration:  " << cli::number_text(setup.spec.kimg) << " kimg\n"
              << "Number of GPUs:     " << setup.spec.gpus << "\n"
              << "Number of images:   " << ds.num_images() << "\n"  // train.py's max_size: before x-flips
              << "Image resolution:   " << ds.resolution() << "\n"
              << "Conditional model:  " << (cond ? "True" : "False") << "\n"
              << "Dataset x-flips:    " << (dopt.xflip ? "True" : "False") << "\n\n"
              << "Dry run; exiting." << std::endl;
    return 0;
  }
  RunDir run(args.str("outdir"), desc);
  run.write_json("training_options.json", options);
  // A resumed run's report continues the curves of the run it came from.
  if (args.has("resume")) carry_earlier_stats(run.path(), args.str("resume"), trainer->cur_nimg());
  run.log("Run folder " + run.path() + ": " + ds.name() + " (" +
          cli::count_text(static_cast<long long>(ds.size()), "image") + ", " + std::to_string(ds.resolution()) + "x" +
          std::to_string(ds.resolution()) + "), cfg " + setup.spec.cfg + ", batch " + std::to_string(setup.spec.batch) +
          " (" + cli::count_text(setup.spec.gpus, "replica") + " x " +
          cli::count_text(setup.spec.batch / setup.spec.gpus / batch_per_pass(setup.spec), "pass") + " of " +
          std::to_string(batch_per_pass(setup.spec)) + "), G " + std::to_string(trainer->G().num_params()) +
          " params, D " + std::to_string(trainer->D().num_params()) + " params" +
          (setup.D_kwargs.freeze_layers > 0
               ? " (Freeze-D: its first " + std::to_string(setup.D_kwargs.freeze_layers) + " layers fixed)"
               : std::string()) +
          ", augmentation " + augmentation_text(setup.spec) + ", device " + dev.str() +
          (trainer->num_replicas() > 1 && dev.is_cuda() ? " to " + trainer->device(trainer->num_replicas() - 1).str()
                                                        : std::string()) +
          (world > 1 ? ", " + std::to_string(world) + " processes (" + comm->backend() + ")" : std::string()) +
          (args.has("resume")
               ? ", resumed from " + args.str("resume") + " at kimg " + std::to_string(trainer->cur_nimg() / 1000.0)
               : std::string()));
  if (!resume_note.empty()) run.log(resume_note);
  // What the loader skipped or converted, by file (data/dataset.h).
  for (const std::string& line : ds.notes()) run.log(line);

  if (run_metrics) lo.after_snapshot = metrics_hook(run_metrics, run);
  run_training(*trainer, run, lo);
  run.log("Done: " + run.path());
  return 0;
}

}  // namespace gf
