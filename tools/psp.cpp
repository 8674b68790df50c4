// psp: image -> W+ inference with a pSp network (a .bin from
// tools/convert_weights.py import of a pixel2style2pixel checkpoint).
//
//   psp encode --network psp.bin --images DIR|ZIP|N.npy --outdir OUT
//       As pSp's scripts/inference.py: each image resized to the encoder's
//       input (PIL bilinear, as transforms.Resize), scaled to [-1, 1],
//       encoded to W+ codes (plus latent_avg) and decoded with the stored
//       noise. Writes OUT/latents.npy [N, n_styles, w_dim] (rows in the order
//       of OUT/names.txt; `generate --w` re-renders them), and unless
//       --no-images OUT/inference_results/<name>.png and
//       OUT/inference_coupled/<name>.png (input beside output: every image
//       with --couple, else images 0, 100, ... as inference.py), and
//       OUT/stats.txt (inference.py's "Runtime <mean>+-<std>"). With
//       --latent-mask (and --mix-alpha, --seed) each image's masked codes
//       come from one random w, decoded with random noise, as inference.py
//       --latent_mask does; latents.npy holds the mixed codes.
//   psp mix --network psp.bin --images ... --outdir OUT --latent-mask 8-17
//       Multi-modal synthesis as pSp's scripts/style_mixing.py: for each
//       image, --n-outputs outputs whose masked codes come from the mapping
//       of a random z (mixed with --mix-alpha), in one row beside the input:
//       OUT/style_mixing/<name>.png. Random noise by default, as there.
//   psp losses --mode lpips|l2 --data-path RESULTS --gt-path GT [--lpips lpips.bin]
//       As pSp's scripts/calc_losses_on_images.py: LPIPS (AlexNet) or L2 of
//       each result against its ground truth (train/psp/image_losses.h),
//       written to inference_metrics/stat_<mode>.txt and scores_<mode>.json
//       beside RESULTS.
//
// A folder or .zip is read in sorted order as the training datasets read
// one (data/dataset.h): the files named as PIL names images that stb_image decodes;
// grey becomes RGB for an RGB network. Every other file (not an image, a
// corrupt image, a zip entry the reader cannot read) is skipped with one
// "psp: skipped <file>: <why>" line on stderr, and the run goes on; a
// colour image for a grey network, or an image with transparent pixels, is
// refused before anything is written. A .npy holds float [N, C, S, S]
// (N >= 1) in [-1, 1] at the encoder's input size. PNGs are written as pSp's
// tensor2im: floor(clamp((x + 1) / 2, 0, 1) * 255), in float32 (data/images/image_io.h To8Bit).
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <filesystem>
#include <map>
#include <iostream>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_input.h"
#include "engine/io/npy.h"
#include "engine/ops.h"
#include "models/perceptual/network_file.h"
#include "models/psp/network_file.h"
#include "train/cli.h"
#include "train/output_paths.h"
#include "train/run_main.h"
#include "data/dataset.h"
#include "data/images/image_io.h"
#include "data/images/image_resize.h"
#include "train/psp/data.h"
#include "train/psp/image_losses.h"

