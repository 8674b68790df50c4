// projector: StyleGAN2-ADA's projector.py. Finds the w of a StyleGAN2
// generator whose image matches a target photo (train/stylegan2/projector.h
// has the optimization) and writes, in --outdir: target.png (the target as
// the network sees it: centre-cropped to a square, resized with PIL's
// Lanczos filter), proj.png (the final w rendered with the network's own
// constant noise), projected_w.npz ('w', float32 [1, num_ws, w_dim], which
// generate --projected-w renders) and, with --save-video true (the default),
// proj.mp4: each step's image beside the target, through the ffmpeg program.
//
// Differences from the official script, on purpose: the starting noise and
// the w noise are ganforge's Philox streams from --seed, not torch's (the
// w_avg z samples are the official RandomState(123) draws);
// a 1-channel network gets a grey target (PIL's convert('L') of the RGB
// target) and its images go to the VGG repeated to 3 channels; proj.png and
// the video frames round to 8 bits as generate does, where the official
// proj.png truncates.

#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "engine/error.h"
#include "engine/io/npy.h"
#include "engine/io/atomic_file.h"
#include "engine/io/input_file.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "models/network_file.h"
#include "models/perceptual/vgg16.h"
#include "models/stylegan2/network_file.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "train/draw_log.h"
#include "data/images/image_io.h"
#include "data/images/image_resize.h"
#include "data/archives/npz.h"
#include "train/stylegan2/projector.h"
#include "train/video_writer.h"

