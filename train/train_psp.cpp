// train_psp: trains a pSp encoder (pixel2style2pixel) for a StyleGAN2
// generator, as pSp's scripts/train.py and training/coach.py do for the
// encoding task: images from --data are encoded to W+, decoded by the
// generator, and the encoder learns from pSp's losses (train/psp/losses.h)
// with Ranger or Adam. Flags become a PspTrainSpec (train/psp/configs.h) and a
// PspTrainer; run_psp_training writes the numbered run folder.
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "engine/io/safetensors.h"
#include "engine/strings.h"
#include "models/perceptual/network_file.h"
#include "models/psp/network_file.h"
#include "models/stylegan2/network_file.h"
#include "train/checkpoint_state.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "train/setting_checks.h"
#include "data/dataset.h"
#include "train/process_group.h"
#include "train/psp/checkpoint.h"
#include "train/psp/configs.h"
#include "train/psp/trainer.h"
#include "train/psp/training_loop.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/training_loop.h"

namespace {

using namespace gf;
using namespace gf::psp;

// The flags' changes to a spec made from --cfg.
void apply_flags(const cli::Args& args, PspTrainSpec& s) {
  if (args.has("encoder-type")) {
    s.net.encoder_type = args.str("encoder-type");
    if (!is_encoder_type(s.net.encoder_type))
      throw Error(std::string("--encoder-type must be ") + kEncoderTypesText + " (pSp's names, case as written), got '" +
                  s.net.encoder_type + "'");
    s.net.learn_in_w = s.net.encoder_type == "BackboneEncoderUsingLastLayerIntoW";  // pSp's --learn_in_w goes with it
  }
  if (args.flag("start-from-latent-avg")) s.net.start_from_latent_avg = true;
  if (args.has("batch")) s.batch = int(args.integer("batch"));
  if (args.has("optim")) s.optim = args.str("optim");
  if (args.has("lr")) s.lr = args.number("lr");
  const std::pair<const char*, double*> lambdas[] = {
      {"l2-lambda", &s.lambdas.l2},         {"lpips-lambda", &s.lambdas.lpips},
      {"id-lambda", &s.lambdas.id},         {"w-norm-lambda", &s.lambdas.w_norm},
      {"lpips-lambda-crop", &s.lambdas.lpips_crop}, {"l2-lambda-crop", &s.lambdas.l2_crop},
      {"moco-lambda", &s.lambdas.moco}};
  for (const auto& [flag, v] : lambdas)
    if (args.has(flag)) *v = args.number(flag);
  if (args.flag("train-decoder")) s.train_decoder = true;
  if (args.has("val-images")) s.val_images = int(args.integer("val-images"));
}

// A file a flag names must exist: one line naming the flag and what the file is.
void need_file(const char* flag, const std::string& path, const std::string& what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(std::string("--") + flag + " " + path + ": a folder; give the file (" + what + ")");
  if (!std::filesystem::is_regular_file(path, ec))
    throw Error(std::string("--") + flag + " " + path + ": " +
                (std::filesystem::exists(path, ec) ? "not a regular file (a pipe or device?)" : "no such file") + " (" +
                what + ")");
}

// A loss network's file as this run reads it: its content key is recorded
// (`key`) for a resume, and a resumed run must read the content it started
// with, as --generator: another file would change its losses without a word.
// `given`: the file came from the flag (not from the checkpoint's record).
void check_loss_file(const std::string& flag, const std::string& path, std::string& key, const std::string& resume,
                     bool given) {
  const std::string now = file_resume_key(path);
  if (!resume.empty() && !key.empty() && now != key) {
    if (given)
      throw Error("--" + flag + " " + path + " is not the file the run resumed from " + resume +
                  " used (other content): leave --" + flag + " out, or give that file");
    throw Error("--" + flag + " " + path + ", which the run resumed from " + resume +
                " used, has other content now: give the run's file with --" + flag);
  }
  key = now;
}

std::unique_ptr<stylegan2::Generator> read_generator(const std::string& path) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  if (file.metadata.count("network") || file.tensors.count("G_ema.mapping.w_avg") ||
      std::any_of(file.tensors.begin(), file.tensors.end(), [](const auto& e) { return e.first.rfind("G_ema.", 0) == 0; }))
    return stylegan2::load_generator(file, path, "G_ema");
  return stylegan2::load_generator(file, path, "G");
}

