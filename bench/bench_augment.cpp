// StyleGAN2-ADA's augmentation: the affine_grid_sample op and its adjoint at
// the shapes the pipe's geometric stage gives them, then the whole
// AugmentPipe ('bgc') forward and forward + backward (the gradient with
// respect to the images, as D's gradient flows back to G).
//
// Shapes, as train/augment_pipe.cpp forms them for images H x H, Hz_pad 3:
// the batch is reflect-padded by m on every side (m = 6 for the identity, as
// at p = 0; as far as the transformed corners reach plus 6, at most H - 1),
// upsampled 2x, and sampled into (H + 12) * 2 square. The op rows take
// 'small' (16 x 1 x 32 x 32) and paper256 per GPU (8 x 3 x 256 x 256) with the
// identity at m = 6, a 30-degree rotation with scale 1.1 at its own m, and
// that rotation at m = H - 1 (a p = 1 batch pads as far as its widest image,
// often near that). Their theta is the pipe's, built by the same chain.
// Op rows: us per call, GB/s of the minimum traffic (read the input once,
// write the output once) and the fraction of the measured copy bandwidth.
//
// The pipe rows: each call runs K fixed draw sets (seeds 1000 + k, the same
// every call, so every sample does the same work) and reports the mean per
// set, in ms per batch and per image, and the fraction of the copy bandwidth
// that the least traffic of the pass (the batch read and written once; twice
// with the backward) would take in that time. --record-draws DIR writes those draws
// (DrawLog, DIR/<cfg>_p<p>/draws-mb<k>.bin) so bench/torch_augment.py can
// replay exactly them in PyTorch.
//
//   bench_augment [--quick] [--device cpu|cuda|all] [--cfg small|paper256|all]
//                 [--part op|pipe|all] [--json] [--record-draws DIR]
//     the CPU, then the GPU when one is present (--device all, the default);
//     --cfg and --part keep some rows only (torch_augment.py interleaves by them).
//     --json: one JSON object per row instead of the table.
// Rows timed together are timed round-robin (bench/bench_common.h).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "engine/autograd.h"
#include "engine/ops.h"
#include "engine/ops/grid_sample.h"
#include "kernels/cuda_runtime.h"
#include "train/augment_pipe.h"
#include "train/draw_log.h"

using namespace gf;

namespace {

using bench::Reps;
using M3 = std::array<double, 9>;

struct Config;

struct Options {
  bool quick = false, json = false;
  std::string device = "all", record;  // record: written by the first device that runs
  std::string cfg = "all", part = "all";  // filters: which configs, which rows (op, pipe)
  bool wants(const Config& c) const;
};

struct Config {
  const char* name;
  int64_t n, c, res;
};
const Config kConfigs[] = {{"small", 16, 1, 32}, {"paper256", 8, 3, 256}};
bool Options::wants(const Config& c) const { return cfg == "all" || cfg == c.name; }

M3 mul(const M3& a, const M3& b) {
  M3 r{};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 3; ++k) r[size_t(i * 3 + j)] += a[size_t(i * 3 + k)] * b[size_t(k * 3 + j)];
  return r;
}
M3 scale2d(double sx, double sy) { return {sx, 0, 0, 0, sy, 0, 0, 0, 1}; }
M3 translate2d(double tx, double ty) { return {1, 0, tx, 0, 1, ty, 0, 0, 1}; }
M3 rotate2d(double a) { return {std::cos(a), -std::sin(a), 0, std::sin(a), std::cos(a), 0, 0, 0, 1}; }

// The pipe's reflect padding for one image's G_inv (pixel_out -> pixel_in,
// centred coordinates): how far the corners reach, plus 2 * Hz_pad, clamped.
int64_t pipe_margin(const M3& g, int64_t res) {
  const double c = (double(res) - 1) / 2;
  double reach = -INFINITY;
  for (double x : {-c, c})
    for (double y : {-c, c})
      for (int r = 0; r < 2; ++r) reach = std::max(reach, std::fabs(g[size_t(r * 3)] * x + g[size_t(r * 3 + 1)] * y));
  return static_cast<int64_t>(std::ceil(std::min(std::max(reach + 6 - c, 0.0), double(res - 1))));
}