namespace {

using namespace gf;
namespace fs = std::filesystem;

// An .npy of images by its name, in any case (a .NPY: "not a folder or a
// .zip of images" before).
bool npy_name(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".npy";
}

// The images to encode, read a batch at a time.
class Inputs {
 public:
  // Up to `limit` images (--n-images): the scan of a folder or zip stops there.
  Inputs(const std::string& path, const psp::PspConfig& cfg, int64_t limit) : cfg_(cfg) {
    if (npy_name(path)) {
      npy_ = io::read_input_npy(path, "--images").to(DType::f32);
      const int64_t s = cfg.input_size;
      if (npy_.dim() != 4 || npy_.size(1) != cfg.input_nc || npy_.size(2) != s || npy_.size(3) != s)
        throw Error("--images " + path + ": shape " + shape_str(npy_.shape()) + ", expected [N, " + std::to_string(cfg.input_nc) +
                    ", " + std::to_string(s) + ", " + std::to_string(s) + "] (images in [-1, 1] at the encoder's "
                    "input size)");
      if (npy_.size(0) < 1) throw Error("--images " + path + ": shape " + shape_str(npy_.shape()) + ": no images (N >= 1)");
      // pSp's transforms give [-1, 1]; an array of pixels in [0, 255] would
      // encode to meaningless latents without a word. Said, not refused: a
      // generator's raw outputs (generate --raw) run past [-1, 1], an
      // untrained one's far past, and are encoded as they are.
      const float* v = npy_.data<float>();
      const auto [lo, hi] = std::minmax_element(v, v + npy_.numel());
      if (*lo < -1.001f || *hi > 1.001f) {
        char range[64];
        std::snprintf(range, sizeof range, "%g to %g", double(*lo), double(*hi));
        std::cerr << "psp: warning: --images " << path << ": values from " << range
                  << ", outside [-1, 1], where pSp's transforms put images (8-bit pixels / 127.5 - 1): encoded as they are\n";
      }
      for (int64_t i = 0; i < npy_.size(0); ++i) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "img%04lld", static_cast<long long>(i));
        names_.push_back(buf);
      }
    } else {
      files_ = open_image_files(path);
      // As the training datasets take a folder or zip (data/dataset.h): every
      // file named as PIL names images that stb_image decodes is used; the
      // rest (not an image, a corrupt image, an entry the zip reader cannot read) are
      // skipped, each named on stderr; a colour image for a grey network or
      // one with transparent pixels stops the run before any output. Each
      // image is decoded here and again when its batch comes, so a bad one
      // can never stop the run half-way.
      const int c = cfg.input_nc;
      std::vector<std::string> readable, skipped;
      for (const auto& [name, why] : files_.unlisted) skipped.push_back(files_.display(name) + ": " + why);
      for (const auto& n : files_.names) {
        if (static_cast<int64_t>(readable.size()) >= limit) break;  // a 70k-image folder for --n-images 4
        std::vector<uint8_t> bytes;
        ImageInfo info;
        try {
          bytes = files_.read(n);
          info = image_info(bytes.data(), bytes.size(), files_.display(n));
        } catch (const Error& e) {
          skipped.push_back(e.what());
          continue;
        }
        const bool colour_for_grey = c == 1 && info.colour_channels() == 3;
        try {  // a colour image decodes as colour here, so that a corrupt one is told from a whole one
          decode_image(bytes.data(), bytes.size(), files_.display(n), colour_for_grey ? 3 : c);
        } catch (const TransparentImageError&) {
          throw;
        } catch (const Error& e) {
          skipped.push_back(e.what());
          continue;
        }
        // After the decode: a corrupt colour file is skipped as any corrupt file.
        if (colour_for_grey)
          throw Error(files_.display(n) + ": is in colour, but the network reads grey images (input_nc 1)");
        readable.push_back(n);
      }
      std::sort(skipped.begin(), skipped.end());
      // With nothing to encode, one line says so (as the training datasets do); else each skip is named.
      if (readable.empty())
        throw Error(no_images_message(path, skipped));
      for (const auto& why : skipped) std::cerr << "psp: skipped " << why << "\n";
      files_.names = readable;
      // Output names: the path under --images without its extension, '/' as
      // '_'. Two inputs of one name (x.png and x.jpg, sub_b.png and
      // sub/b.png) would write one output file and one names.txt line twice.
      std::map<std::string, std::string> first_of;
      for (const auto& n : files_.names) {
        std::string s = fs::path(n).replace_extension().generic_string();
        std::replace(s.begin(), s.end(), '/', '_');
        if (auto [at, added] = first_of.emplace(s, n); !added)
          throw Error(path + ": " + files_.display(at->second) + " and " + files_.display(n) + " would both be named '" +
                      s + "' (outputs <name>.png, names.txt): rename one");
        names_.push_back(s);
      }
    }
  }
  int64_t size() const { return static_cast<int64_t>(names_.size()); }
  const std::string& name(int64_t i) const { return names_[size_t(i)]; }

  // Images [i, i + n) as float32 [n, C, S, S] in [-1, 1].
  Tensor batch(int64_t i, int64_t n) const {
    if (npy_.defined()) return slice(npy_, 0, i, i + n);
    const int s = cfg_.input_size;
    const int c = cfg_.input_nc;  // 3; 1 for a grey network (train_psp on grey data), which refuses colour images
    Tensor out = Tensor::empty({n, c, s, s});
    for (int64_t k = 0; k < n; ++k) {
      const std::string& name = files_.names[size_t(i + k)];
      const std::vector<uint8_t> bytes = files_.read(name);
      ImageInfo info;
      // As pSp reads them (PIL.Image.open(...).convert), the EXIF orientation ignored.
      const std::vector<uint8_t> hwc = decode_image(bytes.data(), bytes.size(), files_.display(name), c, &info, nullptr, false);
      // pSp's transform: Resize, ToTensor, Normalize, in float32 as torch does.
      psp::transform_image(hwc, info.width, info.height, c, s, false, c, out.data<float>() + k * c * s * s);
    }
    return out;
  }

 private:
  psp::PspConfig cfg_;
  Tensor npy_;
  ImageFiles files_;
  std::vector<std::string> names_;
};

