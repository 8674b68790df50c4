// train_stylegan: trains a StyleGAN2 generator and discriminator, the loop of
// the official StyleGAN2-ADA training_loop.py without augmentation: phases
// Gmain, Greg (path length, every 4 minibatches), Dmain, Dreg (R1, every 16),
// each with its own optimizer step; lazy-regularization lr and beta scaling;
// EMA of G. Writes a numbered run folder: training_options.json, log.txt,
// stats.jsonl, reals.png, fakes<kimg>.png from G_ema, network-snapshot-<kimg>.bin.
// Not yet here (see the issue notes): --resume and full checkpoints.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "models/discriminator.h"
#include "models/generator.h"
#include "models/network_file.h"
#include "train/adam.h"
#include "train/cli.h"
#include "train/configs.h"
#include "train/dataset.h"
#include "train/ema.h"
#include "train/image_io.h"
#include "train/loss.h"
#include "train/run_dir.h"

namespace {

using namespace gf;
using stylegan2::Discriminator;
using stylegan2::DiscriminatorConfig;
using stylegan2::GeneratorConfig;
using stylegan2::SynthesisOptions;

std::string kimg_tag(int64_t nimg) {
  char b[32];
  std::snprintf(b, sizeof b, "%06lld", static_cast<long long>(nimg / 1000));
  return b;
}

// Adam with the official lazy-regularization adjustment: lr * r, betas ** r,
// r = interval / (interval + 1).
AdamOptions lazy_adam(double lr, int interval) {
  const double r = static_cast<double>(interval) / (interval + 1);
  AdamOptions o;
  o.lr = lr * r;
  o.beta1 = std::pow(0.0, r);
  o.beta2 = std::pow(0.99, r);
  o.eps = 1e-8;
  return o;
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "train_stylegan",
                 "Train a StyleGAN2 network. Without --data it trains on Fashion-MNIST (Debian's dataset-fashion-mnist).",
                 {{"outdir", "DIR", "runs", "where to make the run folder"},
                  {"data", "PATH", "", "image folder or .zip (default: Fashion-MNIST)"},
                  {"cfg", "NAME", "auto", "auto, stylegan2, paper256, paper512, paper1024, cifar, small, tiny"},
                  {"gpus", "N", "1", "GPU count the config is derived for (training runs on one device)"},
                  {"batch", "N", "", "override the config's batch size"},
                  {"kimg", "N", "", "train for this many thousand images"},
                  {"gamma", "G", "", "override the R1 weight"},
                  {"snap", "TICKS", "50", "snapshot interval in ticks"},
                  {"tick", "KIMG", "4", "progress line interval in thousand images"},
                  {"seed", "N", "0", "random seed"},
                  {"mirror", "", "", "add x-flipped copies of the data"},
                  {"cond", "", "", "train a class-conditional network from the dataset's labels"},
                  {"max-images", "N", "", "use at most N images of the dataset"},
                  {"device", "cpu|cuda", "cpu", "where to train"}});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  const Device dev = Device::parse(args.str("device"));
  check_device_usable(dev);
  DatasetOptions dopt;
  dopt.use_labels = args.flag("cond");
  dopt.xflip = args.flag("mirror");
  if (args.has("max-images")) dopt.max_images = args.integer("max-images");
  const auto ds = open_dataset(args.str("data"), dopt);
  TrainSpec spec = make_train_spec(args.str("cfg"), ds->resolution(), static_cast<int>(args.integer("gpus")));
  if (args.has("batch")) spec.batch = static_cast<int>(args.integer("batch"));
  if (args.has("gamma")) spec.gamma = args.number("gamma");
  if (args.has("kimg")) spec.kimg = args.number("kimg");
  GF_CHECK(spec.batch >= 1 && spec.batch % std::max(spec.mbstd_group, 1) == 0, "train_stylegan",
           "--batch " << spec.batch << " must be a positive multiple of the minibatch-stddev group " << spec.mbstd_group);
  const uint64_t seed = static_cast<uint64_t>(args.integer("seed"));

