// train_stylegan: trains a StyleGAN2 generator and discriminator (the official
// StyleGAN2-ADA train.py, with its adaptive discriminator augmentation: --aug,
// --p, --target, --augpipe as there). Flags become a TrainSpec and a
// StyleGAN2Trainer (train/trainer.h); run_training (train/training_loop.h)
// runs the ticks and writes the numbered run folder. --arch stylegan trains
// StyleGAN (v1) with progressive growing instead (train/stylegan/).
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
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "engine/dist/communicator.h"
#include "engine/dist/same_run.h"
#include "engine/io/safetensors.h"
#include "metrics/generators.h"
#include "metrics/inception_detector.h"
#include "metrics/training_metrics.h"
#include "metrics/stats_cache.h"
#include "train/stylegan2/checkpoint.h"
#include "train/checkpoint_state.h"
#include "train/cli.h"
#include "train/process_group.h"
#include "train/stop_signal.h"
#include "train/stylegan2/configs.h"
#include "train/stylegan2/run_description.h"
#include "data/dataset.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/stylegan2/training_loop.h"
#include "train/stylegan/configs.h"
#include "train/stylegan/training_loop.h"
#include "models/pggan/config.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"
#include "engine/io/json_input.h"

namespace {

// The largest --batch and --batch-gpu (train_psp's cap too): far above the
// official configs' 64, below what makes a typo fill the memory.
constexpr long long kMaxBatch = 65536;

using namespace gf;

// --kimg and --tick: a trillion images, far beyond any run, and exact as a
// count of images in int64 (the loop counts images).
constexpr double kMaxKimg = 1e9;

// --resume of another family's file (a checkpoint or network bundle): one
// line naming the family and what continues it; the configs would otherwise
// fail on unknown keys. `arch_family` is network_family() of this --arch.
void check_resume_family(const io::SafetensorsFile& file, const std::string& path, const std::string& arch_family) {
  const std::string found = network_family(file);
  if (found == arch_family) return;
  if (found == "stylegan2") throw Error(path + ": holds StyleGAN2 networks; resume them without --arch stylegan");
  if (found == stylegan::kFamily) throw Error(path + ": holds StyleGAN (v1) networks; resume them with --arch stylegan");
  if (found == pggan::kFamily) throw Error(path + ": holds PGGAN networks; train_pggan --resume continues them");
  throw Error(path + ": holds " + found + " networks, which train_stylegan does not train");
}

// The trainer for --resume FILE: a checkpoint brings its own spec and seed
// (which the flags must then not change); any other network bundle gives the
// networks' configs and weights, as the official --resume of a pickle does.
// `agree` runs on the built trainer before its networks are loaded (the
// loads broadcast rank 0's networks: the ranks must agree on them first).
// *note gets the run log's lines: when the file holds no D, and when its
// networks were built for other data (what each took by name).
std::unique_ptr<StyleGAN2Trainer> resumed_trainer(const cli::Args& args, const std::string& path,
                                                  const TrainerSetup& fresh, const Dataset& ds,
                                                  const std::function<void(StyleGAN2Trainer&)>& agree,
                                                  std::string* note) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  check_resume_family(file, path, "stylegan2");
  if (resumes_checkpoint(file, path, kCheckpointFormat)) {
    TrainerSetup setup = checkpoint_setup(file, path, fresh.device);
    const TrainSpec& k = setup.spec;
    // --batch-gpu 0 means batch / gpus: it matches a run that passes that many.
    const int per_gpu = k.batch / k.gpus, pass = k.batch_gpu > 0 ? k.batch_gpu : per_gpu;
    const bool zero_given = args.has("batch-gpu") && args.integer("batch-gpu") == 0;
    cli::check_kept_on_resume(args, path,
                              {{"cfg", k.cfg},
                               {"gpus", std::to_string(k.gpus)},
                               {"batch", std::to_string(k.batch)},
                               {"batch-gpu", zero_given && pass == per_gpu ? "0" : std::to_string(pass)},
                               {"gamma", cli::number_text(k.gamma)},
                               {"seed", std::to_string(setup.seed)},
                               {"aug", k.aug},
                               {"p", cli::number_text(k.augment_p)},
                               {"target", cli::number_text(k.ada_target)},
                               {"augpipe", k.augpipe},
                               {"freezed", std::to_string(setup.D_kwargs.freeze_layers)}});
    const int world = fresh.comm ? fresh.comm->world_size() : 1;
    if (world > 1 && setup.spec.gpus != world)
      throw Error(path + " was trained by " + cli::count_text(setup.spec.gpus, "replica") + "; this run has " +
                  std::to_string(world) + " processes: resume it with " + std::to_string(setup.spec.gpus) +
                  " (a different count would split the batch and the random streams differently)");
    setup.comm = fresh.comm;
    if (args.has("kimg")) setup.spec.kimg = args.number("kimg");
    const stylegan2::GeneratorConfig& g = setup.G_kwargs;
    // A checkpoint continues its own run on its own data; its networks alone
    // (a snapshot) are what the official resume puts on other data, where
    // its labels fit (the same count, or 1: broadcast). Else
    // check_networks_fit_data's line (--cond for labels added or dropped).
    const bool snapshot_fits = (g.c_dim > 0) == (ds.c_dim() > 0) && (g.c_dim == ds.c_dim() || g.c_dim == 1);
    if (!networks_fit_data(setup, ds) && snapshot_fits) {
      const auto made_on = file.metadata.find("dataset");
      throw Error(path + ": a checkpoint continues its run on its own data (" +
                  (made_on != file.metadata.end() ? "'" + made_on->second + "', " : std::string()) +
                  images_text(g.img_resolution, g.img_channels, g.c_dim) + "), not on " + ds.name() + "'s " +
                  images_text(ds.resolution(), ds.channels(), ds.c_dim()) +
                  ": resume a snapshot of the run (network-snapshot-*.bin) to train its networks on this data, "
                  "built for it with the snapshot's tensors that fit by name, as the official resume does");
    }
    check_networks_fit_data(file, path, g.img_resolution, g.img_channels, g.c_dim, ds);
    check_configs_fit_file<stylegan2::Generator, stylegan2::Discriminator>(file, path, g, setup.D_kwargs);
    auto t = built_from_file(path, [&] { return std::make_unique<StyleGAN2Trainer>(setup, ds); });
    agree(*t);
    load_checkpoint(*t, file, path);
    *note = diverged_note(file, path);
    return t;
  }
  // The flags' own spec first: its errors (--batch 4 --gpus 3) are this
  // command line's, not the file's, and are named so. (The fields the file
  // overrides, bundle_setup's architecture, are --cfg's presets here, valid
  // by construction: no flag sets them.)
  check_train_spec(fresh.spec);
  // As the official train.py resuming from a pickle: no EMA ramp-up, and ADA
  // reacting faster at the start (ada_kimg 100).
  TrainerSetup setup = bundle_setup(file, path, fresh);
  *note = no_discriminator_note(file, path);
  // Freeze-D keeps D's first layers as the file has them: a file without D has none to keep.
  if (!note->empty() && fresh.D_kwargs.freeze_layers > 0)
    throw Error("--freezed " + std::to_string(fresh.D_kwargs.freeze_layers) + " keeps D's layers from --resume, but " +
                path + " holds no discriminator (a generator alone): resume a snapshot with D, or leave --freezed out");
  setup.D_kwargs.freeze_layers = fresh.D_kwargs.freeze_layers;  // this run's --freezed, not the file's run's
  setup.spec.ema_rampup = 0;
  setup.spec.ada_kimg = 100;
  // conv_clamp is --cfg's, as D's minibatch-stddev group is: train.py builds
  // G and D with its clamp (256) and copies the pickle's weights in, so a
  // converted network without one (TensorFlow's, rosinality's) trains
  // clamped there; no weight holds it. (It came from the file.)
  setup.spec.conv_clamp = fresh.spec.conv_clamp;
  setup.G_kwargs.conv_clamp = setup.D_kwargs.conv_clamp =
      fresh.spec.conv_clamp > 0 ? std::optional<double>(fresh.spec.conv_clamp) : std::nullopt;
  // The file's configs against its own tensors first (a config far larger
  // than the file is refused); networks built for other data are the data's size.
  check_configs_fit_file<stylegan2::Generator, stylegan2::Discriminator>(file, path, setup.G_kwargs, setup.D_kwargs);
  // On other data (resolution, channels, labels) the official train.py
  // builds G and D for the data and copies in what fits by name.
  const bool by_name = !networks_fit_data(setup, ds);
  const std::string made = images_text(setup.G_kwargs.img_resolution, setup.G_kwargs.img_channels, setup.G_kwargs.c_dim);
  const std::string built_for =
      by_name ? "built for " + ds.name() + "'s " + images_text(ds.resolution(), ds.channels(), ds.c_dim()) : "";
  if (by_name) build_for_data(&setup, path, ds);
  auto t = built_from_file(path, [&] {
    try {
      return std::make_unique<StyleGAN2Trainer>(setup, ds);
    } catch (const Error& e) {  // (a config check: the file's widths may give no channels at the data's size)
      if (!by_name || typeid(e) != typeid(Error)) throw;
      throw Error(std::string(e.what()) + " (the networks " + built_for + ", with the file's widths)");
    }
  });
  agree(*t);
  const std::string fitted = load_networks(*t, file, path, built_for);
  if (by_name)
    *note += std::string(note->empty() ? "" : "\n") + path + " holds networks of " + made + ": " + built_for +
             ", they take the file's tensors that fit by name, as the official resume copies them "
             "(torch_utils/misc.py copy_params_and_buffers)\n" + fitted;
  return t;
}