// An 8-bit image, interleaved [h, w, c].
struct Image8 {
  int64_t w = 0, h = 0, c = 0;
  std::vector<uint8_t> hwc;
};

// pSp's tensor2im of an image [1, C, H, W], in float32 as its NumPy array
// computes it (to_8_bit's psp_tensor2im; in double, -0.2 came out 101, not
// 102: about 5 values of a 1024x1024 image), HWC.
Image8 tensor2im(const Tensor& img) {
  Image8 out{img.size(3), img.size(2), img.size(1), {}};
  out.hwc.resize(size_t(out.w * out.h * out.c));
  const Tensor f = img.to(Device::cpu()).to(DType::f32).contiguous();
  const float* v = f.data<float>();
  for (int64_t ch = 0; ch < out.c; ++ch)
    for (int64_t y = 0; y < out.h; ++y)
      for (int64_t x = 0; x < out.w; ++x)
        out.hwc[size_t((y * out.w + x) * out.c + ch)] = to_8_bit(v[(ch * out.h + y) * out.w + x], To8Bit::psp_tensor2im);
  return out;
}

// A panel of the side-by-side images: tensor2im, then PIL's Image.resize to
// r x r (bicubic, its default), as inference.py and style_mixing.py size
// the input (and each output, already r x r there) before they concatenate.
// A grey input beside colour outputs (an encoder of input_nc 1) is repeated
// to `channels` (pSp's tensor2im fails on one channel).
Image8 panel(const Tensor& img, int64_t r, int64_t channels) {
  Image8 p = tensor2im(img);
  if (p.w != r || p.h != r) {
    p.hwc = resize_bicubic_pil(p.hwc, int(p.w), int(p.h), int(p.c), int(r), int(r));
    p.w = p.h = r;
  }
  if (p.c == 1 && channels > 1) {
    std::vector<uint8_t> rep(p.hwc.size() * size_t(channels));
    for (size_t i = 0; i < rep.size(); ++i) rep[i] = p.hwc[i / size_t(channels)];
    p.hwc = std::move(rep);
    p.c = channels;
  }
  return p;
}

// Images of one size laid side by side in one PNG.
void save_row_png(const std::vector<Image8>& imgs, const std::string& path) {
  const int64_t c = imgs[0].c, h = imgs[0].h, w = imgs[0].w, W = w * int64_t(imgs.size());
  for (const Image8& m : imgs)
    GF_CHECK(m.c == c && m.h == h && m.w == w, "psp", "the images of a row differ in size: " << m.w << "x" << m.h << "x" << m.c
                                                                                         << " beside " << w << "x" << h << "x" << c);
  std::vector<uint8_t> out(size_t(W * h * c));
  for (size_t k = 0; k < imgs.size(); ++k)
    for (int64_t y = 0; y < h; ++y)
      std::copy_n(imgs[k].hwc.begin() + y * w * c, w * c, out.begin() + (y * W + int64_t(k) * w) * c);
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  GF_CHECK(stbi_write_png_to_func(append, &png, int(W), int(h), int(c), out.data(), int(W * c)), "psp",
           "PNG encoding failed for " << path);
  io::write_atomic(path, [&](std::ostream& f) { f.write(png.data(), std::streamsize(png.size())); }, "");  // the error names the file
}