// theta [2, 3] for G_inv with margin m on every side, as augment_pipe.cpp chains it.
std::vector<double> pipe_theta(const M3& g0, int64_t res, int64_t m) {
  const double in = double((res + 2 * m) * 2), out = double((res + 12) * 2);
  M3 g = mul(mul(scale2d(2, 2), g0), scale2d(0.5, 0.5));
  g = mul(mul(translate2d(-0.5, -0.5), g), translate2d(0.5, 0.5));
  g = mul(mul(scale2d(2 / in, 2 / in), g), scale2d(out / 2, out / 2));
  return {g[0], g[1], g[2], g[3], g[4], g[5]};
}

void op_rows(const Options& o, const Device& d, Reps reps, double peak) {
  NoGradGuard ng;
  Generator gen(1);
  const double pi = std::acos(-1.0);
  for (const Config& cfg : kConfigs) {
    if (!o.wants(cfg)) continue;
    const M3 rot = mul(scale2d(1 / 1.1, 1 / 1.1), rotate2d(-30 * pi / 180));  // G_inv of scale 1.1, rotate 30 deg
    struct Case {
      std::string name;
      M3 g;
      int64_t m;
    };
    const std::vector<Case> cases = {{"identity", scale2d(1, 1), 6},
                                     {"rot30 s1.1", rot, pipe_margin(rot, cfg.res)},
                                     {"rot30 s1.1 maxpad", rot, cfg.res - 1}};
    for (const Case& k : cases) {
      const int64_t in = (cfg.res + 2 * k.m) * 2, out = (cfg.res + 12) * 2;
      const std::vector<double> th = pipe_theta(k.g, cfg.res, k.m);
      std::vector<double> thn;
      for (int64_t i = 0; i < cfg.n; ++i) thn.insert(thn.end(), th.begin(), th.end());
      const Tensor theta = Tensor::from_vector(thn, {cfg.n, 2, 3}, DType::f32, d);
      const Tensor x = randn({cfg.n, cfg.c, in, in}, gen, DType::f32, d);
      const Tensor g = randn({cfg.n, cfg.c, out, out}, gen, DType::f32, d);
      const double bytes = 4.0 * double(cfg.n * cfg.c) * double(in * in + out * out);
      const std::vector<double> t = bench::time_per_call(
          d, reps, {[&] { affine_grid_sample(x, theta, out, out); }, [&] { affine_grid_sample_adjoint(g, theta, in, in); }});
      const char* ops[2] = {"affine_grid_sample", "affine_grid_sample_adjoint"};
      for (int i = 0; i < 2; ++i) {
        const double gbs = bytes / t[size_t(i)] / 1e9, pct = 100.0 * bytes / t[size_t(i)] / peak;
        if (o.json) {
          std::printf(
              "{\"kind\": \"op\", \"device\": \"%s\", \"cfg\": \"%s\", \"case\": \"%s\", \"op\": \"%s\", \"n\": %lld, "
              "\"c\": %lld, \"in\": %lld, \"out\": %lld, \"pad\": %lld, \"theta\": [%.17g, %.17g, %.17g, %.17g, %.17g, "
              "%.17g], \"us\": %.3f, \"gbs\": %.3f, \"pct_copy\": %.2f}\n",
              d.str().c_str(), cfg.name, k.name.c_str(), ops[i], (long long)cfg.n, (long long)cfg.c, (long long)in,
              (long long)out, (long long)k.m, th[0], th[1], th[2], th[3], th[4], th[5], t[size_t(i)] * 1e6, gbs, pct);
        } else {
          const std::string shape = "[" + std::to_string(cfg.n) + "," + std::to_string(cfg.c) + "," +
                                    std::to_string(in) + "^2]->" + std::to_string(out) + "^2";
          std::printf("  %-8s %-18s %-27s %-26s %10.1f us %7.2f GB/s %5.1f%% of copy\n", cfg.name, k.name.c_str(),
                      ops[i], shape.c_str(), t[size_t(i)] * 1e6, gbs, pct);
        }
      }
      std::fflush(stdout);
    }
  }
}

