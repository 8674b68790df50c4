// generate: images from a generator .bin (G_ema of a train_stylegan or
// train_pggan snapshot or checkpoint, a converted official network, or a
// standalone generator from export_weights); the file's metadata says which
// family it holds. One mode per run: seeds (one PNG per seed, or one grid),
// latents or (StyleGAN2, StyleGAN v1) styles from .npy files (PNGs named by
// index), StyleGAN2 styles from the projector's projected_w.npz (--projected-w,
// as the official generate.py: proj00.png, ...), and for StyleGAN2 and v1 a
// style-mixing grid as the official style_mixing.py, or frames interpolated
// in W between two seeds; for PGGAN the latent-walk video of its
// util_scripts.generate_interpolation_video (--lerp-video, through ffmpeg).
// A PGGAN or StyleGAN (v1) generator runs at its stored lod, or at --lod to
// look at an earlier level; v1 truncates the layers below --trunc-cutoff only.
// z for a seed is numpy's RandomState(seed).randn(1, z_dim), as the official
// scripts draw it (models/latents.h), so a seed gives the official image of a
// converted network, the same on the CPU and the GPU; --noise-mode random
// draws a seed's noise from the Philox stream of that seed. Images are made
// one at a time, so an image never depends on the others in the run (the one exception is
// --noise-mode random outside --seeds, where the images share one noise
// stream), and written as they are made: memory holds one image (a grid, its
// images; --lerp-video, the walk's latents and one frame's grid), and a
// stopped run keeps the PNGs it finished.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <set>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "models/latents.h"
#include "models/pggan/network_file.h"
#include "models/stylegan/network_file.h"
#include "models/stylegan2/latents.h"
#include "models/stylegan2/network_file.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "train/setting_checks.h"
#include "data/images/image_io.h"
#include "data/archives/npz.h"
#include "train/video_writer.h"