void progress(const char* what, int64_t done, int64_t total) {
  if (!isatty(2)) return;
  std::fprintf(stderr, "\r%s: %lld/%lld images", what, static_cast<long long>(done), static_cast<long long>(total));
  if (done == total) std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

std::vector<cli::Flag> common_flags() {
  return {{"network", "FILE.bin", "", "pSp network: from tools/convert_weights.py, or a train_psp snapshot or checkpoint.bin (required)"},
          {"images", "PATH", "", "folder or .zip of images (PNG, JPEG, ...), or .npy [N, C, S, S] in [-1, 1] (required)"},
          {"outdir", "DIR", "out", "where to write"},
          cli::integer("batch", "N", "2", "images per pass (pSp's test_batch_size)", 1, 65536),
          cli::integer("test-workers", "N", "2", "pSp's loader processes (test_workers): no effect here", 0, 65536),
          cli::integer("n-images", "N", "", "only the first N images", 1, cli::kInt64Max),
          {"resize-outputs", "", "", "pool outputs to 256x256 (pSp's --resize_outputs)"},
          // pSp's test_options.py names of flags that are named otherwise here.
          cli::not_here("exp_dir", "is pSp's; here it is --outdir DIR"),
          cli::not_here("checkpoint_path", "is pSp's; here it is --network FILE.bin (converted with tools/convert_weights.py)"),
          cli::not_here("data_path", "is pSp's; here it is --images PATH"),
          cli::not_here("test_batch_size", "is pSp's; here it is --batch N"),
          cli::not_here("couple_outputs", "is pSp's; here it is --couple"),
          cli::not_here("n_outputs_to_generate", "is pSp's; here it is --n-outputs K (psp mix)"),
          cli::device("device", "cpu", "where to run")};
}

struct Setup {
  std::unique_ptr<psp::Psp> net;
  std::unique_ptr<Inputs> inputs;
  int64_t count = 0, batch = 1;
  Device dev;
  std::string outdir;
  std::string network;  // --network, for messages
  std::string overflow_hint;  // another cause of a non-finite output the flags give, for messages

  // Throws unless every value of t [n, ...] (the network's output for
  // inputs first .. first + n - 1) is finite. The inputs are (images in
  // [-1, 1], .npy files checked when read), so a NaN or an infinity is the
  // network's: damaged weights wrote NaN latents and black PNGs with exit 0.
  void require_finite(const Tensor& t, int64_t first, const char* what) const {
    const int64_t at = io::first_nonfinite(t.to(Device::cpu()).to(DType::f32));
    if (at >= 0)
      throw Error("the " + std::string(what) + " of " + inputs->name(first + at / (t.numel() / t.size(0))) +
                  " are not finite (NaN or inf): the network " + network + " overflows (damaged weights?)" +
                  overflow_hint);
  }
};

// What psp writes must not land in a folder of images, which is read with
// its subfolders: --outdir and each image folder the command writes under it
// (`folders`, from its flags) lie outside --images. Nor replace what it reads:
// `files` and `folders` (whose PNGs take the inputs' names). Only what this
// run writes counts: mix over encode's inference_results in the same --outdir
// is fine. Checked first, before any work and before encode's --raw is checked.
void check_outdir(const cli::Args& args, const std::vector<std::string>& folders, const std::vector<std::string>& files) {
  const std::string outdir = args.str("outdir");
  cli::check_not_in_input_folder(args, "--outdir", outdir, {"images"});
  for (const std::string& sub : folders)
    cli::check_not_in_input_folder(args, "--outdir " + outdir + ":", outdir + "/" + sub, {"images"});
  for (const std::vector<std::string>* outs : {&files, &folders})
    for (const std::string& out : *outs) cli::check_not_input(args, "--outdir " + outdir + ":", outdir + "/" + out, {"network", "images"});
  // A folder where a file goes, or a file where a folder goes: refused now,
  // not after every image was encoded and written.
  std::error_code ec;
  for (const std::string& file : files)
    if (std::filesystem::is_directory(outdir + "/" + file, ec))
      throw Error("--outdir " + outdir + ": " + outdir + "/" + file + " is a folder, where the file " + file + " goes");
  for (const std::string& folder : folders)
    if (std::filesystem::exists(outdir + "/" + folder, ec) && !std::filesystem::is_directory(outdir + "/" + folder, ec))
      throw Error("--outdir " + outdir + ": " + outdir + "/" + folder + " is a file, where the folder " + folder + " goes");
}

Setup setup(const cli::Args& args) {
  if (!args.has("network")) throw Error("--network is required (see --help)");
  if (!args.has("images")) throw Error("--images is required (see --help)");
  Setup s;
  s.outdir = args.str("outdir");
  s.dev = args.device("device");
  s.batch = args.integer("batch");
  s.network = args.str("network");
  s.net = psp::load_psp(s.network);
  s.net->to(s.dev);
  const int64_t limit = args.has("n-images") ? args.integer("n-images") : cli::kInt64Max;
  s.inputs = std::make_unique<Inputs>(args.str("images"), s.net->config(), limit);
  s.count = std::min<int64_t>(s.inputs->size(), limit);
  return s;
}

// Style mixing's flags, shared by encode (inference.py's --latent_mask,
// optional there) and mix (style_mixing.py's, required).
void add_mixing_flags(std::vector<cli::Flag>& flags, const std::string& mask_help) {
  flags.push_back(cli::integer_list("latent-mask", "LIST", "", mask_help, 0, 1023, 1024));
  // Any number, as pSp's --mix_alpha: outside [0, 1] the blend extrapolates.
  flags.push_back(cli::number("mix-alpha", "A", "", "blend: alpha * random + (1 - alpha) * encoded (default: replace)",
                              cli::Range::any()));
  flags.push_back(cli::integer("seed", "S", "0", "seed of the random z's (Philox: the same on the CPU and the GPU)", 0,
                               cli::kSeedMax));
}

// --latent-mask, checked against the network's codes.
std::vector<long long> latent_mask(const cli::Args& args, const psp::Psp& net) {
  const std::vector<long long> mask = args.integers("latent-mask");
  for (long long i : mask)
    if (i >= net.n_styles())
      throw Error("--latent-mask: latent " + std::to_string(i) + " is outside [0, " + std::to_string(net.n_styles()) + ")");
  return mask;
}

int encode(int argc, char** argv) {
  std::vector<cli::Flag> flags = common_flags();
  add_mixing_flags(flags, "inject the styles of a random w (one per image) at these codes, e.g. 8-17, as inference.py "
                          "--latent_mask (random noise then, as there)");
  flags.push_back({"couple", "", "", "also write input and output side by side (pSp's --couple_outputs)"});
  flags.push_back({"no-images", "", "", "write the latents only"});
  flags.push_back({"raw", "FILE.npy", "", "also write the outputs as float32 [N, C, H, W] (nominally [-1, 1], not clipped)"});
  cli::Args args(argc, argv, "psp encode",
                 "Encode images to W+ latents and reconstruct them with a pSp network (pSp's inference.py).", flags);
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  const bool images = !args.flag("no-images"), couple = args.flag("couple"), resize = args.flag("resize-outputs");
  if (couple && !images) throw Error("--couple writes images; it cannot go with --no-images");
  const bool mixing = args.has("latent-mask");
  for (const char* f : {"mix-alpha", "seed"})
    if (!mixing && args.has(f)) throw Error(std::string("--") + f + " applies to --latent-mask's random w's; give both");
  std::vector<std::string> folders;
  if (images) folders.push_back("inference_results");
  if (images) folders.push_back("inference_coupled");
  check_outdir(args, folders, {"latents.npy", "names.txt", "stats.txt"});
  cli::check_output_file(args, "raw", {"network", "images"});
  // In the --images folder it would write over an image of that name, or join the next run's inputs.
  if (args.has("raw")) cli::check_not_in_input_folder(args, "--raw", args.str("raw"), {"images"});
  cli::check_not_an_output(args, "raw", {"latents.npy", "names.txt", "stats.txt"});
  Setup s = setup(args);
  io::create_folder(s.outdir, "--outdir");
  if (images) io::create_folder(s.outdir + "/inference_results", "--outdir");
  if (images) io::create_folder(s.outdir + "/inference_coupled", "--outdir");
  std::vector<long long> mask;
  std::optional<double> alpha;
  if (mixing) mask = latent_mask(args, *s.net);
  if (args.has("mix-alpha")) alpha = args.number("mix-alpha");
  // A blend far outside [0, 1] extrapolates the codes past float32 (1e38 x a code).
  if (alpha && std::abs(*alpha) > 1e6)
    s.overflow_hint = ", or --mix-alpha " + args.str("mix-alpha") + " extrapolates the codes past float32's range";
  gf::Generator rng(static_cast<uint64_t>(args.integer("seed")));
  stylegan2::SynthesisOptions so;
  // inference.py: randomize_noise=False, but with --latent_mask its call
  // leaves the default, True.
  so.noise_mode = mixing ? NoiseMode::random : NoiseMode::constant;
  so.noise_gen = &rng;
  const int z_dim = s.net->decoder->config().z_dim;
  NoGradGuard ng;
  std::vector<Tensor> codes, raw;
  std::vector<double> batch_seconds;  // inference.py's global_time: each batch's encode and decode
  for (int64_t i = 0; i < s.count; i += s.batch) {
    const int64_t n = std::min(s.batch, s.count - i);
    const Tensor x = s.inputs->batch(i, n);
    const auto tic = std::chrono::steady_clock::now();
    Tensor c = s.net->encode(x.to(s.dev));
    s.require_finite(c, i, "latents");
    if (mixing) {  // inference.py: per image, the codes of one random z's w injected at the mask
      std::vector<Tensor> mixed;
      for (int64_t k = 0; k < n; ++k) {
        const Tensor inject = s.net->mapped_codes(randn({1, z_dim}, rng, DType::f32, s.dev));
        mixed.push_back(psp::mix_codes(slice(c, 0, k, k + 1), inject, mask, alpha));
      }
      c = concat(mixed, 0);
    }
    codes.push_back(c.to(Device::cpu()));
    Tensor out;
    if (images || args.has("raw")) out = s.net->decode(c, resize, so).to(Device::cpu());
    batch_seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - tic).count());
    if (images || args.has("raw")) {
      s.require_finite(out, i, "reconstructed pixels");
      if (args.has("raw")) raw.push_back(out);
      for (int64_t k = 0; images && k < n; ++k) {
        const Tensor o = slice(out, 0, k, k + 1);
        const std::string name = s.inputs->name(i + k) + ".png";
        const Image8 result = tensor2im(o);
        save_row_png({result}, s.outdir + "/inference_results/" + name);
        // inference.py couples every 100th image (0, 100, ...) even without --couple_outputs.
        if (couple || (i + k) % 100 == 0)
          save_row_png({panel(slice(x, 0, k, k + 1), o.size(2), o.size(1)), result}, s.outdir + "/inference_coupled/" + name);
      }
    }
    progress("psp encode", i + n, s.count);
  }
  // inference.py's stats.txt: the mean and population standard deviation of
  // the batches' times, in seconds.
  double mean = 0, var = 0;
  for (double t : batch_seconds) mean += t / double(batch_seconds.size());
  for (double t : batch_seconds) var += (t - mean) * (t - mean) / double(batch_seconds.size());
  char runtime[96];
  std::snprintf(runtime, sizeof runtime, "Runtime %.4f+-%.4f", mean, std::sqrt(var));
  // The arrays and names.txt pair up row by row: all are replaced, or none.
  std::optional<io::MadeFolders> raw_folders;  // before arrays: its temporaries go first
  io::AtomicFileSet arrays;
  const std::string latents = s.outdir + "/latents.npy";
  arrays.add(latents, [&](std::ostream& f) { io::write_npy(f, concat(codes, 0), latents); }, "");
  arrays.add(s.outdir + "/names.txt", [&](std::ostream& f) {
    // One line per row: a name's control characters (a newline in a file
    // name split its line and shifted every later name) written as \n, \t,
    // \r or \xNN, the line breaks Python's splitlines also splits on
    // (U+0085, U+2028, U+2029) as \uXXXX, and a backslash doubled so that no
    // two names read alike.
    for (int64_t i = 0; i < s.count; ++i) {
      std::string name;
      for (char ch : s.inputs->name(i)) name += ch == '\\' ? std::string("\\\\") : std::string(1, ch);
      std::string line = cli::one_line(name, SIZE_MAX);
      for (const auto& [utf8, escaped] : {std::pair<const char*, const char*>{"\xc2\x85", "\\u0085"},
                                          {"\xe2\x80\xa8", "\\u2028"}, {"\xe2\x80\xa9", "\\u2029"}})
        for (size_t at = line.find(utf8); at != std::string::npos; at = line.find(utf8, at + 6))
          line.replace(at, std::string(utf8).size(), escaped);
      f << line << "\n";
    }
  }, "");
  arrays.add(s.outdir + "/stats.txt", [&](std::ostream& f) { f << runtime; }, "");
  if (args.has("raw")) {
    raw_folders.emplace(io::create_parent_folder(args.str("raw"), "--raw"));
    arrays.add(args.str("raw"), [&](std::ostream& f) { io::write_npy(f, concat(raw, 0), args.str("raw")); }, "--raw");
  }
  arrays.commit();
  if (raw_folders) raw_folders->keep();
  std::cout << "psp encode: " << cli::count_text(s.count, "image") << " -> " << s.outdir << "/latents.npy ["
            << s.count << ", " << s.net->n_styles() << ", " << s.net->config().style_dim() << "]"
            << (images ? " and inference_results/" : "") << "\n";
  return 0;
}