std::string num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// For the run log: "ada (bgc, target 0.6, ada_kimg 500)", "fixed (bgc, p 0.2)",
// "none (--aug noaug)"; fixed with p 0 runs no pipe, as the official loop.
std::string augmentation_text(const TrainSpec& s) {
  if (s.aug == "noaug" || (s.aug == "fixed" && s.augment_p == 0)) return "none (--aug " + s.aug + ")";
  if (s.aug == "fixed") return "fixed (" + s.augpipe + ", p " + num(s.augment_p) + ")";
  return "ada (" + s.augpipe + ", target " + num(s.ada_target) + ", ada_kimg " + num(s.ada_kimg) + ")";
}

// --aug, --p, --target, --augpipe into the spec, with the official train.py's rules.
void set_augmentation(const cli::Args& args, TrainSpec& spec) {
  spec.aug = args.str("aug");
  const std::vector<std::string> modes = aug_modes();
  if (std::find(modes.begin(), modes.end(), spec.aug) == modes.end())
    throw Error("--aug must be ada, noaug or fixed, got '" + spec.aug + "'");
  if (spec.aug == "fixed" && !args.has("p")) throw Error("--aug fixed needs --p");
  if (args.has("p") && spec.aug != "fixed") throw Error("--p can only be given with --aug fixed");
  if (args.has("target") && spec.aug != "ada") throw Error("--target can only be given with --aug ada");
  if (args.has("augpipe") && spec.aug == "noaug") throw Error("--augpipe cannot be given with --aug noaug");
  if (args.has("p")) spec.augment_p = args.number("p");
  spec.ada_target = args.number("target");
  spec.augpipe = args.str("augpipe");
  augpipe_spec(spec.augpipe);  // an unknown name: one line listing the pipelines
}