  GeneratorConfig gc;
  gc.z_dim = spec.z_dim;
  gc.w_dim = spec.w_dim;
  gc.c_dim = static_cast<int>(ds->c_dim());
  gc.img_resolution = ds->resolution();
  gc.img_channels = ds->channels();
  gc.mapping_layers = spec.mapping_layers;
  gc.channel_base = spec.channel_base;
  gc.channel_max = spec.channel_max;
  if (spec.conv_clamp > 0) gc.conv_clamp = spec.conv_clamp;
  DiscriminatorConfig dc;
  dc.c_dim = gc.c_dim;
  dc.img_resolution = gc.img_resolution;
  dc.img_channels = gc.img_channels;
  dc.channel_base = spec.channel_base;
  dc.channel_max = spec.channel_max;
  dc.conv_clamp = gc.conv_clamp;
  dc.mbstd_group_size = spec.mbstd_group;

  stylegan2::Generator G(gc, seed), G_ema(gc, seed);
  Discriminator D(dc, seed + 1);
  G_ema.copy_from(G);
  G.to(dev);
  G_ema.to(dev);
  D.to(dev);
  G_ema.requires_grad_(false);
  Adam g_opt(G.named_parameters(), lazy_adam(spec.lrate, spec.g_reg_interval));
  Adam d_opt(D.named_parameters(), lazy_adam(spec.lrate, spec.d_reg_interval));

  Generator rng(seed);  // z, noise, style mixing: Philox, the same on CPU and GPU
  InfiniteSampler sampler(ds->size(), seed);
  LossOptions lopt;
  lopt.r1_gamma = spec.gamma;
  lopt.style_mixing_prob = spec.style_mixing;
  lopt.pl_weight = spec.pl_weight;
  const bool cond = ds->c_dim() > 0;
  LossNetworks nets{
      [&](const Tensor& z, const Tensor& c, bool update) { return G.mapping.forward(z, c, 1, std::nullopt, update); },
      [&](const Tensor& ws) {
        SynthesisOptions so;
        so.noise_mode = NoiseMode::random;
        so.noise_gen = &rng;
        return G.synthesis.forward(ws, so);
      },
      [&](const Tensor& img, const Tensor& c) { return D.forward(img, c); }};
  StyleGAN2Loss loss(nets, lopt, rng);

  std::ostringstream desc;
  desc << ds->name() << "-" << spec.cfg << (cond ? "-cond" : "") << (dopt.xflip ? "-mirror" : "");
  RunDir run(args.str("outdir"), desc.str());
  nlohmann::json options = {{"spec", to_json(spec)},     {"G_kwargs", to_json(gc)}, {"D_kwargs", to_json(dc)},
                            {"data", args.str("data")},  {"dataset", ds->name()},   {"resolution", ds->resolution()},
                            {"dataset_size", ds->size()}, {"seed", seed},           {"device", dev.str()}};
  run.write_json("training_options.json", options);
  run.log("Run folder " + run.path() + ": " + ds->name() + " (" + std::to_string(ds->size()) + " images, " +
          std::to_string(ds->resolution()) + "x" + std::to_string(ds->resolution()) + "), cfg " + spec.cfg + ", batch " +
          std::to_string(spec.batch) + ", G " + std::to_string(G.num_params()) + " params, D " +
          std::to_string(D.num_params()) + " params, device " + dev.str());

  // Fixed latents for the fakes grids.
  const int gw = 8, gh = 4;
  Generator grid_rng(seed + 123);
  const Tensor grid_z = randn({gw * gh, gc.z_dim}, grid_rng, DType::f32, dev);
  const Dataset::Batch grid_real = ds->batch(InfiniteSampler(ds->size(), seed + 1).next_batch(gw * gh), dev);
  const Tensor grid_c = cond ? grid_real.labels : Tensor();
  save_image_grid(grid_real.images.to(Device::cpu()), run.file("reals.png"), gw, gh);