namespace {

using namespace gf;
using stylegan2::Generator;

// Caps on what one run makes: a million images (one PNG each), grids of at
// most 1000 images a side.
constexpr long long kMaxImages = 1000000, kMaxGridSide = 1000;

NoiseMode parse_noise_mode(const std::string& s) {
  if (s == "const") return NoiseMode::constant;
  if (s == "random") return NoiseMode::random;
  if (s == "none") return NoiseMode::none;
  throw Error("--noise-mode must be const, random or none, got '" + s + "'");
}

// Each of ws [N, num_ws, w_dim] through the synthesis network -> [N, C, H, W] on the CPU.
Tensor synthesize_each(Generator& G, const Tensor& ws, const stylegan2::SynthesisOptions& so) {
  std::vector<Tensor> imgs;
  for (int64_t i = 0; i < ws.size(0); ++i) imgs.push_back(G.synthesis.forward(slice(ws, 0, i, i + 1), so).to(Device::cpu()));
  return concat(imgs, 0);
}

// The official projected_w.npz: array 'w' [N, num_ws, w_dim] (float32, or
// float64 converted), N >= 1.
Tensor read_projected_w(const std::string& path, int num_ws, int w_dim) {
  const std::map<std::string, Tensor> arrays = read_npz(path, {"w"});
  const auto it = arrays.find("w");
  if (it == arrays.end()) throw Error("--projected-w " + path + ": holds no array 'w' (as projector writes it)");
  const Tensor& w = it->second;
  io::check_finite(w, "--projected-w " + path + ": 'w'");
  if (w.dim() != 3 || w.size(0) < 1 || w.size(1) != num_ws || w.size(2) != w_dim)
    throw Error("--projected-w " + path + ": 'w' has shape " + shape_str(w.shape()) + ", expected [N, " +
                std::to_string(num_ws) + ", " + std::to_string(w_dim) + "] (N >= 1, the network's num_ws and w_dim)");
  return w.to(DType::f32);
}

Tensor row(const Tensor& t, int64_t i, Device dev) { return t.defined() ? slice(t, 0, i, i + 1).to(dev) : t; }

// Flags that only make sense together, and the modes that exclude each other.
void check_flag_combinations(const cli::Args& args) {
  const bool mixing = args.has("mix-rows") || args.has("mix-cols");
  if (args.has("z") + args.has("w") + args.has("projected-w") + mixing + args.has("interp") + args.has("lerp-video") +
          (args.has("seeds") && !args.has("projected-w")) > 1)
    throw Error("--seeds, --z, --w, --projected-w, --mix-rows/--mix-cols, --interp and --lerp-video each choose "
                "what to generate: give one");
  for (const char* f : {"duration", "smoothing", "fps", "zoom", "lerp-seed"})
    if (args.has(f) && !args.has("lerp-video")) throw Error(std::string("--") + f + " needs --lerp-video");
  for (const char* f : {"outdir", "raw"})
    if (args.has(f) && args.has("lerp-video"))
      throw Error(std::string("--") + f + " does not apply to --lerp-video: the video is its one output");
  if (args.has("c") && args.has("lerp-video")) throw Error("--c does not apply to --lerp-video; use --class");
  if (mixing && !(args.has("mix-rows") && args.has("mix-cols")))
    throw Error("style mixing needs both --mix-rows and --mix-cols");
  if (args.has("mix-styles") && !mixing) throw Error("--mix-styles needs --mix-rows and --mix-cols");
  if (args.has("frames") && !args.has("interp")) throw Error("--frames needs --interp");
  if (args.has("grid") && (mixing || args.has("interp")))
    throw Error("--grid applies to --seeds, --z, --w, --projected-w and --lerp-video; style mixing and --interp "
                "lay out their own images");
  for (const char* trunc : {"trunc", "trunc-cutoff"})
    if (args.has("w") && args.has(trunc))
      throw Error(std::string("--") + trunc + " does not apply to --w: given w are used as they are");
  if (args.has("w") && (args.has("class") || args.has("c")))
    throw Error("--class and --c do not apply to --w: the label went into w through the mapping");
  if (args.has("projected-w") && args.has("c"))
    throw Error("--c does not apply to --projected-w: the label went into w through the mapping");
  if (args.has("c") && args.has("class")) throw Error("--c and --class both give labels: give one");
  if (args.has("c") && (mixing || args.has("interp"))) throw Error("--c applies to --seeds and --z; use --class");
}

// Labels: c1 [1, c_dim] for every image (--class), or one row per image (--c).
struct Labels {
  Tensor c1, rows;
};
Labels read_labels(const cli::Args& args, int c_dim, Device dev) {
  Labels l;
  if (c_dim > 0) {
    if (args.has("c")) {
      l.rows = read_rows(args.str("c"), c_dim, "--c", "c_dim", /*whole_numbers=*/true);
    } else {
      if (!args.has("class"))
        throw Error("the network is conditional (c_dim " + std::to_string(c_dim) +
                    "): pass --class K (the one-hot of class K, as generate.py) or --c (labels as they are)");
      const long long k = args.integer("class");
      if (k >= c_dim)
        throw Error("--class " + std::to_string(k) + " is outside [0, " + std::to_string(c_dim) + ")");
      std::vector<double> onehot(static_cast<size_t>(c_dim), 0.0);
      onehot[static_cast<size_t>(k)] = 1;
      l.c1 = Tensor::from_vector(onehot, {1, c_dim}, DType::f32, dev);
    }
  } else if (args.has("c")) {
    throw Error("--c given, but the network is unconditional");
  } else if (args.has("class")) {  // generate.py warns and renders
    std::cerr << "generate: warning: --class " << args.integer("class")
              << " is ignored: the network is unconditional\n";
  }
  return l;
}

// "N images are generated", in the singular for one.
std::string generated_text(int64_t n) { return n == 1 ? "1 image is generated" : cli::count_text(n, "image") + " are generated"; }

// --c must give one row per image.
void check_label_rows(int64_t rows, int64_t n) {
  if (rows != n) throw Error("--c has " + cli::count_text(rows, "row") + ", but " + generated_text(n));
}

// Before any image is made, so a wrong --grid fails at once: it must hold the
// n images, and its PNG of images res x res x channels must fit the writer.
// Images are PNGs of 1 (grey) or 3 (RGB) channels, as the official
// training_loop.save_image_grid asserts (generate.py writes 'RGB' only): a
// generator of other images (a converted or hand-made file) is refused
// before any image is made.
void check_png_channels(int channels, const std::string& path) {
  if (channels != 1 && channels != 3)
    throw Error(path + ": the generator makes images of " + std::to_string(channels) +
                " channels (img_channels); PNGs are written of 1 (grey) or 3 (RGB)");
}

void check_grid(const cli::Args& args, int gw, int gh, int64_t n, int res, int channels) {
  if (!args.has("grid")) return;
  if (gw * gh != n)
    throw Error("--grid " + args.str("grid") + " holds " + cli::count_text(gw * gh, "image") + ", but " + generated_text(n));
  check_grid_png_size(res, res, channels, gw, gh, "--grid " + args.str("grid"));
}

// A style-mixing canvas (a row of column seeds over rows of mixes, as the
// official style_mixing.py): checked before any image is made.
void check_mixing_png_size(const cli::Args& args, int res, int channels) {
  const int64_t gw = static_cast<int64_t>(args.integers("mix-cols").size()) + 1;
  const int64_t gh = static_cast<int64_t>(args.integers("mix-rows").size()) + 1;
  check_grid_png_size(res, res, channels, gw, gh, "--mix-rows/--mix-cols");
}

// What a run makes: n images, each made by produce(i) (in order, i = 0 ..
// n - 1) as [1, C, H, W] float32 on the CPU, written one PNG per name as it
// comes, or laid out in one gw x gh grid.png (gw > 0) at the end, each cell
// also written under its name with cells_too ("" for none). Pixels become
// 8 bits as the family's official generation script makes them (to8).
struct Outputs {
  int64_t n = 0;
  std::vector<std::string> names;
  std::function<Tensor(int64_t)> produce;
  int gw = 0, gh = 0;
  bool cells_too = false;
  To8Bit to8 = To8Bit::generate_py;
};

// The images of a style-mixing canvas made whole, as Outputs in a grid; each
// cell is also its own PNG as style_mixing.py saves them: "<row>-<col>.png"
// for a mix, "<seed>-<seed>.png" for an original (the corner is none).
Outputs mixing_outputs(const Tensor& images, const std::vector<long long>& rows, const std::vector<long long>& cols) {
  const int gw = static_cast<int>(cols.size()) + 1, gh = static_cast<int>(rows.size()) + 1;
  std::vector<std::string> names(size_t(gw) * gh);
  auto pair = [](long long r, long long c) { return std::to_string(r) + "-" + std::to_string(c) + ".png"; };
  for (int y = 0; y < gh; ++y)
    for (int x = 0; x < gw; ++x)
      if (x > 0 || y > 0)
        names[size_t(y) * gw + x] = y == 0   ? pair(cols[size_t(x - 1)], cols[size_t(x - 1)])
                                    : x == 0 ? pair(rows[size_t(y - 1)], rows[size_t(y - 1)])
                                             : pair(rows[size_t(y - 1)], cols[size_t(x - 1)]);
  return {images.size(0), names, [images](int64_t i) { return row(images, i, Device::cpu()); }, gw, gh, true};
}

// Whether image i is written as its own PNG: every named one, or in a grid
// only the named cells of a style-mixing canvas.
bool own_png(const Outputs& o, int64_t i) {
  return (o.gw == 0 || o.cells_too) && !o.names.empty() && !o.names[static_cast<size_t>(i)].empty();
}

// The files the run writes in --outdir, each once.
std::set<std::string> output_files(const Outputs& o) {
  std::set<std::string> files;
  for (int64_t i = 0; i < o.n; ++i)
    if (own_png(o, i)) files.insert(o.names[static_cast<size_t>(i)]);
  if (o.gw > 0) files.insert("grid.png");
  return files;
}

// Writes each image as it is made, so memory holds one image at a time (a
// grid's images wait for its one PNG) and a stopped run keeps the images it
// finished: its PNGs, and --raw (float32 [N, C, H, W], streamed into its
// temporary, renamed when every image is in).
// Why an image of a network is NaN where its run diverged: the tracked mean
// of W (w_avg; v1's dlatent_avg, whose default psi 0.7 truncates) is not
// finite, and truncation uses it; "" when that is not the cause.
std::string tracked_mean_cause(const cli::Args& args) {
  try {
    const io::SafetensorsFile f = io::read_safetensors(args.str("network"));
    for (const auto& [name, t] : f.tensors) {
      if (!is_tracked_mean_of_w(name) || io::first_nonfinite(t.to(DType::f32)) < 0) continue;
      // v1's default psi (0.7) truncates; StyleGAN2's (1) does not.
      const bool truncating = args.has("trunc") ? args.number("trunc") != 1 : network_family(f) == stylegan::kFamily;
      if (truncating)
        return "the network's " + name + " is not finite (its training diverged), and truncation uses it: --trunc 1 "
               "generates without it";
    }
  } catch (const std::exception&) {
  }
  return "";
}

int write_outputs(const cli::Args& args, const Outputs& o) {
  const std::string outdir = args.str("outdir");
  const std::set<std::string> files = output_files(o);
  // (--raw out/seed0001.png was replaced by the PNG, or shared its temporary.)
  cli::check_not_an_output(args, "raw", std::vector<std::string>(files.begin(), files.end()));
  std::vector<Tensor> grid;
  bool outdir_made = false;
  auto take = [&](int64_t i, const Tensor& img) {
    // A NaN would be a black PNG and a NaN --raw without a word: finite
    // inputs (a huge --trunc, --w of 1e30) can still overflow the network.
    // Without such inputs the weights themselves overflow: a damaged file.
    if (io::first_nonfinite(img.to(Device::cpu()).to(DType::f32)) >= 0) {
      bool user_inputs = false;
      for (const char* flag : {"trunc", "z", "w", "projected-w", "c"}) user_inputs = user_inputs || args.has(flag);
      const std::string diverged = tracked_mean_cause(args);
      throw Error("image " + std::to_string(i) + (o.names.empty() || o.names[size_t(i)].empty() ? std::string() : " (" + o.names[size_t(i)] + ")") +
                  " is not finite (NaN or inf): " +
                  (!diverged.empty() ? diverged
                   : user_inputs     ? "the inputs overflow the network (a huge --trunc, --z, --w or --c)"
                                     : "the network " + args.str("network") + " overflows with ordinary inputs (damaged weights?)"));
    }
    if (o.gw > 0) grid.push_back(img);
    if (!own_png(o, i)) return;
    if (!outdir_made) io::create_folder(outdir, "--outdir");
    outdir_made = true;
    save_image_grid(img, outdir + "/" + o.names[static_cast<size_t>(i)], 1, 1, nullptr, o.to8);
  };
  if (args.has("raw")) {
    io::MadeFolders raw_folders = io::create_parent_folder(args.str("raw"), "--raw");
    io::write_atomic(args.str("raw"), [&](std::ostream& f) {
      for (int64_t i = 0; i < o.n && f; ++i) {
        const Tensor img = o.produce(i).to(DType::f32).contiguous();
        if (i == 0) {
          Shape all = img.shape();
          all[0] = o.n;
          const std::string header = io::npy_header(DType::f32, all);
          f.write(header.data(), static_cast<std::streamsize>(header.size()));
        }
        f.write(static_cast<const char*>(img.raw()), static_cast<std::streamsize>(img.nbytes()));
        // Said now: take's PNG writes would leave no reason (errno) for the end's check.
        if (!f) throw Error("--raw: cannot write " + args.str("raw") + ": " + std::strerror(errno));
        take(i, img);
      }
    }, "--raw");
    raw_folders.keep();
  } else {
    for (int64_t i = 0; i < o.n; ++i) take(i, o.produce(i));
  }
  if (o.gw > 0) {
    io::create_folder(outdir, "--outdir");
    save_image_grid(concat(grid, 0), outdir + "/grid.png", o.gw, o.gh, nullptr, o.to8);
  }
  // Files, not images made: --seeds 1,1 makes seed0001.png twice.
  const long long pngs = static_cast<long long>(files.size()) - (o.gw > 0 ? 1 : 0);
  std::cout << "generate: wrote "
            << (o.gw == 0 ? cli::count_text(pngs, "image")
                : o.cells_too ? "grid.png and " + cli::count_text(pngs, "image") + " of its cells"
                              : std::string("grid.png"))
            << " to " << outdir
            << (o.gw == 0 && pngs < o.n ? " (" + std::to_string(o.n) + " made: a repeated name is written over)" : "")
            << (args.has("raw") ? " (raw: " + args.str("raw") + ")" : std::string()) << "\n";
  return 0;
}

// Where --lerp-video's file goes, as the other outputs a user names: through
// a link to the file it leads to (created there when dangling); the
// temporary-and-rename would replace a device, pipe or socket with a plain
// file (--lerp-video /dev/null replaced the device), so one is refused.
std::string video_destination(const std::string& given) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status st = fs::status(given, ec);
  if (fs::exists(st) && !fs::is_regular_file(st))
    throw Error("--lerp-video " + given + ": " +
                (fs::is_directory(st) ? std::string("a folder, not a file")
                                      : std::string("not a plain file (a device, pipe or socket): the video is "
                                                    "written to a temporary file and renamed; give a file's path")));
  return fs::is_symlink(fs::symlink_status(given, ec)) ? io::link_target(given, "--lerp-video") : given;
}