// The pipe rows' fraction of the copy bandwidth: of the least traffic a pipe
// could make (read the batch and write it once forward; backward the same
// again for the gradient), a floor its resampling stays far above.
void pipe_rows(const Options& o, const Device& d, Reps reps, int sets, bool record, double peak) {
  Generator gen(2);
  for (const Config& cfg : kConfigs) {
    if (!o.wants(cfg)) continue;
    const Tensor images = randn({cfg.n, cfg.c, cfg.res, cfg.res}, gen, DType::f32, d);
    const Tensor dy = randn(images.shape(), gen, DType::f32, d);
    AugmentPipe p0(augpipe_spec("bgc")), p1(augpipe_spec("bgc"));
    p0.p = 0.f, p1.p = 1.f;
    const AugmentPipe* pipes[2] = {&p0, &p1};
    if (!o.record.empty() && record)
      for (const AugmentPipe* pipe : pipes) {  // the draws each timed call makes, for the PyTorch side
        NoGradGuard ng;
        const std::string dir = o.record + "/" + cfg.name + "_p" + (pipe->p > 0 ? "1" : "0");
        auto log = DrawLog::recorder(dir);
        for (int k = 0; k < sets; ++k) {
          Generator rng(1000 + uint64_t(k));
          log->set_scope("mb" + std::to_string(k) + "/");
          (*pipe)(images, rng, log.get(), "");
          log->end_minibatch(k);
        }
      }
    const auto forward = [&](const AugmentPipe* pipe) {
      return [&, pipe] {
        NoGradGuard ng;
        for (int k = 0; k < sets; ++k) {
          Generator rng(1000 + uint64_t(k));
          (*pipe)(images, rng, nullptr, "");
        }
      };
    };
    const auto backward = [&](const AugmentPipe* pipe) {
      return [&, pipe] {
        GradModeGuard on(true);
        for (int k = 0; k < sets; ++k) {
          Generator rng(1000 + uint64_t(k));
          Tensor x = images.detach().requires_grad_();
          gf::grad({(*pipe)(x, rng, nullptr, "")}, {x}, {dy});
        }
      };
    };
    const std::vector<double> t =
        bench::time_per_call(d, reps, {forward(&p0), forward(&p1), backward(&p0), backward(&p1)});
    const char* passes[2] = {"fwd", "fwd+bwd"};
    for (int i = 0; i < 4; ++i) {
      const double ms = t[size_t(i)] / sets * 1e3;
      const int pv = i % 2;
      const double bytes = 2.0 * double(images.nbytes()) * (i < 2 ? 1 : 2);
      const double pct = 100.0 * bytes / (ms / 1e3) / peak;
      if (o.json)
        std::printf(
            "{\"kind\": \"pipe\", \"device\": \"%s\", \"cfg\": \"%s\", \"augpipe\": \"bgc\", \"p\": %d, \"pass\": "
            "\"%s\", \"n\": %lld, \"c\": %lld, \"res\": %lld, \"sets\": %d, \"ms\": %.4f, \"ms_per_image\": %.5f, "
            "\"pct_of_copy\": %.3f}\n",
            d.str().c_str(), cfg.name, pv, passes[i / 2], (long long)cfg.n, (long long)cfg.c, (long long)cfg.res, sets,
            ms, ms / double(cfg.n), pct);
      else
        std::printf("  %-8s %-26s bgc p=%d %-8s %10.2f ms %9.3f ms/image %6.2f%% of copy\n", cfg.name,
                    ("[" + std::to_string(cfg.n) + "," + std::to_string(cfg.c) + "," + std::to_string(cfg.res) + "^2]")
                        .c_str(),
                    pv, passes[i / 2], ms, ms / double(cfg.n), pct);
    }
    std::fflush(stdout);
  }
}

