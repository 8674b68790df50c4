// discriminate: the logits a trained discriminator gives to images from a
// .npy file (generate --raw writes them; real images are x / 127.5 - 1). A
// PGGAN discriminator writes [N, 1 + label_size]: the score, then its AC-GAN
// label logits, at its stored lod or --lod; a StyleGAN (v1) D_basic writes
// [N, 1] (projected on --c's labels when labelled), at its lod or --lod.
// The minibatch-stddev layer looks across a batch, so a logit depends on the
// images beside it, as in training: by default the whole file is one batch;
// --batch N runs it N images at a time (to fit memory), which changes the
// groups and so the logits.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "models/latents.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"
#include "models/stylegan2/network_file.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "train/setting_checks.h"

namespace {

using namespace gf;

// --c must give one row per image.
void check_label_rows(int64_t rows, int64_t n) {
  if (rows != n)
    throw Error("--c has " + cli::count_text(rows, "row") + ", but --images has " + cli::count_text(n, "image"));
}

// Every pass, the last one included, must fill whole minibatch-stddev groups
// (group_size <= 0: none).
void check_groups(int64_t n, int64_t batch, int64_t group_size, const std::string& images_path, bool batch_given) {
  for (const int64_t size : {std::min(batch, n), n % batch}) {
    if (size == 0) continue;
    const int64_t group = group_size > 0 ? std::min<int64_t>(group_size, size) : 1;
    if (size % group != 0)
      throw Error("--images " + images_path + ": a batch of " + std::to_string(size) +
                  " images, but the minibatch-stddev layer needs a multiple of " + std::to_string(group) + " or at most " +
                  std::to_string(group_size) + " images" +
                  (batch_given ? " (choose --batch to divide the image count)" : ""));
  }
}

// D over the images, `batch` at a time, concatenated.
template <class F>
Tensor in_passes(const Tensor& img, int64_t batch, Device dev, F&& forward) {
  NoGradGuard ng;
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < img.size(0); i += batch) {
    const int64_t end = std::min(img.size(0), i + batch);
    parts.push_back(forward(slice(img, 0, i, end).to(dev), i, end).to(Device::cpu()));
  }
  return parts.size() == 1 ? parts.front() : concat(parts, 0);
}

Tensor read_images(const std::string& path, int channels, int resolution) {
  const Tensor img = io::read_input_npy(path, "--images").to(DType::f32);
  if (img.dim() != 4 || img.size(1) != channels || img.size(2) != resolution || img.size(3) != resolution)
    throw Error("--images " + path + ": shape " + shape_str(img.shape()) + ", but the discriminator reads [N, " +
                std::to_string(channels) + ", " + std::to_string(resolution) + ", " + std::to_string(resolution) + "]");
  if (img.size(0) < 1) throw Error("--images " + path + ": shape " + shape_str(img.shape()) + ": no images (N >= 1)");
  return img;
}

int64_t batch_size(const cli::Args& args, int64_t n) { return args.has("batch") ? args.integer("batch") : n; }

int write_logits(const cli::Args& args, const Tensor& logits) {
  // The images are finite (read_images' reader checks): a NaN or inf logit is
  // the network's, refused as generate refuses its non-finite images.
  if (const int64_t bad = io::first_nonfinite(logits); bad >= 0)
    throw Error("--network " + args.str("network") + ": logit " + std::to_string(bad) + " of " + std::to_string(logits.numel()) +
                " is not finite (NaN or inf) for finite images: the network's weights overflow (damaged?); nothing written");
  io::MadeFolders folders = io::create_parent_folder(args.str("out"), "--out");
  io::save_npy(args.str("out"), logits);
  folders.keep();
  std::cout << "discriminate: wrote logits " << shape_str(logits.shape()) << " to " << args.str("out") << "\n";
  return 0;
}

int discriminate_pggan(const cli::Args& args, const io::SafetensorsFile& file, const std::string& path, Device dev) {
  if (args.has("c")) throw Error("--c applies to StyleGAN2 and StyleGAN (v1) networks; a PGGAN discriminator predicts labels (AC-GAN)");
  const std::unique_ptr<pggan::Discriminator> D = pggan::load_discriminator(file, path);
  const pggan::DiscriminatorConfig& cfg = D->config();
  const double lod = cli::lod_flag(args, cfg.resolution, D->lod(), path);
  const Tensor img = read_images(args.str("images"), cfg.num_channels, cfg.resolution);
  const int64_t n = img.size(0), batch = batch_size(args, n);
  check_groups(n, batch, cfg.mbstd_group_size > 1 ? cfg.mbstd_group_size : 0, args.str("images"), args.has("batch"));
  D->to(dev);
  return write_logits(args, in_passes(img, batch, dev, [&](const Tensor& x, int64_t, int64_t) { return D->forward(x, lod); }));
}