// PGGAN's util_scripts.generate_interpolation_video: a gw x gh grid of
// images along the latent walk (models/latents.h: --lerp-seed's draws
// smoothed over --smoothing seconds, looping) at --fps for --duration
// seconds, each frame 8-bit as Gs.run makes it, enlarged --zoom times, into
// --lerp-video through ffmpeg (libx264, 16M, as its moviepy writer). c1: the
// label of every image (--class), or none.
int write_latent_walk(const cli::Args& args, const pggan::Generator& G, const Tensor& c1, double lod, Device dev,
                      int gw, int gh) {
  const std::string out = args.str("lerp-video");
  const int fps = static_cast<int>(args.integer("fps")), zoom = static_cast<int>(args.integer("zoom"));
  const double duration = args.number("duration");
  // The walk's frames, int(np.rint(duration_sec * mp4_fps)); moviepy writes
  // one frame for each t of np.arange(0, duration, 1 / fps), the walk's
  // frame clip(round(t * fps), 0, frames - 1): one more where the product
  // is not whole (the last frame again).
  const double walk_real = std::nearbyint(duration * fps), step = 1.0 / fps;
  const double written_real = std::ceil(duration / step);
  if (walk_real < 1 || written_real > double(kMaxImages))
    throw Error("--duration " + args.str("duration") + " at --fps " + std::to_string(fps) + " makes " +
                (walk_real < 1 ? std::string("no frame") : std::string("more than a million frames")));
  const int64_t frames = static_cast<int64_t>(walk_real), written = static_cast<int64_t>(written_real);
  if (gw == 0) gw = gh = 1;
  const int res = G.config().resolution;
  const int64_t W = int64_t(gw) * res * zoom, H = int64_t(gh) * res * zoom;
  if (W > 16384 || H > 16384)
    throw Error("--lerp-video: frames of " + std::to_string(W) + "x" + std::to_string(H) +
                " pixels (--grid x resolution x --zoom); at most 16384 a side");
  const std::string dest = video_destination(out);
  const std::string ffmpeg = find_on_path("ffmpeg");  // after the flags' checks, which need no ffmpeg
  if (ffmpeg.empty())
    throw Error("--lerp-video writes through the ffmpeg program, which is not on PATH: install ffmpeg");
  const int64_t n = int64_t(gw) * gh;
  const Tensor z = latent_walk(frames, n, G.latent_size(), args.number("smoothing") * fps,
                               static_cast<uint32_t>(args.integer("lerp-seed")));
  const Tensor c = c1.defined() ? concat(std::vector<Tensor>(size_t(n), c1), 0) : c1;
  io::MadeFolders folders = io::create_parent_folder(dest, "--lerp-video");
  VideoWriter video(ffmpeg, dest, int(W), int(H), fps, VideoFlavor::moviepy, "generate");
  NoGradGuard ng;
  std::vector<uint8_t> frame;
  int64_t shown = -1;
  for (int64_t i = 0; i < written; ++i) {
    const int64_t f = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(double(i) * step * fps)), 0, frames - 1);
    if (f != shown) {
      const Tensor zf = slice(z, 0, f, f + 1).reshape({n, int64_t(G.latent_size())}).to(dev);
      frame = grid_video_frame(G.forward(zf, c, lod), gw, gh, zoom, To8Bit::tf_grid);
      shown = f;
    }
    video.add(frame);
  }
  video.finish();
  folders.keep();
  std::cout << "generate: wrote " << out << " (" << cli::count_text(written, "frame") << " of " << W << "x" << H
            << " at " << fps << " fps)\n";
  return 0;
}