void run_device(const Options& o, const Device& d, Reps reps, int sets, bool record) {
  double peak;
  {
    NoGradGuard ng;
    Tensor a = zeros({16 << 20}, DType::f32, d);  // 64 MiB
    peak = 2.0 * double(a.nbytes()) / bench::time_per_call(d, reps, [&] { Tensor b = a.clone(); });
  }
  if (o.json)
    std::printf("{\"kind\": \"copy\", \"device\": \"%s\", \"gbs\": %.3f}\n", d.str().c_str(), peak / 1e9);
  else
    std::printf("%s: copy bandwidth %.1f GB/s (clone of 64 MiB); pipe rows: mean of %d fixed draw sets\n",
                d.str().c_str(), peak / 1e9, sets);
  if (o.part != "pipe") op_rows(o, d, reps, peak);
  if (o.part != "op") pipe_rows(o, d, reps, sets, record, peak);
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  const char* name = "bench_augment";
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--quick") {
      o.quick = true;
    } else if (a == "--json") {
      o.json = true;
    } else if ((a == "--device" || a == "--record-draws" || a == "--cfg" || a == "--part") && i + 1 < argc) {
      (a == "--device" ? o.device : a == "--cfg" ? o.cfg : a == "--part" ? o.part : o.record) = argv[++i];
    } else if (a == "--help") {
      std::printf(
          "usage: %s [--quick] [--device cpu|cuda|all] [--cfg small|paper256|all] [--part op|pipe|all]\n"
          "       [--json] [--record-draws DIR]\n"
          "  Benchmarks affine_grid_sample, its adjoint and AugmentPipe 'bgc' (p = 0, 1) on the CPU and,\n"
          "  when one is present, the GPU. --quick: fewer samples and draw sets. --json: one object per row.\n"
          "  --record-draws DIR: write the pipe rows' draws there (bench/torch_augment.py replays them).\n",
          name);
      return 0;
    } else {
      std::fprintf(stderr, "%s: unknown or incomplete argument '%s' (try --help)\n", name, a.c_str());
      return 2;
    }
  }
  if (o.device != "all" && o.device != "cpu" && o.device != "cuda") {
    std::fprintf(stderr, "%s: --device expects cpu, cuda or all, got '%s'\n", name, o.device.c_str());
    return 2;
  }
  if (o.cfg != "all" && o.cfg != "small" && o.cfg != "paper256") {
    std::fprintf(stderr, "%s: --cfg expects small, paper256 or all, got '%s'\n", name, o.cfg.c_str());
    return 2;
  }
  if (o.part != "all" && o.part != "op" && o.part != "pipe") {
    std::fprintf(stderr, "%s: --part expects op, pipe or all, got '%s'\n", name, o.part.c_str());
    return 2;
  }
  if (!o.record.empty() && o.part == "op") {
    std::fprintf(stderr, "%s: --record-draws records the pipe rows' draws, which --part op leaves out\n", name);
    return 2;
  }
  try {
    // Before any timing: a folder that cannot take the recording stopped the run after the op rows.
    if (!o.record.empty())
      for (const Config& cfg : kConfigs)
        if (o.wants(cfg))
          for (const char* p : {"_p0", "_p1"}) DrawLog::check_recorder_folder(o.record + "/" + cfg.name + p);
    if (o.device != "cuda") run_device(o, Device::cpu(), o.quick ? Reps{1, 3, 1} : Reps{1, 5, 1}, o.quick ? 2 : 4, true);
    if (o.device != "cpu") {
      if (cuda_available())
        run_device(o, Device::cuda(0), o.quick ? Reps{2, 5, 5} : Reps{3, 7, 20}, 4, o.device == "cuda");
      else if (o.device == "cuda")
        throw Error("no CUDA device");
      else if (!o.json)
        std::printf("no CUDA device: GPU figures not measured\n");
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", name, e.what());
    return 1;
  }
  return 0;
}