// The metrics a run evaluates after every snapshot (the official loops'
// metric_main.calc_metric on G_ema for StyleGAN2-ADA, metrics.run on Gs for
// v1). The real images are the whole dataset, as the official metrics reset
// max_size: --max-images reopens it in full (the set-up holds it).
// make_generator gets the dataset the labels come from. Made before the run
// folder (and before --dry-run returns): metric_context checks every metric,
// so a run they cannot serve stops with no folder left behind.
struct RunMetrics {
  metrics::MetricRequest req;
  std::shared_ptr<const Dataset> full;  // the reopened dataset under --max-images
  metrics::MetricContext ctx;
};
std::shared_ptr<RunMetrics> prepare_metrics(const cli::Args& args, const metrics::MetricRequest& req,
                                            const metrics::MetricDetectors& detectors, const Dataset& ds,
                                            const DatasetOptions& dopt,
                                            const std::function<metrics::ImageGenerator(const Dataset&)>& make_generator,
                                            const std::function<metrics::PathSampler(const Dataset&)>& make_paths,
                                            const std::function<metrics::LatentSampler(const Dataset&)>& make_latents,
                                            Device dev, Communicator* comm = nullptr) {
  auto m = std::make_shared<RunMetrics>();
  m->req = req;
  if (dopt.max_images > 0) {
    DatasetOptions all = dopt;
    all.max_images = 0;
    m->full = open_dataset(args.str("data"), all);
  }
  const Dataset& real = m->full ? *m->full : ds;
  // PPL's labels come from the training set itself: metric_main.py resets
  // max_size for FID, KID, PR and IS alone, so compute_ppl's dataset is the
  // --max-images subset.
  m->ctx = metrics::metric_context(req, detectors, real, make_generator(real), make_paths(ds), make_latents(real), dev,
                                   0, nullptr);
  if (comm && comm->world_size() > 1) m->ctx.feature_opt.comm = comm;  // the ranks share the passes
  metrics::stop_between_batches(m->ctx);  // a Ctrl-C during an evaluation stops the run (alone: each batch; shared: each round)
  return m;
}