int run(int argc, char** argv) {
  cli::Args args(
      argc, argv, "train_psp",
      "Train a pSp encoder (pixel2style2pixel) that inverts a StyleGAN2 generator: images -> W+ codes -> the "
      "generator's reconstructions. Without --data it trains on Fashion-MNIST.",
      {{"outdir", "DIR", "runs", "where to make the run folder"},
       {"generator", "G.bin", "", "the StyleGAN2 generator to invert: any ganforge network file (a train_stylegan "
                                  "snapshot, export_weights output, converted official or rosinality weights); with --resume of a "
                                  "checkpoint only the file the run started from (compared by content), or leave it out"},
       {"data", "PATH", "", "image folder or .zip (default: Fashion-MNIST); its last --val-images images are held out"},
       {"cfg", "NAME", "psp", "psp (the paper's IR-SE50 encoder at 256 px) or cpu (a small encoder at the "
                              "generator's resolution)"},
       {"encoder-type", "TYPE", "GradualStyleEncoder", kEncoderTypesText},
       {"start-from-latent-avg", "", "", "add the generator's average latent to the codes (pSp's flag)"},
       cli::integer("batch", "N", "", "images per step (psp: 4, cpu: 8)", 2, 65536),
       cli::integer("max-steps", "N", "", "train this many minibatches in all, resumed ones included (psp: 500000, "
                                         "cpu: 2000)", 0, 1000000000000LL),
       {"optim", "NAME", "ranger", "ranger or adam"},
       cli::number("lr", "X", "", "learning rate (psp: 1e-4, cpu: 1e-2)", cli::Range::above(0, 1e3)),
       cli::number("l2-lambda", "X", "", "weight of the L2 loss (1.0)", cli::Range::at_least(0, 1e6)),
       cli::number("lpips-lambda", "X", "", "weight of the LPIPS loss (psp: 0.8, cpu: 0); needs --lpips",
                   cli::Range::at_least(0, 1e6)),
       cli::number("id-lambda", "X", "", "weight of the identity loss (0; pSp's faces: 0.1); needs --arcface and "
                                         "256 px inputs", cli::Range::at_least(0, 1e6)),
       cli::number("w-norm-lambda", "X", "", "weight of the W-norm loss (0)", cli::Range::at_least(0, 1e6)),
       cli::number("lpips-lambda-crop", "X", "", "weight of LPIPS on the face crop (0)", cli::Range::at_least(0, 1e6)),
       cli::number("l2-lambda-crop", "X", "", "weight of L2 on the face crop (0)", cli::Range::at_least(0, 1e6)),
       cli::number("moco-lambda", "X", "", "weight of the MoCo-based similarity loss, pSp's for other domains than "
                                           "faces (0; pSp suggests 0.5 with --id-lambda 0); needs --moco",
                   cli::Range::at_least(0, 1e6)),
       {"lpips", "FILE.bin", "", "LPIPS AlexNet weights from tools/convert_weights.py"},
       {"arcface", "FILE.bin", "", "ArcFace IR-SE50 weights from tools/convert_weights.py: the id loss's network "
                                   "and, as pSp, the encoder's initial input layer and body"},
       {"moco", "FILE.bin", "", "MoCo v2's ResNet-50 (moco_v2_800ep_pretrain.pth.tar) from tools/convert_weights.py: "
                                "the MoCo loss's network"},
       {"train-decoder", "", "", "train the generator too (pSp's --train_decoder)"},
       cli::integer("val-images", "N", "32", "held-out images (the data's last ones) for validation and the grids", 1,
                    1000000),
       cli::integer("max-images", "N", "", "use at most N images of the data", 1, cli::kInt64Max),
       cli::data_from_files_flag(),
       cli::integer("tick", "STEPS", "50", "status line interval in steps (pSp's board_interval)", 1, 1000000000),
       cli::integer("snap", "TICKS", "20", "grid, snapshot and checkpoint interval in ticks; 0: only at the end", 0,
                    cli::kIntMax),
       cli::integer("seed", "N", "0", "random seed", 0, cli::kSeedMax),
       {"resume", "FILE.bin", "", "continue from a checkpoint.bin exactly, or start from a pSp network file "
                                  "(pSp's --checkpoint_path)"},
       // pSp's train_options.py names of flags that are named otherwise here.
       cli::not_here("exp_dir", "is pSp's; here it is --outdir DIR (a numbered run folder is made in it)"),
       cli::not_here("batch_size", "is pSp's; here it is --batch N"),
       cli::not_here("learning_rate", "is pSp's; here it is --lr X"),
       cli::not_here("optim_name", "is pSp's; here it is --optim ranger|adam"),
       cli::not_here("stylegan_weights", "is pSp's; here it is --generator G.bin (converted with tools/convert_weights.py)"),
       cli::not_here("checkpoint_path", "is pSp's; here it is --resume FILE.bin"),
       cli::not_here("dataset_type", "is pSp's; here --data PATH gives the images (a folder or .zip)"),
       cli::not_here("board_interval", "is pSp's; here it is --tick STEPS"),
       cli::not_here("val_interval", "is pSp's; here the held-out loss is measured every --tick STEPS"),
       cli::not_here("save_interval", "is pSp's; here a snapshot and checkpoint are written every --snap TICKS "
                                      "(and best_model.bin at each new lowest held-out loss)"),
       cli::not_here("image_interval", "is pSp's; here the grids are written every --snap TICKS"),
       cli::not_here("learn_in_w", "is pSp's; here it is --encoder-type BackboneEncoderUsingLastLayerIntoW"),
       cli::not_here("label_nc", "is pSp's label-map input (segmentation, sketches); train_psp trains the encoding "
                                 "task only (inputs are images like the generator's)"),
       cli::not_here("input_nc", "is pSp's; here the encoder's inputs have the generator's channels"),
       cli::not_here("output_size", "is pSp's; here the output size is the generator's resolution"),
       cli::not_here("test_batch_size", "is pSp's; here the held-out images go through in batches of --batch"),
       cli::not_here("test_workers", "is pSp's; here images are decoded once, before training"),
       cli::not_here("workers", "is pSp's; here images are decoded once, before training"),
       cli::device("device", "cpu", "where to train")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  refuse_multi_process_launch("train_psp");
  cli::check_output_folders(args, {"outdir"}, {"data"});  // the run folder would join the dataset
  const Device dev = args.device("device");
  if (args.has("optim") && args.str("optim") != "ranger" && args.str("optim") != "adam")
    throw Error("--optim must be ranger or adam, got '" + args.str("optim") + "'");
  if (args.has("cfg") && args.str("cfg") != "psp" && args.str("cfg") != "cpu")
    throw Error("--cfg must be psp or cpu, got '" + args.str("cfg") + "'");

  // The network and spec: from a checkpoint, from a pSp file, or from the generator.
  PspTrainSpec spec;
  uint64_t seed = uint64_t(args.integer("seed"));
  std::unique_ptr<Psp> net;
  std::unique_ptr<io::SafetensorsFile> ckpt;
  std::string net_note;
  const std::string resume = args.str("resume");
  if (!resume.empty()) {
    need_file("resume", resume, "a train_psp checkpoint.bin or a pSp network file");
    ckpt = std::make_unique<io::SafetensorsFile>(io::read_safetensors(resume));
    if (resumes_checkpoint(*ckpt, resume, kPspCheckpointFormat)) {
      spec = checkpoint_spec(*ckpt, resume, &seed);
      // The checkpoint holds its decoder; the first command's --generator may
      // come again (the first command plus --resume works), compared by content.
      if (args.has("generator")) {
        const std::string given = args.str("generator");
        need_file("generator", given, "the StyleGAN2 network to invert");
        if (spec.generator_key.empty())
          throw Error("--generator " + given + ": the checkpoint " + resume +
                      " predates recording its generator and brings its decoder; leave --generator out");
        if (file_resume_key(given) != spec.generator_key)
          throw Error("--generator " + given + " is not the generator the run resumed from " + resume + " started from (" +
                      spec.generator_path + "; other content), and the checkpoint brings its decoder: leave --generator "
                      "out, or give that file");
      }
      const auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
      cli::check_kept_on_resume(args, resume,
                                {{"cfg", spec.cfg},
                                 {"encoder-type", spec.net.encoder_type},
                                 {"start-from-latent-avg", flag(spec.net.start_from_latent_avg)},
                                 {"batch", std::to_string(spec.batch)},
                                 {"optim", spec.optim},
                                 {"lr", cli::number_text(spec.lr)},
                                 {"l2-lambda", cli::number_text(spec.lambdas.l2)},
                                 {"lpips-lambda", cli::number_text(spec.lambdas.lpips)},
                                 {"id-lambda", cli::number_text(spec.lambdas.id)},
                                 {"w-norm-lambda", cli::number_text(spec.lambdas.w_norm)},
                                 {"lpips-lambda-crop", cli::number_text(spec.lambdas.lpips_crop)},
                                 {"l2-lambda-crop", cli::number_text(spec.lambdas.l2_crop)},
                                 {"moco-lambda", cli::number_text(spec.lambdas.moco)},
                                 {"train-decoder", flag(spec.train_decoder)},
                                 {"val-images", std::to_string(spec.val_images)},
                                 {"seed", std::to_string(seed)}});
      net = checkpoint_network(*ckpt, resume);
    } else if (ckpt->metadata.count("psp_kwargs")) {
      if (args.has("generator")) throw Error("--generator cannot go with --resume of a pSp network (" + resume + "), which brings its decoder");
      net = load_psp(*ckpt, resume);
      spec = make_psp_train_spec(args.str("cfg"), net->decoder->config());
      spec.net = net->config();
      // The encoder is the file's: its flags pass again with the file's own
      // values (pSp's fine-tuning commands repeat --start_from_latent_avg).
      cli::check_kept_on_resume(args, resume,
                                {{"encoder-type", spec.net.encoder_type},
                                 {"start-from-latent-avg", spec.net.start_from_latent_avg ? "true" : "false"}});
      apply_flags(args, spec);
      ckpt.reset();
      net_note = "network from " + resume;
    } else {
      throw Error(resume + ": neither a train_psp checkpoint nor a pSp network (for a generator, use --generator)");
    }
  } else {
    if (!args.has("generator")) throw Error("--generator is required (the StyleGAN2 network to invert; see --help)");
    need_file("generator", args.str("generator"), "the StyleGAN2 network to invert");
    const auto G = read_generator(args.str("generator"));
    spec = make_psp_train_spec(args.str("cfg"), G->config());
    apply_flags(args, spec);
    spec.generator_path = args.str("generator");
    spec.generator_key = file_resume_key(spec.generator_path);
    check_psp_train_spec(spec);
    net = make_psp_to_train(spec, *G, seed, &net_note);
  }
  if (args.has("max-steps")) spec.max_steps = args.integer("max-steps");
  if (args.has("lpips")) spec.lpips_path = args.str("lpips");
  const bool run_used_arcface = !spec.arcface_path.empty();  // a resumed checkpoint's record
  if (args.has("arcface")) spec.arcface_path = args.str("arcface");
  check_psp_train_spec(spec);
  // The loss networks a lambda needs (a checkpoint's recorded files unless
  // given again, with the content they had); a file no loss reads is refused.
  std::unique_ptr<perceptual::Lpips> lpips;
  std::unique_ptr<perceptual::ArcFace> arcface;
  const std::string resumed = ckpt ? resume : "";  // a checkpoint's run, whose files are recorded
  if (args.has("lpips") && spec.lambdas.lpips == 0 && spec.lambdas.lpips_crop == 0)
    throw Error("--lpips is read by the LPIPS losses, and --lpips-lambda and --lpips-lambda-crop are 0" +
                std::string(ckpt ? " in the run resumed from " + resume : "") + ": give a lambda, or leave --lpips out");
  if (spec.lambdas.lpips > 0 || spec.lambdas.lpips_crop > 0) {
    if (spec.lpips_path.empty())
      throw Error(std::string(spec.lambdas.lpips > 0 ? "--lpips-lambda " + g_format(spec.lambdas.lpips)
                                                     : "--lpips-lambda-crop " + g_format(spec.lambdas.lpips_crop)) +
                  " needs the LPIPS weights: --lpips FILE.bin (tools/convert_weights.py import alex.pth lpips.bin "
                  "--alexnet alexnet-owt-7be5be79.pth), or a lambda of 0");
    need_file("lpips", spec.lpips_path, "LPIPS weights from tools/convert_weights.py");
    check_loss_file("lpips", spec.lpips_path, spec.lpips_key, resumed, args.has("lpips"));
    lpips = perceptual::load_lpips(spec.lpips_path);
  }
  // ArcFace: the id loss's network, and a new encoder's start (so the first
  // command of a run that used it only to start may come again with --resume).
  const bool starts_encoder = !ckpt && resume.empty();
  if (args.has("arcface") && spec.lambdas.id == 0 && !starts_encoder && !(ckpt && run_used_arcface))
    throw Error("--arcface is read by the id loss and to start a new encoder; --id-lambda is 0 and --resume " + resume +
                " brings its encoder" + (ckpt ? " (its run used no ArcFace file)" : "") + ": leave --arcface out");
  if (!spec.arcface_path.empty() && (spec.lambdas.id > 0 || starts_encoder || args.has("arcface"))) {
    need_file("arcface", spec.arcface_path, "ArcFace weights from tools/convert_weights.py");
    check_loss_file("arcface", spec.arcface_path, spec.arcface_key, resumed, args.has("arcface"));
    if (spec.lambdas.id > 0 || starts_encoder) arcface = perceptual::load_arcface(spec.arcface_path);
  }
  if (spec.lambdas.id > 0 && !arcface)
    throw Error("--id-lambda " + g_format(spec.lambdas.id) + " needs the ArcFace weights: --arcface FILE.bin (tools/convert_weights.py import "
                "model_ir_se50.pth arcface.bin), or --id-lambda 0");
  std::string init_note;
  if (starts_encoder) {
    init_note = arcface ? init_encoder_from_arcface(*net->encoder, *arcface)
                        : "encoder initialized at random (pSp starts from ArcFace's IR-SE50: --arcface)";
  }
  if (spec.lambdas.id == 0) arcface.reset();
  // MoCo's ResNet-50: the MoCo loss's network only.
  std::unique_ptr<perceptual::ResNet> moco;
  if (args.has("moco")) spec.moco_path = args.str("moco");
  if (args.has("moco") && spec.lambdas.moco == 0)
    throw Error("--moco is read by the MoCo loss, and --moco-lambda is 0" +
                std::string(ckpt ? " in the run resumed from " + resume : "") + ": give --moco-lambda, or leave --moco out");
  if (spec.lambdas.moco > 0) {
    if (spec.moco_path.empty())
      throw Error("--moco-lambda " + g_format(spec.lambdas.moco) + " needs MoCo's ResNet-50: --moco FILE.bin "
                  "(tools/convert_weights.py import moco_v2_800ep_pretrain.pth.tar moco.bin), or --moco-lambda 0");
    need_file("moco", spec.moco_path, "MoCo's ResNet-50 from tools/convert_weights.py");
    check_loss_file("moco", spec.moco_path, spec.moco_key, resumed, args.has("moco"));
    moco = perceptual::load_moco(spec.moco_path);
  }

  DatasetOptions dopt;
  dopt.from_files = args.flag("data-from-files");
  if (args.has("max-images")) dopt.max_images = args.integer("max-images");
  dopt.subset_seed = static_cast<uint32_t>(seed);  // a resumed checkpoint's run's (read above), else --seed
  const auto ds = open_dataset(args.str("data"), dopt);
  PspTrainer trainer(spec, seed, dev, *ds, std::move(net), std::move(lpips), std::move(arcface), std::move(moco));
  if (ckpt) load_checkpoint_state(trainer, *ckpt, resume);

  std::ostringstream desc;
  desc << ds->name() << "-psp-" << spec.cfg;
  RunDir run(args.str("outdir"), desc.str());
  const double total_kimg = double(spec.max_steps) * spec.batch / 1000.0;
  nlohmann::json options = {{"spec", to_json(spec)},
                            {"G_kwargs", stylegan2::to_json(trainer.net().decoder->config())},
                            {"generator", spec.generator_path},
                            {"data", args.str("data")},
                            {"dataset", ds->name()},
                            {"resolution", ds->resolution()},
                            {"channels", ds->channels()},
                            {"dataset_size", ds->size()},
                            {"total_kimg", total_kimg},
                            {"seed", seed},
                            {"device", dev.str()},
                            {"device_name", device_description(dev)},
                            {"resume", resume},
                            {"resume_kimg", trainer.cur_nimg() / 1000.0},
                            {"resume_step", trainer.cur_step()},
                            {"tick", args.integer("tick")},
                            {"snap", args.integer("snap")},
                            {"max_images", dopt.max_images > 0 ? nlohmann::json(dopt.max_images) : nlohmann::json()}};
  run.write_json("training_options.json", options);
  if (ckpt) carry_earlier_stats(run.path(), resume, trainer.cur_nimg());
  const PspConfig& nc = trainer.net().config();
  std::ostringstream head;
  head << "Run folder " << run.path() << ": " << ds->name() << " (" << cli::count_text(trainer.train_size(), "image") << " to train on, "
       << spec.val_images << " held out, " << ds->resolution() << "x" << ds->resolution() << " -> " << nc.input_size << "x"
       << nc.input_size << "), cfg " << spec.cfg << ", " << nc.encoder_type << " (" << trainer.net().encoder->num_params()
       << " params) into a " << trainer.net().decoder->config().img_resolution << " px decoder of " << nc.n_styles
       << " styles, batch " << spec.batch << ", " << spec.optim << " lr " << spec.lr << ", device " << dev.str();
  if (ckpt) head << ", resumed from " << resume << " at step " << trainer.cur_step();
  run.log(head.str());
  const std::string diverged = ckpt ? diverged_note(*ckpt, resume) : std::string();
  for (const std::string& note : {net_note, init_note, diverged})
    if (!note.empty()) run.log(note);
  for (const std::string& line : ds->notes()) run.log(line);

  PspLoopOptions lo;
  lo.tick_steps = args.integer("tick");
  lo.snap_ticks = int(args.integer("snap"));
  lo.progress = isatty(fileno(stdout));
  run_psp_training(trainer, run, lo);
  // best_model.bin is written at a tick that lowers the held-out loss: a run
  // with no such tick (no step, or only pSp's first-step sanity pass) has none;
  // one whose first held-out loss was NaN keeps that one (as pSp's coach).
  const bool best = std::filesystem::exists(run.path() + "/best_model.bin");
  const char* best_is = std::isnan(trainer.best_val_loss()) ? "the first held-out loss, NaN" : "the lowest held-out loss";
  run.log("Done: " + run.path() + " (the encoder: network-snapshot-" + psp::step_tag(trainer.cur_step()) + ".bin" +
          (best ? ", and best_model.bin, " + std::string(best_is) + "; psp encode reads either)" : "; psp encode reads it)"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("train_psp", [&] { return run(argc, argv); }); }