// A PGGAN generator (Gs): --seeds or --z, labels, at --lod or its stored lod.
int generate_pggan(const cli::Args& args, const io::SafetensorsFile& file, const std::string& path, Device dev, int gw,
                   int gh) {
  if (args.has("projected-w"))
    throw Error("--projected-w applies to StyleGAN2 networks; " + path + " holds a PGGAN generator");
  for (const char* f : {"w", "trunc", "trunc-cutoff", "noise-mode", "mix-rows", "mix-cols", "mix-styles", "interp", "frames"})
    if (args.has(f))
      throw Error(std::string("--") + f + " applies to " +
                  (std::string(f) == "trunc-cutoff" ? "StyleGAN (v1)" : "StyleGAN2 and StyleGAN (v1)") + " networks; " +
                  path + " holds a PGGAN generator");
  const std::unique_ptr<pggan::Generator> G = pggan::load_generator(file, path, "G_ema");
  check_png_channels(G->config().num_channels, path);
  G->to(dev);
  const double lod = cli::lod_flag(args, G->config().resolution, G->lod(), path);
  const Labels labels = read_labels(args, G->config().label_size, dev);
  if (args.has("lerp-video")) return write_latent_walk(args, *G, labels.c1, lod, dev, gw, gh);
  const Tensor z = args.has("z") ? read_rows(args.str("z"), G->latent_size(), "--z", "latent_size") : Tensor();
  const std::vector<long long> seeds = z.defined() ? std::vector<long long>{} : args.integers("seeds");
  const int64_t n = z.defined() ? z.size(0) : static_cast<int64_t>(seeds.size());
  if (labels.rows.defined()) check_label_rows(labels.rows.size(0), n);
  check_grid(args, gw, gh, n, G->config().resolution, G->config().num_channels);
  NoGradGuard ng;
  Outputs o{n, {}, {}, gw, gh};
  // util_scripts.generate_fake_images: Gs.run(out_mul=127.5, out_add=127.5,
  // out_dtype=uint8), which rounds half to even and saturates (generate.py's
  // +128 truncated differs at exact halves).
  o.to8 = To8Bit::tf_grid;
  char name[64];
  for (int64_t i = 0; i < n; ++i) {
    std::snprintf(name, sizeof name, z.defined() ? "img%04lld.png" : "seed%04lld.png",
                  z.defined() ? static_cast<long long>(i) : seeds[static_cast<size_t>(i)]);
    o.names.push_back(name);
  }
  o.produce = [&](int64_t i) {
    const Tensor zi = z.defined() ? row(z, i, dev) : seed_latent(seeds[static_cast<size_t>(i)], G->latent_size(), dev);
    const Tensor ci = labels.rows.defined() ? row(labels.rows, i, dev) : labels.c1;
    return G->forward(zi, ci, lod).to(Device::cpu());
  };
  return write_outputs(args, o);
}