int mix(int argc, char** argv) {
  std::vector<cli::Flag> flags = common_flags();
  add_mixing_flags(flags, "indices of the codes taken from random w's, e.g. 8-17 (required)");
  flags.push_back(cli::integer("n-outputs", "K", "5", "outputs per image (pSp's n_outputs_to_generate)", 1, 10000));
  flags.push_back({"noise-mode", "MODE", "random", "const, random or none (style_mixing.py: random)"});
  cli::Args args(argc, argv, "psp mix",
                 "Multi-modal synthesis: encoded images with their masked styles from random w's (pSp's "
                 "style_mixing.py).", flags);
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  if (!args.has("latent-mask")) throw Error("--latent-mask is required, e.g. --latent-mask 8-17");
  std::optional<double> alpha;
  if (args.has("mix-alpha")) alpha = args.number("mix-alpha");
  const long long k_out = args.integer("n-outputs");
  const std::string nm = args.str("noise-mode");
  stylegan2::SynthesisOptions so;
  so.noise_mode = nm == "const" ? NoiseMode::constant : nm == "none" ? NoiseMode::none : NoiseMode::random;
  if (nm != "const" && nm != "none" && nm != "random")
    throw Error("--noise-mode must be const, random or none, got '" + nm + "'");
  check_outdir(args, {"style_mixing"}, {});
  Setup s = setup(args);
  // A blend far outside [0, 1] extrapolates the codes past float32 (1e38 x a code).
  if (alpha && std::abs(*alpha) > 1e6)
    s.overflow_hint = ", or --mix-alpha " + args.str("mix-alpha") + " extrapolates the codes past float32's range";
  const std::vector<long long> mask = latent_mask(args, *s.net);
  gf::Generator rng(static_cast<uint64_t>(args.integer("seed")));
  so.noise_gen = &rng;
  const bool resize = args.flag("resize-outputs");
  io::create_folder(s.outdir + "/style_mixing", "--outdir");
  NoGradGuard ng;
  const int z_dim = s.net->decoder->config().z_dim;
  for (int64_t i = 0; i < s.count; i += s.batch) {
    const int64_t n = std::min(s.batch, s.count - i);
    const Tensor x = s.inputs->batch(i, n);
    const Tensor codes = s.net->encode(x.to(s.dev));
    s.require_finite(codes, i, "latents");
    for (int64_t k = 0; k < n; ++k) {
      const Tensor c = slice(codes, 0, k, k + 1);
      std::vector<Image8> row(1);  // the input's panel first, sized as the outputs
      int64_t size = 0, channels = 0;
      for (long long j = 0; j < k_out; ++j) {
        const Tensor inject = s.net->mapped_codes(randn({1, z_dim}, rng, DType::f32, s.dev));
        const Tensor mixed = s.net->decode(psp::mix_codes(c, inject, mask, alpha), resize, so).to(Device::cpu());
        s.require_finite(mixed, i + k, "mixed pixels");
        row.push_back(tensor2im(mixed));
        size = mixed.size(2);
        channels = mixed.size(1);
      }
      row[0] = panel(slice(x, 0, k, k + 1), size, channels);
      save_row_png(row, s.outdir + "/style_mixing/" + s.inputs->name(i + k) + ".png");
    }
    progress("psp mix", i + n, s.count);
  }
  std::cout << "psp mix: " << cli::count_text(s.count, "image") << " x " << cli::count_text(k_out, "output") << " -> " << s.outdir << "/style_mixing/\n";
  return 0;
}