// The metrics' evaluation after a snapshot, its collectives under the
// metrics' limit when the ranks share it (rank 0 reads the cache and forms
// each result while the others wait).
nlohmann::json evaluate_shared(const RunMetrics& m, const std::string& run_dir, const std::string& snapshot) {
  return metrics::evaluate_metrics_within(m.req, m.ctx, run_dir, snapshot, m.ctx.log);
}

// The LoopOptions hook of the writing process: the prepared metrics, logged
// to and reported in `run`.
std::function<nlohmann::json(const std::string&)> metrics_hook(std::shared_ptr<RunMetrics> m, RunDir& run) {
  m->ctx.log = [&run](const std::string& l) { run.log(l); };
  m->ctx.warn = [&run](const std::string& l) { run.log("warning: " + l); };  // into log.txt, as the trainers' own
  return [m, &run](const std::string& snapshot) { return evaluate_shared(*m, run.path(), snapshot); };
}

// With one process per device every rank loads the detectors and checks the
// metrics (each evaluates its share), and every rank learns the verdict
// before training (checked_on_every_rank): when one refused, the first that
// refused stops with its own line, the others with "rank R: rank K refused
// the metrics, so no rank trains: <K's line>".
const char* const kRefusedMetrics = "refused the metrics, so no rank trains";

// LoopOptions::agree_stop with one process per device: every rank's pending
// stop signal gathered, so that a Ctrl-C (every rank's) or one rank's
// SIGTERM stops all ranks at the same step. Two small host collectives per step.
void agree_on_stop(Communicator& comm) {
  std::vector<int> pending;
  for (const auto& v : all_gather(comm, {double(stop_signal_received())})) pending.push_back(int(v[0]));
  throw_if_any_rank_stopped(pending);
}

// The flags that name input files and folders (compared by content once
// read, or read by rank 0 alone: the detectors, the metrics cache) and the
// draw logs: the ranks' flag_items count only whether they are given.
// --outdir is not compared: rank 0 alone writes it.
const std::set<std::string> kPathFlags = {"data", "resume", "detector", "vgg16", "metrics-cache", "record-draws",
                                          "replay-draws"};

// What the flags made, as run items for check_same_run: the trainer's
// spec, networks' configs and seed, the dataset (its shape, and a key of its
// first and last images' pixels, cheap beside a key of all; not its name,
// which follows the path), the --resume
// file's bytes, and every tensor of G, G_ema and D by name and shape (what
// the collectives exchange).
std::vector<RunItem> built_run_items(StyleGAN2Trainer& t, const Dataset& ds, const std::string& resume) {
  const TrainerSetup& setup = t.setup();
  const nlohmann::json made = {{"spec", to_json(setup.spec)},
                               {"G_kwargs", stylegan2::to_json(setup.G_kwargs)},
                               {"D_kwargs", stylegan2::to_json(setup.D_kwargs)},
                               {"seed", setup.seed}};
  std::vector<RunItem> items;
  const nlohmann::json flat = made.flatten();  // named: items() would outlive a temporary
  for (const auto& [key, value] : flat.items()) items.push_back({key, io::json_text(value)});
  items.push_back({"dataset", std::to_string(ds.size()) + " images " + std::to_string(ds.resolution()) +
                                  "x" + std::to_string(ds.resolution()) + "x" + std::to_string(ds.channels()) + ", " +
                                  std::to_string(ds.c_dim()) + " labels"});
  // Every image's pixels: a key of the first and last let ranks train on data that differed between them.
  if (ds.size() > 0) items.push_back({"dataset content", dataset_resume_key(ds)});
  if (!resume.empty()) items.push_back({"--resume content", metrics::file_content_key(resume)});
  const std::pair<const char*, const Module*> nets[] = {{"G", &t.G()}, {"G_ema", &t.G_ema()}, {"D", &t.D()}};
  for (const auto& [net, m] : nets) {
    for (const auto& [kind, tensors] : {std::make_pair("parameter", m->named_parameters()),
                                        std::make_pair("buffer", m->named_buffers())})
      for (const auto& [name, x] : tensors) {
        std::string shape;
        for (int64_t d : x.shape()) shape += (shape.empty() ? "" : "x") + std::to_string(d);
        items.push_back({std::string(net) + " " + kind + " " + name, "[" + shape + "] " + std::to_string(x.nbytes()) + " bytes"});
      }
  }
  return items;
}