// A StyleGAN (v1) generator (Gs, as the official G_style at inference):
// --seeds, --z or --w, labels, --trunc with --trunc-cutoff (default: the
// network's truncation_psi and truncation_cutoff), the noise modes (const: the stored noise<i>),
// style-mixing grids (--mix-styles 0-3 coarse, 4-7 middle, 8- fine, as the
// paper's figure 3), --interp frames, at --lod or the stored lod.
int generate_stylegan(const cli::Args& args, const io::SafetensorsFile& file, const std::string& path, Device dev,
                      int gw, int gh) {
  if (args.has("projected-w"))
    throw Error("--projected-w applies to StyleGAN2 networks; " + path + " holds a StyleGAN (v1) generator");
  if (args.has("lerp-video"))
    throw Error("--lerp-video applies to PGGAN networks (its util_scripts); " + path +
                " holds a StyleGAN (v1) generator");
  const std::unique_ptr<stylegan::Generator> G = stylegan::load_generator(file, path, "G_ema");
  G->to(dev);
  const stylegan::GeneratorConfig& cfg = G->config();
  check_png_channels(cfg.num_channels, path);
  const double lod = cli::lod_flag(args, cfg.resolution, G->lod(), path);
  // The network's psi and cutoff unless given: the official G_style's
  // static defaults (0.7 below layer 8), which Gs.run(latents, labels) uses.
  const double psi = args.has("trunc") ? args.number("trunc") : cfg.truncation_psi;
  const int cutoff = args.has("trunc-cutoff") ? static_cast<int>(args.integer("trunc-cutoff")) : cfg.truncation_cutoff;
  const Labels labels = args.has("w") ? Labels{} : read_labels(args, cfg.label_size, dev);
  stylegan::SynthesisOptions so;
  so.noise_mode = parse_noise_mode(args.str("noise-mode"));
  gf::Generator noise_rng(0);
  so.noise_gen = &noise_rng;
  NoGradGuard ng;
  // Row i of ws [N, num_layers, dlatent] -> image [1, C, R, R] on the CPU.
  auto synth_row = [&](const Tensor& ws, int64_t i) {
    return G->synthesis(slice(ws, 0, i, i + 1), lod, so).to(Device::cpu());
  };
  auto synth = [&](const Tensor& ws) {  // every row, for a canvas
    std::vector<Tensor> imgs;
    for (int64_t i = 0; i < ws.size(0); ++i) imgs.push_back(synth_row(ws, i));
    return concat(imgs, 0);
  };
  auto seed_ws = [&](const std::vector<long long>& seeds, const Tensor& c, double seeds_psi) {
    std::vector<Tensor> ws;
    for (long long s : seeds)
      ws.push_back(G->truncate(G->mapping(seed_latent(s, cfg.latent_size, dev), c), seeds_psi, cutoff));
    return concat(ws, 0);
  };
  Outputs o{0, {}, {}, gw, gh};
  auto name_by = [&](const char* pattern, long long k) {
    char buf[64];
    std::snprintf(buf, sizeof buf, pattern, k);
    o.names.push_back(buf);
  };
  const int L = G->num_layers();
  if (args.has("mix-rows")) {
    std::vector<long long> styles = args.integers("mix-styles");
    if (!args.has("mix-styles")) styles.resize(std::min<size_t>(styles.size(), static_cast<size_t>(L)));
    for (long long s : styles)
      if (s < 0 || s >= L)
        throw Error("--mix-styles: style " + std::to_string(s) + " is outside [0, " + std::to_string(L) +
                    ") (the generator's layers)");
    check_mixing_png_size(args, cfg.resolution, cfg.num_channels);
    const auto rows = args.integers("mix-rows"), cols = args.integers("mix-cols");
    // generate_figures.py's draw_style_mixing_figure mixes the mapping's
    // output untruncated, on a white canvas: so here unless --trunc is given.
    const double mix_psi = args.has("trunc") ? psi : 1.0;
    const Tensor row_ws = seed_ws(rows, labels.c1, mix_psi), col_ws = seed_ws(cols, labels.c1, mix_psi);
    return write_outputs(args, mixing_outputs(stylegan2::mixing_canvas(synth(row_ws), synth(col_ws),
                                                                       synth(stylegan2::style_mix(row_ws, col_ws, styles)), 1.0),
                                              rows, cols));
  }
  Tensor ws;  // --w: the styles of every image, made one at a time
  if (args.has("interp")) {
    const auto ends = args.integers("interp");
    if (ends.size() != 2) throw Error("--interp expects two seeds, e.g. --interp 3,7");
    const long long frames = args.integer("frames");
    const Tensor end_ws = seed_ws(ends, labels.c1, psi), wa = row(end_ws, 0, dev), wb = row(end_ws, 1, dev);
    for (long long k = 0; k < frames; ++k) name_by("frame%04lld.png", k);
    o.n = frames;
    o.produce = [&](int64_t k) { return synth_row(stylegan2::interpolate_w(wa, wb, k, frames), 0); };
    return write_outputs(args, o);
  }
  if (args.has("w")) {
    ws = stylegan2::read_ws(args.str("w"), L, cfg.dlatent_size, "--w").to(dev);
    check_grid(args, gw, gh, ws.size(0), cfg.resolution, cfg.num_channels);
    for (int64_t i = 0; i < ws.size(0); ++i) name_by("img%04lld.png", i);
  }
  if (ws.defined()) {
    o.n = ws.size(0);
    o.produce = [&](int64_t i) { return synth_row(ws, i); };
    return write_outputs(args, o);
  }
  const Tensor z = args.has("z") ? read_rows(args.str("z"), cfg.latent_size, "--z", "latent_size") : Tensor();
  const std::vector<long long> seeds = z.defined() ? std::vector<long long>{} : args.integers("seeds");
  o.n = z.defined() ? z.size(0) : static_cast<int64_t>(seeds.size());
  if (labels.rows.defined()) check_label_rows(labels.rows.size(0), o.n);
  check_grid(args, gw, gh, o.n, cfg.resolution, cfg.num_channels);
  for (int64_t i = 0; i < o.n; ++i)
    name_by(z.defined() ? "img%04lld.png" : "seed%04lld.png", z.defined() ? i : seeds[static_cast<size_t>(i)]);
  o.produce = [&](int64_t i) {
    gf::Generator seed_rng(z.defined() ? 0 : static_cast<uint64_t>(seeds[static_cast<size_t>(i)]));
    stylegan::GenerateOptions go;
    go.truncation_psi = psi;
    go.truncation_cutoff = cutoff;
    go.synthesis = so;
    Tensor zi;
    if (z.defined()) {
      zi = row(z, i, dev);
    } else {
      zi = seed_latent(seeds[static_cast<size_t>(i)], cfg.latent_size, dev);
      go.synthesis.noise_gen = &seed_rng;  // random noise: the seed's Philox stream
    }
    const Tensor ci = labels.rows.defined() ? row(labels.rows, i, dev) : labels.c1;
    return G->forward(zi, ci, lod, go).to(Device::cpu());
  };
  return write_outputs(args, o);
}

