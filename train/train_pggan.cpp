// train_pggan: grows a PGGAN generator and discriminator from 4x4 (the
// official progressive_growing_of_gans train.py: WGAN-GP, the progressive
// schedule, Gs as an exponential average of G). Flags become a PGGANSpec and
// a PGGANTrainer (train/pggan/trainer.h); the shared tick loop
// (train/training_loop.h) writes the numbered run folder.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "engine/io/safetensors.h"
#include "engine/strings.h"
#include "models/pggan/config.h"
#include "models/network_file.h"
#include "train/checkpoint_state.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "train/setting_checks.h"
#include "data/dataset.h"
#include "train/process_group.h"
#include "train/pggan/checkpoint.h"
#include "train/pggan/configs.h"
#include "train/pggan/training_loop.h"
#include "train/report.h"
#include "train/run_dir.h"

namespace {

using namespace gf;

// --kimg and the schedule's kimg: a trillion images, far beyond any run, and
// exact as a count of images in int64.
constexpr double kMaxKimg = 1e9;

// --resume FILE: a checkpoint brings its own spec and seed (which the flags
// must then not change); a PGGAN snapshot or converted official pickle gives
// the networks' configs and weights, as the official resume of a pickle does.
// *note gets the line for the run log when the file holds no D.
std::unique_ptr<PGGANTrainer> resumed_trainer(const cli::Args& args, const std::string& path, const PGGANSetup& fresh,
                                              const Dataset& ds, std::string* note) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  if (resumes_checkpoint(file, path, kPGGANCheckpointFormat)) {
    cli::check_resume_point(args, path, true);
    PGGANSetup setup = pggan_checkpoint_setup(file, path, fresh.device);
    const PGGANSpec& k = setup.spec;
    cli::check_kept_on_resume(args, path,
                              {{"cfg", k.cfg},
                               {"seed", std::to_string(setup.seed)},
                               {"lod-training-kimg", cli::number_text(k.sched.lod_training_kimg)},
                               {"lod-transition-kimg", cli::number_text(k.sched.lod_transition_kimg)},
                               {"mirror", k.mirror_augment ? "true" : "false"}});
    if (args.has("kimg")) setup.spec.total_kimg = args.number("kimg");
    check_networks_fit_data(file, path, setup.G_kwargs.resolution, setup.G_kwargs.num_channels, setup.G_kwargs.label_size, ds);
    check_configs_fit_file<pggan::Generator, pggan::Discriminator>(file, path, setup.G_kwargs, setup.D_kwargs);
    auto t = built_from_file(path, [&] { return std::make_unique<PGGANTrainer>(setup, ds); });
    load_pggan_checkpoint(*t, file, path);
    *note = diverged_note(file, path);
    return t;
  }
  const PGGANSetup setup = pggan_bundle_setup(file, path, fresh);
  check_networks_fit_data(file, path, setup.G_kwargs.resolution, setup.G_kwargs.num_channels, setup.G_kwargs.label_size, ds);
  check_configs_fit_file<pggan::Generator, pggan::Discriminator>(file, path, setup.G_kwargs, setup.D_kwargs);
  auto t = built_from_file(path, [&] { return std::make_unique<PGGANTrainer>(setup, ds); });
  load_pggan_networks(*t, file, path);
  // The official train.py's resume_kimg: cur_nimg = int(resume_kimg * 1000), prev_lod -1.
  if (args.has("resume-kimg")) t->set_progress(static_cast<int64_t>(args.number("resume-kimg") * 1000), -1.0);
  *note = no_discriminator_note(file, path);
  return t;
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "train_pggan",
                 "Train a progressively growing GAN (PGGAN). Without --data it trains on Fashion-MNIST (Debian's "
                 "dataset-fashion-mnist), growing from 4x4 to 32x32.",
                 {{"outdir", "DIR", "runs", "where to make the run folder"},
                  {"data", "PATH", "", "image folder or .zip (default: Fashion-MNIST)"},
                  {"cfg", "NAME", "auto", "auto (cpu on the CPU, v2-1gpu on CUDA), v1-1gpu, v2-1gpu, v2-2gpus, v2-4gpus, v2-8gpus, cpu, tiny"},
                  cli::number("kimg", "N", "", "train until this many thousand images (default: the config's total_kimg)",
                              cli::Range::at_least(0, kMaxKimg)),
                  cli::number("resume-kimg", "N", "", "with --resume of networks (a snapshot, a converted pickle): the kimg the schedule continues from, as the official resume_kimg (default 0)",
                              cli::Range::at_least(0, kMaxKimg)),
                  cli::resume_time_flag(),
                  cli::number("lod-training-kimg", "N", "", "kimg at each resolution before the next fades in",
                              cli::Range::at_least(0, kMaxKimg)),
                  cli::number("lod-transition-kimg", "N", "", "kimg of each fade", cli::Range::at_least(0, kMaxKimg)),
                  cli::integer("snap", "TICKS", "10", "snapshot and checkpoint interval in ticks; 0: only at the end", 0, cli::kIntMax),
                  cli::integer("image-snap", "TICKS", "1", "fakes grid interval in ticks; 0: with the snapshots", 0, cli::kIntMax),
                  cli::number("tick", "KIMG", "", "fixed status line interval (default: the schedule's per resolution)",
                              cli::Range::above(0, kMaxKimg)),
                  cli::integer("seed", "N", "1000", "random seed (the official config's 1000 by default)", 0, cli::kSeedMax),
                  {"mirror", "", "", "mirror augment: flip each real image with probability 1/2"},
                  {"cond", "", "", "train a class-conditional (AC-GAN) network from the dataset's labels"},
                  cli::integer("max-images", "N", "", "use at most N images of the dataset", 1, cli::kInt64Max),
                  cli::data_from_files_flag(),
                  {"resume", "FILE.bin", "", "continue from a checkpoint.bin exactly (same data by content), or start from a PGGAN snapshot's or converted networks (a generator alone: D from scratch)"},
                  {"record-draws", "DIR", "", "write every random draw of each round to DIR/draws-mb<K>.bin, K its first image (for a reference to replay)"},
                  {"replay-draws", "PATHS", "", "take every random draw from these draw-log files or folders (comma-separated)"},
                  cli::device("device", "cpu", "where to train")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  refuse_multi_process_launch("train_pggan");
  // The run folder and the draw logs must not join the dataset.
  cli::check_output_folders(args, {"outdir", "record-draws"}, {"data"});
  const Device dev = args.device("device");
  if (!args.has("resume")) cli::check_resume_point(args, "", false);
  DatasetOptions dopt;
  dopt.use_labels = args.flag("cond");
  dopt.from_files = args.flag("data-from-files");
  if (args.has("max-images")) dopt.max_images = args.integer("max-images");
  if (dopt.max_images > 0)
    dopt.subset_seed = data_subset_seed(static_cast<uint64_t>(args.integer("seed")), args.has("seed"),
                                        args.has("resume") ? args.str("resume") : "");
  const auto ds = open_dataset(args.str("data"), dopt);
  std::string cfg = args.str("cfg");
  if (cfg == "auto") cfg = dev.is_cuda() ? "v2-1gpu" : "cpu";
  PGGANSpec spec = make_pggan_spec(cfg);
  if (args.has("kimg")) spec.total_kimg = args.number("kimg");
  if (args.has("lod-training-kimg")) spec.sched.lod_training_kimg = args.number("lod-training-kimg");
  if (args.has("lod-transition-kimg")) spec.sched.lod_transition_kimg = args.number("lod-transition-kimg");
  spec.mirror_augment = args.flag("mirror");
  const uint64_t seed = static_cast<uint64_t>(args.integer("seed"));
  if (!args.has("resume"))
    cli::check_cfg_resolution(spec.cfg, "fmap_base " + std::to_string(spec.fmap_base),
                              pggan::widest_resolution(spec.fmap_base, spec.fmap_decay, spec.fmap_max), ds->name(),
                              ds->resolution());
  const PGGANSetup fresh = make_pggan_setup(spec, *ds, seed, dev);
  std::string resume_note;
  std::unique_ptr<PGGANTrainer> trainer = args.has("resume") ? resumed_trainer(args, args.str("resume"), fresh, *ds, &resume_note)
                                                             : std::make_unique<PGGANTrainer>(fresh, *ds);
  if (auto log = draw_log_from_flags(args.str("record-draws"), args.str("replay-draws"), trainer->setup().seed))
    trainer->set_draw_log(std::move(log));
  const PGGANSetup& setup = trainer->setup();

  std::ostringstream desc;
  desc << ds->name() << "-pggan-" << setup.spec.cfg << (ds->c_dim() > 0 ? "-cond" : "")
       << (setup.spec.mirror_augment ? "-mirror" : "");
  RunDir run(args.str("outdir"), desc.str());
  run.write_json("training_options.json",
                 {{"spec", to_json(setup.spec)},
                  {"G_kwargs", pggan::to_json(setup.G_kwargs)},
                  {"D_kwargs", pggan::to_json(setup.D_kwargs)},
                  {"data", args.str("data")},
                  {"dataset", ds->name()},
                  {"resolution", ds->resolution()},
                  {"channels", ds->channels()},
                  {"c_dim", ds->c_dim()},
                  {"dataset_size", ds->size()},
                  {"total_kimg", setup.spec.total_kimg},
                  {"seed", setup.seed},
                  {"device", dev.str()},
                  {"device_name", device_description(dev)},
                  {"resume", args.str("resume")},
                  {"resume_kimg", trainer->cur_nimg() / 1000.0},
                  {"resume_time", args.has("resume-time") ? args.number("resume-time") : 0.0},
                  {"snap", args.integer("snap")},
                  {"image_snap", args.integer("image-snap")},
                  {"tick", args.has("tick") ? nlohmann::json(args.number("tick")) : nlohmann::json()},
                  {"max_images", dopt.max_images > 0 ? nlohmann::json(dopt.max_images) : nlohmann::json()}});
  // A resumed run's report continues the curves of the run it came from.
  // (Networks resumed at --resume-kimg carry none: their folder's ticks run past the snapshot.)
  if (args.has("resume")) carry_earlier_stats(run.path(), args.str("resume"), args.has("resume-kimg") ? 0 : trainer->cur_nimg());
  run.log("Run folder " + run.path() + ": " + ds->name() + " (" + cli::count_text(static_cast<long long>(ds->size()), "image") + ", " +
          std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) + "), cfg " + setup.spec.cfg +
          ", from " + std::to_string(setup.spec.sched.lod_initial_resolution) + "x" +
          std::to_string(setup.spec.sched.lod_initial_resolution) + " (" +
          g_format(setup.spec.sched.lod_training_kimg) + " + " + g_format(setup.spec.sched.lod_transition_kimg) +
          " kimg per resolution), " + g_format(setup.spec.total_kimg) + " kimg, G " +
          std::to_string(trainer->G().num_params()) + " params, D " + std::to_string(trainer->D().num_params()) +
          " params, device " + dev.str() +
          (args.has("resume") ? ", resumed from " + args.str("resume") + " at kimg " + g_format(trainer->cur_nimg() / 1000.0)
                              : std::string()));
  if (!resume_note.empty()) run.log(resume_note);
  // As train.py's TrainingSchedule (phase_dur 0: phase 0 for ever), which a
  // user asking for no time per resolution may not expect.
  const ScheduleSpec& sched = setup.spec.sched;
  if (sched.lod_training_kimg + sched.lod_transition_kimg == 0 && sched.lod_initial_resolution < ds->resolution())
    run.log(std::string("warning: ") +
            (args.has("resume") ? "lod_training_kimg and lod_transition_kimg (a resumed checkpoint's, or the flags') are"
                                : "--lod-training-kimg and --lod-transition-kimg are") +
            " both 0: as the official schedule, the run never grows and trains at " +
            std::to_string(sched.lod_initial_resolution) + "x" + std::to_string(sched.lod_initial_resolution) + " only" +
            (args.has("resume") ? std::string()
                                : "; give either a value above 0 to grow to " + std::to_string(ds->resolution()) + "x" +
                                      std::to_string(ds->resolution())));
  // What the loader skipped or converted, by file (data/dataset.h).
  for (const std::string& line : ds->notes()) run.log(line);

  LoopOptions lo;
  lo.total_kimg = setup.spec.total_kimg;
  if (args.has("resume-time")) lo.resume_sec = args.number("resume-time");
  lo.snap_ticks = static_cast<int>(args.integer("snap"));
  lo.image_snap_ticks = static_cast<int>(args.integer("image-snap"));
  lo.progress = isatty(fileno(stdout));
  std::optional<double> tick;
  if (args.has("tick")) tick = args.number("tick");
  PGGANRun r(*trainer, tick);
  run_training(r, run, lo);
  // train.py's marker of a finished run (a killed one has none).
  write_file_atomic(run.path() + "/_training-done.txt", "");
  run.log("Done: " + run.path());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("train_pggan", [&] { return run(argc, argv); }); }