// StyleGAN (v1) D_basic: scores [N, 1], labels by projection (LabelSwitch).
int discriminate_stylegan(const cli::Args& args, const io::SafetensorsFile& file, const std::string& path, Device dev) {
  const std::unique_ptr<stylegan::Discriminator> D = stylegan::load_discriminator(file, path);
  const stylegan::DiscriminatorConfig& cfg = D->config();
  const double lod = cli::lod_flag(args, cfg.resolution, D->lod(), path);
  const Tensor img = read_images(args.str("images"), cfg.num_channels, cfg.resolution);
  const int64_t n = img.size(0), batch = batch_size(args, n);
  check_groups(n, batch, cfg.mbstd_group_size > 1 ? cfg.mbstd_group_size : 0, args.str("images"), args.has("batch"));
  Tensor c;
  if (cfg.label_size > 0) {
    if (!args.has("c")) throw Error("the network is conditional (label_size " + std::to_string(cfg.label_size) + "): pass --c");
    c = read_rows(args.str("c"), cfg.label_size, "--c", "label_size", /*whole_numbers=*/true);
    check_label_rows(c.size(0), n);
    c = c.to(dev);
  } else if (args.has("c")) {
    throw Error("--c given, but the network is unconditional");
  }
  D->to(dev);
  return write_logits(args, in_passes(img, batch, dev, [&](const Tensor& x, int64_t i, int64_t end) {
                        return D->forward(x, c.defined() ? slice(c, 0, i, end) : c, lod);
                      }));
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "discriminate", "Score images with a trained StyleGAN2, StyleGAN (v1) or PGGAN discriminator.",
                 {{"network", "FILE.bin", "", "discriminator: a snapshot or checkpoint (its D), or a standalone D (required)"},
                  {"images", "FILE.npy", "", "float32 images [N, C, H, W] in [-1, 1] (required)"},
                  {"c", "FILE.npy", "", "labels [N, c_dim], for a conditional network"},
                  {"out", "FILE.npy", "", "where to write the logits [N, 1] ([N, 1 + label_size] for a conditional PGGAN D: score, then label logits) (required)"},
                  cli::integer("batch", "N", "", "images per forward pass (default: the whole file)", 1, cli::kInt64Max),
                  cli::number("lod", "LOD", "", "PGGAN, StyleGAN (v1): the level of detail D runs at (0: full resolution; at most log2(resolution) - 2, the network's 4x4; default: the network's)", cli::Range::at_least(0, 30)),
                  cli::device("device", "cpu", "where to run")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  for (const char* f : {"network", "images", "out"})
    if (!args.has(f)) throw Error(std::string("--") + f + " is required (see --help)");
  cli::check_output_file(args, "out", {"network", "images", "c"});
  const Device dev = args.device("device");
  const std::string path = args.str("network");
  const io::SafetensorsFile file = io::read_safetensors(path);
  if (network_family(file) == pggan::kFamily) return discriminate_pggan(args, file, path, dev);
  if (network_family(file) == stylegan::kFamily) return discriminate_stylegan(args, file, path, dev);
  if (args.has("lod")) throw Error("--lod applies to PGGAN and StyleGAN (v1) networks; " + path + " holds a StyleGAN2 discriminator");
  const std::unique_ptr<stylegan2::Discriminator> net = stylegan2::load_discriminator(file, path);
  const stylegan2::DiscriminatorConfig& cfg = net->config();

  const std::string images_path = args.str("images");
  const Tensor img = read_images(images_path, cfg.img_channels, cfg.img_resolution);
  const int64_t n = img.size(0), batch = batch_size(args, n);
  check_groups(n, batch, cfg.mbstd_num_channels > 0 && cfg.mbstd_group_size > 0 ? cfg.mbstd_group_size : 0,
               images_path, args.has("batch"));
  Tensor c;
  if (cfg.c_dim > 0) {
    if (!args.has("c")) throw Error("the network is conditional (c_dim " + std::to_string(cfg.c_dim) + "): pass --c");
    c = read_rows(args.str("c"), cfg.c_dim, "--c", "c_dim", /*whole_numbers=*/true);
    check_label_rows(c.size(0), n);
    c = c.to(dev);
  } else if (args.has("c")) {
    throw Error("--c given, but the network is unconditional");
  }

  net->to(dev);
  return write_logits(args, in_passes(img, batch, dev, [&](const Tensor& x, int64_t i, int64_t end) {
                        return net->forward(x, c.defined() ? slice(c, 0, i, end) : c);
                      }));
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("discriminate", [&] { return run(argc, argv); }); }
