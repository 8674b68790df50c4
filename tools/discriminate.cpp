// discriminate: the logits a trained discriminator gives to images from a
// .npy file (generate --raw writes them; real images are x / 127.5 - 1).
// The minibatch-stddev layer looks across a batch, so a logit depends on the
// images beside it, as in training: by default the whole file is one batch;
// --batch N runs it N images at a time (to fit memory), which changes the
// groups and so the logits.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "engine/error.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "models/stylegan2/latents.h"
#include "models/stylegan2/network_file.h"
#include "train/cli.h"

namespace {

using namespace gf;

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "discriminate", "Score images with a trained StyleGAN2 discriminator.",
                 {{"network", "FILE.bin", "", "discriminator: a snapshot or checkpoint (its D), or a standalone D (required)"},
                  {"images", "FILE.npy", "", "float32 images [N, C, H, W] in [-1, 1] (required)"},
                  {"c", "FILE.npy", "", "labels [N, c_dim], for a conditional network"},
                  {"out", "FILE.npy", "", "where to write the logits [N, 1] (required)"},
                  cli::integer("batch", "N", "", "images per forward pass (default: the whole file)", 1, cli::kInt64Max),
                  {"device", "cpu|cuda", "cpu", "where to run"}});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  for (const char* f : {"network", "images", "out"})
    if (!args.has(f)) throw Error(std::string("--") + f + " is required (see --help)");
  const Device dev = Device::parse(args.str("device"));
  check_device_usable(dev);
  const std::unique_ptr<stylegan2::Discriminator> net = stylegan2::load_discriminator(args.str("network"));
  const stylegan2::DiscriminatorConfig& cfg = net->config();

  const std::string images_path = args.str("images");
  const Tensor img = io::read_npy(images_path).to(DType::f32);
  const int64_t n = img.dim() == 4 ? img.size(0) : 0;
  if (n < 1 || img.size(1) != cfg.img_channels || img.size(2) != cfg.img_resolution || img.size(3) != cfg.img_resolution)
    throw Error("--images " + images_path + ": shape " + shape_str(img.shape()) + ", but the discriminator reads [N, " +
                std::to_string(cfg.img_channels) + ", " + std::to_string(cfg.img_resolution) + ", " +
                std::to_string(cfg.img_resolution) + "]");
  const int64_t batch = args.has("batch") ? args.integer("batch") : n;
  // Every pass, the last one included, must fill whole minibatch-stddev groups.
  for (const int64_t size : {std::min(batch, n), n % batch}) {
    if (size == 0) continue;
    const int64_t group =
        cfg.mbstd_num_channels > 0 && cfg.mbstd_group_size > 0 ? std::min<int64_t>(cfg.mbstd_group_size, size) : 1;
    if (size % group != 0)
      throw Error("--images " + images_path + ": a batch of " + std::to_string(size) +
                  " images, but the minibatch-stddev layer needs a multiple of " + std::to_string(group) +
                  (args.has("batch") ? " (choose --batch to divide the image count)" : ""));
  }
  Tensor c;
  if (cfg.c_dim > 0) {
    if (!args.has("c")) throw Error("the network is conditional (" + std::to_string(cfg.c_dim) + " classes): pass --c");
    c = stylegan2::read_rows(args.str("c"), cfg.c_dim, "--c", "c_dim");
    if (c.size(0) != n)
      throw Error("--c has " + std::to_string(c.size(0)) + " rows, but --images has " + std::to_string(n) + " images");
    c = c.to(dev);
  } else if (args.has("c")) {
    throw Error("--c given, but the network is unconditional");
  }

  net->to(dev);
  NoGradGuard ng;
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < n; i += batch) {
    const int64_t end = std::min(n, i + batch);
    const Tensor ci = c.defined() ? slice(c, 0, i, end) : c;
    parts.push_back(net->forward(slice(img, 0, i, end).to(dev), ci).to(Device::cpu()));
  }
  const Tensor logits = parts.size() == 1 ? parts.front() : concat(parts, 0);
  io::save_npy(args.str("out"), logits);
  const std::vector<double> v = logits.to_vector();
  size_t finite = 0;
  for (double x : v) finite += std::isfinite(x);
  std::cout << "discriminate: wrote logits " << shape_str(logits.shape()) << " to " << args.str("out") << " ("
            << finite << " of " << v.size() << " finite)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("discriminate", [&] { return run(argc, argv); }); }