namespace {

using namespace gf;

// The official target: the file as RGB, centre-cropped to a square ((w - s)
// // 2 from the left and top), resized to res x res with PIL's Lanczos; grey
// (PIL's L = (19595 R + 38470 G + 7471 B + 2^15) >> 16) for a 1-channel G.
// -> interleaved [res, res, channels] bytes.
std::vector<uint8_t> load_target(const std::string& path, int res, int channels) {
  const std::vector<uint8_t> bytes = io::read_input(path);
  ImageInfo info;
  // As stored, as PIL's open(...).convert('RGB') reads it: no EXIF turn.
  const std::vector<uint8_t> rgb = decode_image(bytes.data(), bytes.size(), path, 3, &info, nullptr, false);
  const int w = info.width, h = info.height, s = std::min(w, h);
  const int x0 = (w - s) / 2, y0 = (h - s) / 2;
  std::vector<uint8_t> square(size_t(s) * s * 3);
  for (int y = 0; y < s; ++y)
    std::copy_n(&rgb[(size_t(y0 + y) * w + x0) * 3], size_t(s) * 3, &square[size_t(y) * s * 3]);
  std::vector<uint8_t> out = resize_lanczos_pil(square, s, s, 3, res, res);
  if (channels == 1) {
    std::vector<uint8_t> grey(size_t(res) * res);
    for (size_t i = 0; i < grey.size(); ++i)
      grey[i] = uint8_t((out[3 * i] * 19595u + out[3 * i + 1] * 38470u + out[3 * i + 2] * 7471u + 0x8000u) >> 16);
    out.swap(grey);
  }
  return out;
}

// hwc bytes -> [C, H, W] float32 0..255.
Tensor to_chw(const std::vector<uint8_t>& hwc, int res, int channels) {
  std::vector<double> v(hwc.size());
  for (int c = 0; c < channels; ++c)
    for (int i = 0; i < res * res; ++i) v[size_t(c) * res * res + i] = hwc[size_t(i) * channels + c];
  return Tensor::from_vector(v, {channels, res, res});
}

// An image [1, C, H, W] in [-1, 1] -> interleaved RGB bytes [H, W, 3], to 8
// bits as generate.py does (as proj.png), grey repeated.
std::vector<uint8_t> to_rgb_bytes(const Tensor& img) {
  const int64_t c = img.size(1), h = img.size(2), w = img.size(3);
  const std::vector<double> v = img.to(Device::cpu()).to_vector();
  std::vector<uint8_t> out(size_t(h * w * 3));
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int k = 0; k < 3; ++k)
        out[size_t((y * w + x) * 3 + k)] = to_8_bit(float(v[size_t(((c == 1 ? 0 : k) * h + y) * w + x)]), To8Bit::generate_py);
  return out;
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "projector",
                 "Project an image into a StyleGAN2 generator's W space (StyleGAN2-ADA's projector.py).",
                 {{"network", "FILE.bin", "", "StyleGAN2 generator (a snapshot's G_ema, or a standalone generator) (required)"},
                  {"target", "FILE", "", "image to project: PNG, JPEG, ... (required)"},
                  {"vgg16", "FILE.bin", "", "the LPIPS VGG16: tools/convert_weights.py import vgg16-397923af.pth OUT.bin --format vgg16 --lpips vgg.pth (required)"},
                  cli::integer("num-steps", "N", "1000", "optimization steps", 1, 1000000),
                  cli::integer("seed", "N", "303", "random seed (initial noise, w noise)", 0, cli::kSeedMax),
                  {"save-video", "BOOL", "true", "write proj.mp4 of the optimization through ffmpeg (true or false)"},
                  {"outdir", "DIR", "", "where to write target.png, proj.png, projected_w.npz, proj.mp4 (required)"},
                  {"record-draws", "DIR", "", "record every random draw and each step's w, dist and loss into DIR (for tools/reference/projector_reference.py)"},
                  cli::device("device", "cpu", "where to run")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  for (const char* f : {"network", "target", "vgg16", "outdir"})
    if (!args.has(f)) throw Error(std::string("--") + f + " is required (see --help)");
  const bool save_video = cli::parse_bool(args.str("save-video"), "save-video");
  std::string ffmpeg;
  if (save_video) {
    ffmpeg = find_on_path("ffmpeg");
    if (ffmpeg.empty())
      throw Error("--save-video needs the ffmpeg program, which is not on PATH: install ffmpeg (e.g. apt-get install "
                  "ffmpeg) or pass --save-video false");
  }
  cli::check_not_in_input_folder(args, "--outdir", args.str("outdir"), {"network", "target", "vgg16"});
  // An output over an input (--target out/target.png --outdir out) is refused
  // before any work, as every program here does.
  for (const char* name : {"target.png", "proj.png", "projected_w.npz", "proj.mp4"}) {
    const std::string out = args.str("outdir") + "/" + name;
    cli::check_not_input(args, "--outdir " + args.str("outdir") + ":", out, {"network", "target", "vgg16"});
    std::error_code ec;
    if (std::filesystem::is_directory(out, ec)) throw Error("cannot write " + out + ": a folder, not a file");
  }
  // An --outdir that cannot be made (a file in the way, a read-only parent)
  // is refused now, not after the projection's steps.
  io::check_parent_folder(args.str("outdir") + "/target.png", "--outdir");
  const Device dev = args.device("device");

  const std::string net_path = args.str("network");
  const io::SafetensorsFile file = io::read_safetensors(net_path);
  const std::string family = network_family(file);
  if (family != "stylegan2")
    throw Error(net_path + " holds a " + family + " network; the projector takes StyleGAN2 generators");
  const std::unique_ptr<stylegan2::Generator> G = stylegan2::load_generator(file, net_path);
  const stylegan2::GeneratorConfig& cfg = G->config();
  if (cfg.c_dim != 0)
    throw Error(net_path + " is conditional (c_dim " + std::to_string(cfg.c_dim) +
                "); the projector maps z without labels, as the official one, and takes unconditional generators");
  const int res = cfg.img_resolution, channels = cfg.img_channels;
  // The target is read as grey or RGB, as the official asserts it matches
  // G's channels (target.shape == (G.img_channels, ...)).
  if (channels != 1 && channels != 3)
    throw Error(net_path + ": the generator makes images of " + std::to_string(channels) +
                " channels (img_channels); the projector matches grey (1) or RGB (3) targets");
  // Checked before the 10000 mapping samples: the VGG16's four pools need 16.
  if (res < perceptual::Vgg16::kMinLpipsSide)
    throw Error(net_path + " makes " + std::to_string(res) + "x" + std::to_string(res) + " images; the projector's VGG16 needs at least " +
                std::to_string(perceptual::Vgg16::kMinLpipsSide) + "x" + std::to_string(perceptual::Vgg16::kMinLpipsSide));
  const std::vector<uint8_t> target = load_target(args.str("target"), res, channels);
  std::unique_ptr<perceptual::Vgg16> vgg = perceptual::load_vgg16(args.str("vgg16"));
  G->to(dev);
  vgg->to(dev);
  const std::string outdir = args.str("outdir");
  std::unique_ptr<DrawLog> log;
  if (args.has("record-draws")) log = DrawLog::recorder(args.str("record-draws"));

  stylegan2::ProjectorOptions opt;
  opt.num_steps = int(args.integer("num-steps"));
  opt.seed = uint64_t(args.integer("seed"));
  // projector.py's two lines before the steps; here once every input has
  // been read and checked, so that bad input stays one line.
  std::cout << "Loading networks from \"" << net_path << "\"..." << std::endl;
  std::cout << "Computing W midpoint and stddev using " << opt.w_avg_samples << " samples..." << std::endl;
  const auto start = std::chrono::steady_clock::now();
  const stylegan2::Projection p = stylegan2::project(*G, *vgg, to_chw(target, res, channels), opt, log.get(),
                                                     [&](int step, double dist, double loss) {
    char line[128];
    std::snprintf(line, sizeof line, "step %4d/%d: dist %-4.2f loss %-5.2f", step + 1, opt.num_steps, dist, loss);
    std::cout << line << std::endl;
  });
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char line[64];
  std::snprintf(line, sizeof line, "Elapsed: %.1f s", elapsed);
  std::cout << line << std::endl;
  if (log) {
    io::TensorMap trace{{"w_steps", p.w_steps},
                        {"dist", Tensor::from_vector(p.dist, {int64_t(p.dist.size())}, DType::f64)},
                        {"loss", Tensor::from_vector(p.loss, {int64_t(p.loss.size())}, DType::f64)}};
    for (const auto& [name, t] : p.noise) trace["noise/" + name] = t;
    io::save_safetensors(args.str("record-draws") + "/trace.bin", trace);
  }

  NoGradGuard ng;
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  const int num_ws = G->num_ws();
  const std::vector<uint8_t> target_rgb =
      channels == 3 ? target : to_rgb_bytes(to_chw(target, res, 1).reshape({1, 1, res, res}) / 127.5 - 1.0);
  const Tensor ws = stylegan2::projected_ws(p, opt.num_steps - 1, num_ws);
  const Tensor projected = G->synthesis.forward(ws.to(dev), so);
  // A network whose weights overflow makes NaN images, a NaN loss and a NaN
  // w: refused as generate refuses them, before any output (an all-NaN
  // projected_w.npz and a black proj.png were written, exit 0).
  if (io::first_nonfinite(ws.to(Device::cpu()).to(DType::f32)) >= 0 ||
      io::first_nonfinite(projected.to(Device::cpu()).to(DType::f32)) >= 0)
    throw Error("--network " + args.str("network") + ": the projection is not finite (NaN or inf in w or in its image): " +
                "the network's images overflow; nothing written");
  // The results first (the folder made only now, as the official script
  // makes it after the projection): a video that fails loses nothing else.
  // The three are one result, replaced together: a failure on the last
  // leaves no new proj.png beside an old projected_w.npz.
  io::create_folder(outdir, "--outdir");
  io::AtomicFileSet results;
  save_image_grid(to_chw(target, res, channels).reshape({1, channels, res, res}) / 127.5 - 1.0, outdir + "/target.png", 1, 1,
                  &results);
  save_image_grid(projected, outdir + "/proj.png", 1, 1, &results, To8Bit::generate_py);
  save_npz(outdir + "/projected_w.npz", {{"w", ws}}, &results);
  results.commit();
  if (save_video) {
    std::cout << "Saving optimization progress video \"" << outdir << "/proj.mp4\"" << std::endl;
    VideoWriter video(ffmpeg, outdir + "/proj.mp4", 2 * res, res, 10, VideoFlavor::imageio, "projector");
    for (int k = 0; k < opt.num_steps; ++k) {
      const std::vector<uint8_t> synth = to_rgb_bytes(G->synthesis.forward(stylegan2::projected_ws(p, k, num_ws).to(dev), so));
      std::vector<uint8_t> frame(size_t(res) * 2 * res * 3);
      for (int y = 0; y < res; ++y) {
        std::copy_n(&target_rgb[size_t(y) * res * 3], size_t(res) * 3, &frame[size_t(y) * 2 * res * 3]);
        std::copy_n(&synth[size_t(y) * res * 3], size_t(res) * 3, &frame[(size_t(y) * 2 + 1) * res * 3]);
      }
      video.add(frame);
    }
    video.finish();
  }
  std::cout << "projector: wrote target.png, proj.png, projected_w.npz" << (save_video ? ", proj.mp4" : "") << " to "
            << outdir << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("projector", [&] { return run(argc, argv); }); }
