#include "train/stylegan/run_v1.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "engine/strings.h"
#include "metrics/generators.h"
#include "models/network_file.h"
#include "models/pggan/config.h"
#include "models/stylegan/config.h"
#include "models/stylegan/network_file.h"
#include "models/stylegan/networks.h"
#include "train/checkpoint_state.h"
#include "train/draw_log.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/run_metrics.h"
#include "train/setting_checks.h"
#include "train/stylegan/configs.h"
#include "train/stylegan/trainer.h"
#include "train/stylegan/training_loop.h"
#include "train/stylegan_flags.h"
#include "train/training_loop.h"

namespace gf {

int run_v1(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt, Device dev,
           const metrics::MetricRequest& metric_req, const std::optional<metrics::MetricDetectors>& detectors) {
  for (const char* f : {"batch", "batch-gpu"})
    if (args.has(f))
      throw Error(std::string("--") + f + " applies to --arch stylegan2; v1's minibatch comes from the schedule");
  if (args.integer("gpus") != 1) throw Error("--arch stylegan trains on one device (--gpus 1)");
  std::string cfg = args.str("cfg");
  if (cfg == "auto") cfg = dev.is_cuda() ? "1gpu" : "cpu";
  StyleGANSpec spec = make_stylegan_spec(cfg);
  uint64_t seed = run_seed(args);
  io::SafetensorsFile resume;
  const bool from_checkpoint = args.has("resume") && [&] {
    resume = io::read_safetensors(args.str("resume"));
    check_resume_family(resume, args.str("resume"), stylegan::kFamily);
    return resumes_checkpoint(resume, args.str("resume"), kStyleGANCheckpointFormat);
  }();
  cli::check_resume_point(args, args.str("resume"), from_checkpoint);
  if (from_checkpoint) {
    spec = stylegan_checkpoint_spec(resume, args.str("resume"), &seed);
    cli::check_kept_on_resume(args, args.str("resume"),
                              {{"cfg", spec.cfg},
                               {"gamma", cli::number_text(spec.r1_gamma)},
                               {"seed", std::to_string(seed)},
                               {"mirror", spec.mirror_augment ? "true" : "false"}});
  } else {
    if (args.has("gamma")) spec.r1_gamma = args.number("gamma");
    spec.mirror_augment = dopt.xflip;
  }
  // The file's networks train, whatever --cfg's sizes (a checkpoint's spec already has them).
  if (args.has("resume")) spec = stylegan_bundle_spec(resume, args.str("resume"), spec, ds);
  // A checkpoint keeps its run's length and preset name, as PGGAN's does; --kimg extends it.
  if (args.has("kimg")) spec.total_kimg = args.number("kimg");
  const double total_kimg = spec.total_kimg;
  if (!args.has("resume")) {
    const auto& g = spec.G_kwargs;
    cli::check_cfg_resolution(spec.cfg, "fmap_base " + std::to_string(g.fmap_base),
                              pggan::widest_resolution(g.fmap_base, g.fmap_decay, g.fmap_max), ds.name(),
                              ds.resolution());
  }
  if (args.has("resume"))
    check_configs_fit_file<stylegan::Generator, stylegan::Discriminator>(resume, args.str("resume"), spec.G_kwargs,
                                                                         spec.D_kwargs);
  // Mirroring is the official mirror_augment (a flip drawn per image), not extra copies.
  StyleGANTrainer trainer(spec, ds, seed, dev);
  std::string resume_note;
  if (auto log = draw_log_from_flags(args.str("record-draws"), args.str("replay-draws"), trainer.seed()))
    trainer.set_draw_log(std::move(log));
  if (from_checkpoint) {
    load_stylegan_checkpoint(trainer, resume, args.str("resume"));
    resume_note = diverged_note(resume, args.str("resume"));
  } else if (args.has("resume")) {
    // As StyleGAN2 and PGGAN: a generator alone fills G and Gs, and D starts afresh (logged).
    resume_note = no_discriminator_note(resume, args.str("resume"));
    load_module(trainer.G(), network_state(resume, args.str("resume"), "G"), args.str("resume"), "G");
    load_module(trainer.Gs(), network_state(resume, args.str("resume"), "G_ema"), args.str("resume"), "G_ema");
    if (resume_note.empty())
      load_module(trainer.D(), network_state(resume, args.str("resume"), "D"), args.str("resume"), "D");
    // The official training_loop's resume_kimg: cur_nimg = int(resume_kimg * 1000), prev_lod -1.
    if (args.has("resume-kimg")) trainer.set_progress(static_cast<int64_t>(args.number("resume-kimg") * 1000), -1.0);
  }
  std::shared_ptr<RunMetrics> run_metrics;
  if (detectors) {
    DatasetOptions v1data = dopt;
    v1data.xflip = false;
    const stylegan::Generator& Gs = trainer.Gs();
    run_metrics = prepare_metrics(args, metric_req, *detectors, ds, v1data,
                                  [&Gs, dev](const Dataset& d) { return metrics::stylegan_images(Gs, d, dev); },
                                  [&Gs, dev](const Dataset& d) { return metrics::stylegan_paths(Gs, d, dev); },
                                  [&Gs, dev](const Dataset& d) { return metrics::stylegan_latents(Gs, d, dev); }, dev);
  }
  std::ostringstream desc;
  desc << ds.name() << "-stylegan-" << spec.cfg << (ds.c_dim() > 0 ? "-cond" : "")
       << (spec.mirror_augment ? "-mirror" : "");
  RunDir run(args.str("outdir"), desc.str());
  run.write_json("training_options.json",
                 {{"arch", "stylegan"},
                  {"spec", to_json(trainer.spec())},
                  {"G_kwargs", stylegan::to_json(trainer.spec().G_kwargs)},
                  {"D_kwargs", stylegan::to_json(trainer.spec().D_kwargs)},
                  {"data", args.str("data")},
                  {"dataset", ds.name()},
                  {"resolution", ds.resolution()},
                  {"channels", ds.channels()},
                  {"c_dim", ds.c_dim()},
                  {"dataset_size", ds.size()},
                  {"total_kimg", total_kimg},
                  {"seed", seed},
                  {"device", dev.str()},
                  {"device_name", device_description(dev)},
                  {"resume", args.str("resume")},
                  {"resume_kimg", trainer.cur_nimg() / 1000.0},
                  {"resume_time", args.has("resume-time") ? args.number("resume-time") : 0.0},
                  {"snap", snapshot_ticks(args, true)},
                  {"max_images", dopt.max_images > 0 ? nlohmann::json(dopt.max_images) : nlohmann::json()},
                  {"subset_seed", dopt.max_images > 0 ? nlohmann::json(dopt.subset_seed) : nlohmann::json()},
                  // No top-level "mirror" (StyleGAN2's x-flipped copies, which calc_metrics
                  // adds to the reals): --mirror is the spec's mirror_augment, a flip per
                  // drawn image in training only, as PGGAN's.
                  {"metrics", metric_req.names}});
  // (Networks resumed at --resume-kimg carry none: their folder's ticks run past the snapshot.)
  if (args.has("resume"))
    carry_earlier_stats(run.path(), args.str("resume"), args.has("resume-kimg") ? 0 : trainer.cur_nimg());
  run.log("Run folder " + run.path() + ": " + ds.name() + " (" +
          cli::count_text(static_cast<long long>(ds.size()), "image") + ", " + std::to_string(ds.resolution()) + "x" +
          std::to_string(ds.resolution()) + "), StyleGAN (v1) cfg " + spec.cfg + ", from " +
          std::to_string(spec.sched.lod_initial_resolution) + "x" + std::to_string(spec.sched.lod_initial_resolution) +
          " (" + g_format(spec.sched.lod_training_kimg) + " + " + g_format(spec.sched.lod_transition_kimg) +
          " kimg per resolution), " + g_format(total_kimg) + " kimg, R1 gamma " + g_format(spec.r1_gamma) + ", G " +
          std::to_string(trainer.G().num_params()) + " params, D " + std::to_string(trainer.D().num_params()) +
          " params, device " + dev.str() +
          (args.has("resume") ? ", resumed from " + args.str("resume") + " at kimg " + g_format(trainer.cur_nimg() / 1000.0)
                              : std::string()));
  if (!resume_note.empty()) run.log(resume_note);
  for (const std::string& line : ds.notes()) run.log(line);
  LoopOptions lo;
  lo.total_kimg = total_kimg;
  lo.snap_ticks = snapshot_ticks(args, true);
  lo.image_snap_ticks = 1;
  if (args.has("resume-time")) lo.resume_sec = args.number("resume-time");
  lo.progress = isatty(fileno(stdout));
  if (run_metrics) lo.after_snapshot = metrics_hook(run_metrics, run);
  std::optional<double> tick;
  if (args.has("tick")) tick = args.number("tick");
  StyleGANRun r(trainer, tick);
  // v1's dnnlib submit writes _finished.txt when the run function ends,
  // in a finally: after an error too.
  const std::string finished = run.path() + "/_finished.txt";
  try {
    run_training(r, run, lo);
  } catch (...) {
    try {
      write_file_atomic(finished, "");
    } catch (...) {  // the run's own error is the one to report
    }
    throw;
  }
  write_file_atomic(finished, "");
  run.log("Done: " + run.path());
  return 0;
}

}  // namespace gf