  const int64_t total = static_cast<int64_t>(spec.kimg * 1000);
  const int64_t tick_nimg = static_cast<int64_t>(args.number("tick") * 1000);
  const int64_t snap = args.integer("snap");
  int64_t cur_nimg = 0, iter = 0, tick = 0, tick_start_nimg = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto tick_t = t0;
  for (bool done = false; !done;) {
    const Dataset::Batch real = ds->batch(sampler.next_batch(spec.batch), dev);
    const Tensor c = cond ? real.labels : Tensor();
    const Tensor z = randn({spec.batch, gc.z_dim}, rng, DType::f32, dev);
    // G phases: D's weights get no gradient.
    D.requires_grad_(false);
    G.requires_grad_(true);
    G.zero_grad();
    backward(loss.g_main(z, c, 1.0));
    g_opt.step();
    if (spec.pl_weight > 0 && iter % spec.g_reg_interval == 0) {
      G.zero_grad();
      backward(loss.g_pl(z, c, spec.g_reg_interval));
      g_opt.step();
    }
    // D phases.
    G.requires_grad_(false);
    D.requires_grad_(true);
    D.zero_grad();
    backward(loss.d_main(real.images, c, randn({spec.batch, gc.z_dim}, rng, DType::f32, dev), c, 1.0));
    d_opt.step();
    if (spec.gamma > 0 && iter % spec.d_reg_interval == 0) {
      D.zero_grad();
      backward(loss.d_r1(real.images, c, spec.d_reg_interval));
      d_opt.step();
    }
    cur_nimg += spec.batch;
    ++iter;
    ema_update(G_ema, G, ema_beta(spec.ema_kimg, spec.ema_rampup > 0 ? std::optional<double>(spec.ema_rampup) : std::nullopt,
                                  cur_nimg, spec.batch));
    done = cur_nimg >= total;
    if (!done && cur_nimg < tick_start_nimg + tick_nimg) continue;

    const auto now = std::chrono::steady_clock::now();
    const double sec_tick = std::chrono::duration<double>(now - tick_t).count();
    const double total_sec = std::chrono::duration<double>(now - t0).count();
    const double sec_kimg = sec_tick / std::max<double>(cur_nimg - tick_start_nimg, 1) * 1000;
    const LossStats& st = loss.stats();
    char line[512];
    std::snprintf(line, sizeof line,
                  "tick %-4lld kimg %-8.1f time %-8.0f sec/tick %-7.1f sec/kimg %-7.2f G %.4f D %.4f+%.4f r1 %.4g pl %.4g "
                  "scores real %.3f fake %.3f",
                  static_cast<long long>(tick), cur_nimg / 1000.0, total_sec, sec_tick, sec_kimg, st.g_loss,
                  st.d_loss_real, st.d_loss_fake, st.r1_penalty, st.pl_penalty, st.scores_real, st.scores_fake);
    run.log(line);
    run.append_stats({{"tick", tick}, {"kimg", cur_nimg / 1000.0}, {"total_sec", total_sec}, {"sec_per_tick", sec_tick},
                      {"sec_per_kimg", sec_kimg}, {"loss_G", st.g_loss}, {"loss_D_real", st.d_loss_real},
                      {"loss_D_fake", st.d_loss_fake}, {"r1_penalty", st.r1_penalty}, {"pl_penalty", st.pl_penalty},
                      {"pl_mean", loss.pl_mean()}, {"scores_real", st.scores_real}, {"scores_fake", st.scores_fake}});
    if (done || (snap > 0 && tick % snap == 0)) {
      SynthesisOptions so;
      so.noise_mode = NoiseMode::constant;
      Tensor fakes;
      {
        NoGradGuard ng;
        fakes = G_ema.forward(grid_z, grid_c, 1, std::nullopt, so);
      }
      save_image_grid(fakes.to(Device::cpu()), run.file("fakes" + kimg_tag(cur_nimg) + ".png"), gw, gh);
      io::TensorMap bundle = stylegan2::add_prefix(G.state_dict(), "G.");
      bundle.merge(stylegan2::add_prefix(D.state_dict(), "D."));
      bundle.merge(stylegan2::add_prefix(G_ema.state_dict(), "G_ema."));
      io::save_safetensors(run.file("network-snapshot-" + kimg_tag(cur_nimg) + ".bin"), bundle,
                           {{"G_kwargs", to_json(gc).dump()}, {"D_kwargs", to_json(dc).dump()},
                            {"kimg", std::to_string(cur_nimg / 1000.0)}});
    }
    ++tick;
    tick_start_nimg = cur_nimg;
    tick_t = now;
  }
  run.log("Done: " + run.path());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("train_stylegan", [&] { return run(argc, argv); }); }