// --snap: given, or the family's official default: StyleGAN2-ADA's train.py
// 50 ticks; StyleGAN (v1)'s training_loop network_snapshot_ticks 10 (its
// image_snapshot_ticks is 1).
int snapshot_ticks(const cli::Args& args, bool v1) {
  return args.has("snap") ? static_cast<int>(args.integer("snap")) : v1 ? 10 : 50;
}

// --seed: given, or the family's official default: StyleGAN2-ADA's train.py
// 0; StyleGAN (v1)'s train.py seeds numpy with 1000 (tf_config
// rnd.np_random_seed). In [0, 2^32-1].
uint64_t run_seed(const cli::Args& args) {
  if (args.has("seed")) return static_cast<uint64_t>(args.integer("seed"));
  return args.str("arch") == "stylegan" ? 1000 : 0;
}

// --arch stylegan: StyleGAN (v1) with progressive growing (train/stylegan/).
int run_v1(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt, Device dev,
           const metrics::MetricRequest& metric_req, const std::optional<metrics::MetricDetectors>& detectors) {
  for (const char* f : {"batch", "batch-gpu"})
    if (args.has(f)) throw Error(std::string("--") + f + " applies to --arch stylegan2; v1's minibatch comes from the schedule");
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
                              pggan::widest_resolution(g.fmap_base, g.fmap_decay, g.fmap_max), ds.name(), ds.resolution());
  }
  if (args.has("resume"))
    check_configs_fit_file<stylegan::Generator, stylegan::Discriminator>(resume, args.str("resume"), spec.G_kwargs, spec.D_kwargs);
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
  desc << ds.name() << "-stylegan-" << spec.cfg << (ds.c_dim() > 0 ? "-cond" : "") << (spec.mirror_augment ? "-mirror" : "");
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
  if (args.has("resume")) carry_earlier_stats(run.path(), args.str("resume"), args.has("resume-kimg") ? 0 : trainer.cur_nimg());
  run.log("Run folder " + run.path() + ": " + ds.name() + " (" + cli::count_text(static_cast<long long>(ds.size()), "image") + ", " +
          std::to_string(ds.resolution()) + "x" + std::to_string(ds.resolution()) + "), StyleGAN (v1) cfg " + spec.cfg +
          ", from " + std::to_string(spec.sched.lod_initial_resolution) + "x" +
          std::to_string(spec.sched.lod_initial_resolution) + " (" + num(spec.sched.lod_training_kimg) + " + " +
          num(spec.sched.lod_transition_kimg) + " kimg per resolution), " + num(total_kimg) + " kimg, R1 gamma " +
          num(spec.r1_gamma) + ", G " + std::to_string(trainer.G().num_params()) + " params, D " +
          std::to_string(trainer.D().num_params()) + " params, device " + dev.str() +
          (args.has("resume") ? ", resumed from " + args.str("resume") + " at kimg " + num(trainer.cur_nimg() / 1000.0)
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

// train.py's --resume names of its transfer-learning sources, and their pickles.
const std::map<std::string, std::string> kOfficialResumeNames = {
    {"ffhq256", "ffhq-res256-mirror-paper256-noaug.pkl"},
    {"ffhq512", "ffhq-res512-mirror-stylegan2-noaug.pkl"},
    {"ffhq1024", "ffhq-res1024-mirror-stylegan2-noaug.pkl"},
    {"celebahq256", "celebahq-res256-mirror-paper256-kimg100000-ada-target0.5.pkl"},
    {"lsundog256", "lsundog-res256-paper256-kimg100000-noaug.pkl"}};

// train.py's augmentation defaults (--aug, --target, --augpipe), which its
// run folder's name leaves out.
constexpr const char* kDefaultAug = "ada";
constexpr const char* kDefaultAugpipe = "bgc";
constexpr double kDefaultTarget = 0.6;

// The run folder's description as train.py's desc: each part for an option
// given on the command line, or (resuming a checkpoint, whose run's flags
// need not be given again) one whose value differs from --cfg's.
std::string stylegan2_run_description(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt,
                                      const TrainerSetup& setup, bool noresume_given) {
  const TrainSpec& s = setup.spec;
  const TrainSpec cfg = make_train_spec(s.cfg, ds.resolution(), s.gpus);
  RunDescription d;
  d.dataset = ds.name();
  d.cond = ds.c_dim() > 0;
  if (dopt.max_images > 0) d.subset = dopt.max_images;
  d.mirror = dopt.xflip;
  d.spec = &s;
  d.gamma = args.has("gamma") || s.gamma != cfg.gamma;
  d.kimg = args.has("kimg") || s.kimg != cfg.kimg;
  d.batch = args.has("batch") || s.batch != cfg.batch;
  d.aug = args.has("aug") || s.aug != kDefaultAug;
  d.p = args.has("p") || s.aug == "fixed";
  d.target = args.has("target") || (s.aug == "ada" && s.ada_target != kDefaultTarget);
  d.augpipe = args.has("augpipe") || (s.aug != "noaug" && s.augpipe != kDefaultAugpipe);
  if (noresume_given) d.resume = RunDescription::Resume::noresume;
  if (args.has("resume")) {
    const bool named = kOfficialResumeNames.count(args.str("resume")) > 0;
    d.resume = named ? RunDescription::Resume::named : RunDescription::Resume::custom;
    if (named) d.resume_name = args.str("resume");
  }
  if (args.has("freezed") || setup.D_kwargs.freeze_layers > 0) d.freezed = setup.D_kwargs.freeze_layers;
  return run_description(d);
}

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
  // The dataset loader takes 4x4 (PGGAN and v1 start there); StyleGAN2's D ends in a 4x4 block after one at 8x8.
  if (ds->resolution() < 8)
    throw Error(ds->name() + ": images of " + std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) +
                "; StyleGAN2 trains at 8x8 or more (--arch stylegan and train_pggan start at 4x4)");
  TrainSpec spec = make_train_spec(args.str("cfg"), ds->resolution(), world > 1 ? world : static_cast<int>(args.integer("gpus")));
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
    cli::check_cfg_resolution(spec.cfg, "channel_base " + std::to_string(spec.channel_base), spec.channel_base, ds->name(),
                              ds->resolution());
  TrainerSetup fresh = make_trainer_setup(spec, *ds, seed, dev);
  if (args.has("freezed")) fresh.D_kwargs.freeze_layers = static_cast<int>(args.integer("freezed"));
  if (world > 1) fresh.comm = comm;
  // The flags agreed at the start; what they made must too (the data and the
  // checkpoint by content, the networks' tensors: the gradients' sizes).
  const auto agree = [&](StyleGAN2Trainer& t) {
    if (world > 1) check_same_run(*comm, built_run_items(t, *ds, args.str("resume")));
  };
  const bool dry_run = args.flag("dry-run");
  // A dry run builds no networks (as train.py's, which returns before them:
  // every replica's G, D, G_ema and Adam state, 128 of them at 2048 px, took
  // the machine's memory), unless --resume's file sets the options.
  std::unique_ptr<StyleGAN2Trainer> trainer;
  std::string resume_note;
  if (args.has("resume")) {
    trainer = resumed_trainer(args, args.str("resume"), fresh, *ds, agree, &resume_note);
  } else if (!dry_run) {
    trainer = std::make_unique<StyleGAN2Trainer>(fresh, *ds);
    agree(*trainer);
  } else {
    StyleGAN2Trainer::check_setup(fresh, *ds);  // what building would refuse
  }
  if (trainer) {
    if (auto log = draw_log_from_flags(args.str("record-draws"), args.str("replay-draws"), trainer->setup().seed))
      trainer->set_draw_log(std::move(log));
  } else {  // a dry run: a draw log to replay must open (one to record is not made: no files)
    draw_log_from_flags("", args.str("replay-draws"), fresh.seed);
  }
  const TrainerSetup& setup = trainer ? trainer->setup() : fresh;
  const bool is_main = trainer ? trainer->is_main() : world == 1 || comm->rank() == 0;
  const bool cond = ds->c_dim() > 0;
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
        const int64_t res = ds->resolution(), channels = ds->channels();
        const metrics::PathSampler no_paths = [res, channels](int64_t n, const metrics::PplSpec& spec, gf::Generator&) {
          return metrics::crop_and_downsample(zeros({2 * n, channels, res, res}), spec.crop, res / 256);
        };
        const metrics::LatentSampler no_latents = [res, channels](int64_t n, gf::Generator&) {
          return metrics::LatentSample{zeros({n, 1}), zeros({n, 1}), zeros({n, channels, res, res})};
        };
        run_metrics = prepare_metrics(
            args, metric_req, *detectors, *ds, dopt, [&](const Dataset&) { return no_images; },
            [&](const Dataset&) { return no_paths; }, [&](const Dataset&) { return no_latents; }, dev, comm.get());
        return;
      }
      stylegan2::Generator& G_ema = trainer->G_ema();
      const Device gdev = trainer->setup().device;
      run_metrics = prepare_metrics(
          args, metric_req, *detectors, *ds, dopt,
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

  const std::string desc = stylegan2_run_description(args, *ds, dopt, setup, noresume_given);
  const nlohmann::json options = {{"spec", to_json(setup.spec)},
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
              << "Training data:      " << (args.str("data").empty() ? ds->name() : args.str("data")) << "\n"
              << "Training duration:  " << cli::number_text(setup.spec.kimg) << " kimg\n"
              << "Number of GPUs:     " << setup.spec.gpus << "\n"
              << "Number of images:   " << ds->num_images() << "\n"  // train.py's max_size: before x-flips
              << "Image resolution:   " << ds->resolution() << "\n"
              << "Conditional model:  " << (cond ? "True" : "False") << "\n"
              << "Dataset x-flips:    " << (dopt.xflip ? "True" : "False") << "\n\n"
              << "Dry run; exiting." << std::endl;
    return 0;
  }
  RunDir run(args.str("outdir"), desc);
  run.write_json("training_options.json", options);
  // A resumed run's report continues the curves of the run it came from.
  if (args.has("resume")) carry_earlier_stats(run.path(), args.str("resume"), trainer->cur_nimg());
  run.log("Run folder " + run.path() + ": " + ds->name() + " (" + cli::count_text(static_cast<long long>(ds->size()), "image") + ", " +
          std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) + "), cfg " + setup.spec.cfg +
          ", batch " + std::to_string(setup.spec.batch) + " (" +
          cli::count_text(setup.spec.gpus, "replica") + " x " +
          cli::count_text(setup.spec.batch / setup.spec.gpus / batch_per_pass(setup.spec), "pass") + " of " +
          std::to_string(batch_per_pass(setup.spec)) + "), G " + std::to_string(trainer->G().num_params()) +
          " params, D " + std::to_string(trainer->D().num_params()) + " params" +
          (setup.D_kwargs.freeze_layers > 0 ? " (Freeze-D: its first " + std::to_string(setup.D_kwargs.freeze_layers) + " layers fixed)"
                                            : std::string()) +
          ", augmentation " +
          augmentation_text(setup.spec) + ", device " + dev.str() +
          (trainer->num_replicas() > 1 && dev.is_cuda() ? " to " + trainer->device(trainer->num_replicas() - 1).str() : std::string()) +
          (world > 1 ? ", " + std::to_string(world) + " processes (" + comm->backend() + ")" : std::string()) +
          (args.has("resume") ? ", resumed from " + args.str("resume") + " at kimg " +
                                    std::to_string(trainer->cur_nimg() / 1000.0)
                              : std::string()));
  if (!resume_note.empty()) run.log(resume_note);
  // What the loader skipped or converted, by file (data/dataset.h).
  for (const std::string& line : ds->notes()) run.log(line);

  if (run_metrics) lo.after_snapshot = metrics_hook(run_metrics, run);
  run_training(*trainer, run, lo);
  run.log("Done: " + run.path());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("train_stylegan", [&] { return run(argc, argv); }); }