// os.path.dirname: the text before the last '/', its trailing '/'s dropped
// unless it is all '/'; "" without one.
std::string python_dirname(const std::string& p) {
  const size_t slash = p.rfind('/');
  if (slash == std::string::npos) return "";
  std::string head = p.substr(0, slash + 1);
  if (head.find_first_not_of('/') == std::string::npos) return head;
  while (!head.empty() && head.back() == '/') head.pop_back();
  return head;
}

int losses(int argc, char** argv) {
  cli::Args args(argc, argv, "psp losses",
                 "LPIPS or L2 of result images against their ground truth (pSp's calc_losses_on_images.py).",
                 {{"mode", "MODE", "lpips", "lpips (AlexNet LPIPS) or l2 (the mean squared difference)"},
                  {"data-path", "DIR", "results", "the result images (.jpg and .png, not in subfolders)"},
                  {"gt-path", "DIR", "gt_images", "their ground truths, by the same names with .png read as .jpg"},
                  {"lpips", "FILE.bin", "", "LPIPS AlexNet weights from tools/convert_weights.py (--mode lpips)"},
                  cli::integer("batch-size", "N", "4", "whole batches of N are scored, the rest left out, as the "
                               "official DataLoader's drop_last (1: every image)", 1, 65536),
                  cli::integer("workers", "N", "4", "the official loader's processes: no effect here", 0, 65536),
                  cli::device("device", "cpu", "where to run")});
  if (args.help()) {
    std::cout << args.usage();
    return 0;
  }
  const std::string mode = args.str("mode");
  if (mode != "lpips" && mode != "l2") throw Error("--mode must be lpips or l2, got '" + mode + "'");
  if (mode == "lpips" && !args.has("lpips"))
    throw Error("--mode lpips needs --lpips FILE.bin: LPIPS AlexNet weights from tools/convert_weights.py (see README)");
  if (mode == "l2" && args.has("lpips")) throw Error("--lpips is read by --mode lpips only");
  const std::string data_path = args.str("data-path");
  std::vector<psp::ResultGtPair> pairs = psp::result_gt_pairs(data_path, args.str("gt-path"));
  const size_t batch = size_t(args.integer("batch-size"));
  const size_t left_out = pairs.size() % batch;
  if (left_out == pairs.size())
    throw Error("--data-path " + data_path + ": " + cli::count_text(static_cast<long long>(pairs.size()), "image") +
                ", fewer than one --batch-size of " + std::to_string(batch) +
                ", so nothing is scored (as the official drop_last): give a smaller --batch-size");
  pairs.resize(pairs.size() - left_out);
  const std::string out_dir = (python_dirname(data_path).empty() ? "" : python_dirname(data_path) + "/") + "inference_metrics";
  for (const std::string& file : {"stat_" + mode + ".txt", "scores_" + mode + ".json"})
    cli::check_not_input(args, "--data-path " + data_path + ":", out_dir + "/" + file, {"lpips"});
  const Device dev = args.device("device");
  std::unique_ptr<perceptual::Lpips> lpips;
  if (mode == "lpips") {
    lpips = perceptual::load_lpips(args.str("lpips"));
    lpips->to(dev);
  }
  NoGradGuard ng;
  nlohmann::ordered_json scores = nlohmann::ordered_json::object();
  std::vector<double> values;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Tensor result = psp::read_loss_image(pairs[i].result).to(dev), gt = psp::read_loss_image(pairs[i].gt).to(dev);
    // float(loss) of a float32 tensor, as the script's scores.
    const Tensor loss = mode == "lpips" ? lpips->forward(result, gt) : mean(square(sub(result, gt)));
    const double v = loss.to(Device::cpu()).item();
    scores[pairs[i].name] = v;
    values.push_back(v);
    progress("psp losses", int64_t(i + 1), int64_t(pairs.size()));
  }
  const std::string line = psp::average_loss_line(values);
  std::cout << "Finished with  " << data_path << "\n" << line << "\n";
  if (left_out)
    std::cout << "psp losses: " << cli::count_text(static_cast<long long>(left_out), "image")
              << " left out (the last by name), as the official drop_last does with --batch-size " << batch << "\n";
  io::create_folder(out_dir, "--data-path's inference_metrics");
  io::AtomicFileSet files;
  files.add(out_dir + "/stat_" + mode + ".txt", [&](std::ostream& f) { f << line; }, "psp losses");
  files.add(out_dir + "/scores_" + mode + ".json", [&](std::ostream& f) { f << io::python_json_text(scores); }, "psp losses");
  files.commit();
  return 0;
}

int run(int argc, char** argv) {
  const std::string usage =
      "Usage: psp encode|mix|losses [options]  (psp <command> --help lists the options)\n\n"
      "pSp (pixel2style2pixel) inference: encode images to W+ latents and reconstructions,\n"
      "multi-modal synthesis by style mixing, or LPIPS/L2 of results against their ground truth.\n";
  if (argc < 2) throw Error("expected a command, encode, mix or losses (see --help)");
  if (std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << usage;
    return 0;
  }
  const std::string cmd = argv[1];
  if (cmd == "encode") return encode(argc - 1, argv + 1);
  if (cmd == "mix") return mix(argc - 1, argv + 1);
  if (cmd == "losses") return losses(argc - 1, argv + 1);
  throw Error("unknown command '" + cmd + "': expected encode, mix or losses (see --help)");
}

}  // namespace

int main(int argc, char** argv) {
  // Errors name the command: "psp encode: error: ...".
  const std::string cmd = argc > 1 ? argv[1] : "";
  const std::string program = cmd == "encode" || cmd == "mix" || cmd == "losses" ? "psp " + cmd : "psp";
  return gf::cli::run_main(program.c_str(), [&] { return run(argc, argv); });
}