int run(int argc, char** argv) {
  cli::Args args(argc, argv, "generate", "Generate images with a trained StyleGAN2, StyleGAN (v1) or PGGAN generator.",
                 {{"network", "FILE.bin", "", "generator snapshot (required)"},
                  cli::integer_list("seeds", "LIST", "0-7", "seeds, e.g. 0-63 or 1,5,9", 0, cli::kSeedMax, kMaxImages),
                  {"z", "FILE.npy", "", "latents [N, z_dim] instead of seeds"},
                  {"w", "FILE.npy", "", "styles [N, num_ws, w_dim] or [N, w_dim] instead of seeds; no truncation"},
                  {"projected-w", "FILE.npz", "", "StyleGAN2: the projector's projected_w.npz ('w' [N, num_ws, w_dim]): proj00.png, ...; --seeds, --trunc and --class ignored"},
                  {"c", "FILE.npy", "", "labels [N, c_dim], one row per image (with --seeds or --z)"},
                  cli::number("trunc", "PSI", "1", "truncation psi: 1 none, 0 the average w; outside [0, 1] extrapolates, as the official code allows (StyleGAN (v1): default the network's, 0.7 officially; 1 for style mixing, as its figure script)", cli::Range::any()),
                  cli::integer("trunc-cutoff", "N", "", "StyleGAN (v1): truncate the layers below N only (default: the network's, 8 officially)", 0, 1024),
                  cli::integer("class", "K", "", "class label, for a conditional network", 0, cli::kIntMax),
                  {"noise-mode", "MODE", "const", "const, random or none"},
                  {"outdir", "DIR", "out", "where to write the PNGs"},
                  {"grid", "WxH", "", "write one grid.png of W x H images instead of one file per image; with --lerp-video, the images of each frame (W and H integers in [1, 1000])"},
                  {"raw", "FILE.npy", "", "also write the images as float32 [N, C, H, W], before 8-bit conversion"},
                  cli::integer_list("mix-rows", "LIST", "", "style mixing: row seeds", 0, cli::kSeedMax, kMaxGridSide),
                  cli::integer_list("mix-cols", "LIST", "", "style mixing: column seeds", 0, cli::kSeedMax, kMaxGridSide),
                  cli::integer_list("mix-styles", "LIST", "0-6", "style mixing: indices of the ws taken from the column seed", 0, 1023, 1024),
                  cli::integer_list("interp", "SEED_A,SEED_B", "", "frames interpolated in W (after truncation) between two seeds", 0, cli::kSeedMax, 2),
                  cli::integer("frames", "N", "16", "number of --interp frames, both ends included", 2, kMaxImages),
                  {"lerp-video", "FILE.mp4", "",
                   "PGGAN: the latent-walk video of its util_scripts.generate_interpolation_video, through ffmpeg "
                   "(--grid, --duration, --smoothing, --fps, --zoom, --lerp-seed)"},
                  cli::number("duration", "SEC", "60", "--lerp-video: its length in seconds", cli::Range::above(0)),
                  cli::number("smoothing", "SEC", "1",
                              "--lerp-video: the Gaussian smoothing of the walk, in seconds (sigma; 0: none)",
                              cli::Range::at_least(0, 3600)),
                  cli::integer("fps", "N", "30", "--lerp-video: frames per second", 1, 1000),
                  cli::integer("zoom", "N", "1",
                               "--lerp-video: each frame enlarged N times (nearest pixels, as the official image_zoom)",
                               1, 64),
                  cli::integer("lerp-seed", "N", "1000",
                               "--lerp-video: the seed of the walk's numpy draws (the official random_seed)", 0,
                               cli::kSeedMax),
                  cli::number("lod", "LOD", "", "PGGAN, StyleGAN (v1): the level of detail (0: full resolution, k: resolution / 2^k, fractions fade; at most log2(resolution) - 2, the network's 4x4; default: the network's)", cli::Range::at_least(0, 30)),
                  cli::device("device", "cpu", "where to run")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  int gw = 0, gh = 0;
  if (args.has("grid")) {  // WxH: two integers inside one text flag, each checked as cli checks a flag
    const std::string g = args.str("grid");
    const size_t x = g.find('x');
    try {
      if (x == std::string::npos) throw Error("");
      gw = static_cast<int>(cli::parse_integer(g.substr(0, x), "grid", 1, kMaxGridSide));
      gh = static_cast<int>(cli::parse_integer(g.substr(x + 1), "grid", 1, kMaxGridSide));
    } catch (const Error&) {
      throw Error("--grid expects WxH with W and H integers in [1, " + std::to_string(kMaxGridSide) + "], got '" + g + "'");
    }
  }
  if (!args.has("network")) throw Error("--network is required (see --help)");
  check_flag_combinations(args);
  cli::check_output_file(args, "raw", {"network", "z", "w", "c", "projected-w"});
  cli::check_output_file(args, "lerp-video", {"network"});
  // generate.py renders projected_w.npz before it reads --trunc or --class,
  // so it uses neither: said, as it says it of --seeds.
  for (const char* f : {"seeds", "trunc", "class"})
    if (args.has("projected-w") && args.has(f)) std::cout << "warn: --" << f << " is ignored when using --projected-w\n";
  const Device dev = args.device("device");
  const std::string path = args.str("network");
  const io::SafetensorsFile file = io::read_safetensors(path);
  // Before any image is made, a file in the way fails at once; made at the
  // first write (write_outputs), so input refused below leaves no empty folder.
  io::check_folder(args.str("outdir"), "--outdir");
  if (network_family(file) == pggan::kFamily) return generate_pggan(args, file, path, dev, gw, gh);
  if (network_family(file) == stylegan::kFamily) return generate_stylegan(args, file, path, dev, gw, gh);
  if (args.has("lod")) throw Error("--lod applies to PGGAN and StyleGAN (v1) networks; " + path + " holds a StyleGAN2 generator");
  if (args.has("lerp-video"))
    throw Error("--lerp-video applies to PGGAN networks (its util_scripts); " + path +
                " holds a StyleGAN2 generator");
  if (args.has("trunc-cutoff")) throw Error("--trunc-cutoff applies to StyleGAN (v1) networks; " + path + " holds a StyleGAN2 generator");
  const std::unique_ptr<Generator> net = stylegan2::load_generator(file, path);
  Generator& G = *net;
  const stylegan2::GeneratorConfig& cfg = G.config();
  check_png_channels(cfg.img_channels, path);
  G.to(dev);

  const double psi = args.number("trunc");
  // Labels: c1 [1, c_dim] for every image (--class), or one row per image
  // (--c); none with --w or --projected-w (the label went into w).
  const Labels labels = args.has("w") || args.has("projected-w") ? Labels{} : read_labels(args, cfg.c_dim, dev);
  const Tensor c1 = labels.c1, c_rows = labels.rows;

  stylegan2::SynthesisOptions so;
  so.noise_mode = parse_noise_mode(args.str("noise-mode"));
  gf::Generator noise_rng(0);  // random noise outside --seeds mode: one stream for the run
  so.noise_gen = &noise_rng;
  NoGradGuard ng;

  Outputs o{0, {}, {}, gw, gh};
  auto check_n = [&](int64_t n) { check_grid(args, gw, gh, n, cfg.img_resolution, cfg.img_channels); };
  auto name_by = [&](const char* pattern, long long k) {
    char buf[64];
    std::snprintf(buf, sizeof buf, pattern, k);
    o.names.push_back(buf);
  };
  if (args.has("mix-rows")) {
    const auto rows = args.integers("mix-rows");
    const auto cols = args.integers("mix-cols");
    // The official default 0-6, cut to the generator's num_ws when it has fewer.
    std::vector<long long> styles = args.integers("mix-styles");
    if (!args.has("mix-styles")) styles.resize(std::min<size_t>(styles.size(), static_cast<size_t>(G.num_ws())));
    for (long long s : styles)
      if (s < 0 || s >= G.num_ws())
        throw Error("--mix-styles: style " + std::to_string(s) + " is outside [0, " + std::to_string(G.num_ws()) +
                    ") (the generator's num_ws)");
    check_mixing_png_size(args, cfg.img_resolution, cfg.img_channels);
    const Tensor row_ws = stylegan2::seed_ws(G, rows, c1, psi, dev), col_ws = stylegan2::seed_ws(G, cols, c1, psi, dev);
    return write_outputs(args, mixing_outputs(stylegan2::mixing_canvas(synthesize_each(G, row_ws, so), synthesize_each(G, col_ws, so),
                                                                       synthesize_each(G, stylegan2::style_mix(row_ws, col_ws, styles), so)),
                                              rows, cols));
  }
  Tensor ws;  // --w and --projected-w: the styles of every image, made one at a time
  if (args.has("interp")) {
    const auto ends = args.integers("interp");
    if (ends.size() != 2) throw Error("--interp expects two seeds, e.g. --interp 3,7");
    const long long frames = args.integer("frames");
    const Tensor end_ws = stylegan2::seed_ws(G, ends, c1, psi, dev), wa = row(end_ws, 0, dev), wb = row(end_ws, 1, dev);
    for (long long k = 0; k < frames; ++k) name_by("frame%04lld.png", k);
    o.n = frames;
    o.produce = [&](int64_t k) { return G.synthesis.forward(stylegan2::interpolate_w(wa, wb, k, frames), so).to(Device::cpu()); };
    return write_outputs(args, o);
  }
  if (args.has("w")) {
    ws = stylegan2::read_ws(args.str("w"), G.num_ws(), cfg.w_dim, "--w").to(dev);
    check_n(ws.size(0));
    for (int64_t i = 0; i < ws.size(0); ++i) name_by("img%04lld.png", i);
  } else if (args.has("projected-w")) {
    ws = read_projected_w(args.str("projected-w"), G.num_ws(), cfg.w_dim).to(dev);
    check_n(ws.size(0));
    for (int64_t i = 0; i < ws.size(0); ++i) name_by("proj%02lld.png", i);
  }
  if (ws.defined()) {
    o.n = ws.size(0);
    o.produce = [&](int64_t i) { return G.synthesis.forward(slice(ws, 0, i, i + 1), so).to(Device::cpu()); };
    return write_outputs(args, o);
  }
  // --z, or seeds: one z per image, then the mapping with truncation.
  const Tensor z = args.has("z") ? stylegan2::read_rows(args.str("z"), cfg.z_dim, "--z", "z_dim") : Tensor();
  const std::vector<long long> seeds = z.defined() ? std::vector<long long>{} : args.integers("seeds");
  o.n = z.defined() ? z.size(0) : static_cast<int64_t>(seeds.size());
  if (c_rows.defined()) check_label_rows(c_rows.size(0), o.n);
  check_n(o.n);
  for (int64_t i = 0; i < o.n; ++i)
    name_by(z.defined() ? "img%04lld.png" : "seed%04lld.png", z.defined() ? i : seeds[static_cast<size_t>(i)]);
  o.produce = [&](int64_t i) {
    gf::Generator seed_rng(z.defined() ? 0 : static_cast<uint64_t>(seeds[static_cast<size_t>(i)]));
    stylegan2::SynthesisOptions so_i = so;
    Tensor zi;
    if (z.defined()) {
      zi = row(z, i, dev);
    } else {
      zi = stylegan2::seed_latent(seeds[static_cast<size_t>(i)], cfg.z_dim, dev);
      so_i.noise_gen = &seed_rng;  // random noise: the seed's Philox stream
    }
    const Tensor ci = c_rows.defined() ? row(c_rows, i, dev) : c1;
    return G.forward(zi, ci, psi, std::nullopt, so_i).to(Device::cpu());
  };
  return write_outputs(args, o);
}

}  // namespace

int main(int argc, char** argv) { return gf::cli::run_main("generate", [&] { return run(argc, argv); }); }
