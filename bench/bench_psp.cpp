// psp encode throughput: images per second through the paper's pSp network,
// IR-SE50 GradualStyleEncoder at 256 px input (18 styles) with a 1024 px
// FFHQ-config StyleGAN2 decoder, as `psp encode` runs it: the encoder alone
// (latents only, --no-images), and encoder plus decoder with const noise
// (reconstructions at 1024 px, and pooled to 256 with --resize-outputs).
// Random weights (the speed does not depend on them); image decoding and
// PNG writing excluded.
//   bench_psp [--device cpu|cuda] [--batch N] [--quick]
// --quick: a 256 px decoder and one sample (a smoke run).
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_flags.h"
#include "bench/bench_common.h"
#include "models/psp/psp.h"

namespace {

using namespace gf;

void run(Device dev, int batch, bool quick) {
  psp::PspConfig cfg;  // IR-SE50, 256 px, 18 styles
  stylegan2::GeneratorConfig g;
  g.img_resolution = quick ? 256 : 1024;
  cfg.n_styles = quick ? 14 : 18;
  std::printf("building pSp (IR-SE50 256 px, %d px decoder)...\n", g.img_resolution);
  psp::Psp net(cfg, g, 1);
  {
    Generator r(3);
    net.latent_avg = randn({cfg.n_styles, 512}, r) * 0.1;
  }
  net.to(dev);
  Generator rng(2);
  const Tensor x = rand({batch, 3, 256, 256}, rng, DType::f32, dev) * 2.0 - 1.0;
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  NoGradGuard ng;
  const bench::Reps reps{1, quick ? 1 : 3, 1};
  const auto t = bench::time_per_call(
      dev, reps,
      {[&] { net.encode(x); }, [&] { net.decode(net.encode(x), false, so); },
       [&] { net.decode(net.encode(x), true, so); }});
  const char* what[] = {"encode (latents only)", "encode + decode", "encode + decode + pool to 256"};
  std::printf("device %s, batch %d, %lld encoder parameters\n", dev.str().c_str(), batch,
              static_cast<long long>(net.encoder->num_params()));
  for (size_t i = 0; i < t.size(); ++i)
    std::printf("  %-32s %8.3f s/batch  %8.3f images/s\n", what[i], t[i], batch / t[i]);
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  std::string device = "cpu";
  int batch = 2;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = gf::bench::int_flag("bench_psp", "batch", argv[++i], 1, 1024);
    else if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: bench_psp [--device cpu|cuda] [--batch N] [--quick]\n"
                  "  Images per second through pSp (IR-SE50 encoder at 256 px, 1024 px StyleGAN2 decoder).\n"
                  "  --batch  images per call, 1..1024; --quick  a 256 px decoder and one sample (a smoke run)\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_psp: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  try {
    if (batch < 1) throw gf::Error("--batch must be at least 1");
    const gf::Device dev = gf::Device::parse(device);
    gf::check_device_usable(dev);
    run(dev, batch, quick);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_psp: %s\n", e.what());
    return 1;
  }
  return 0;
}
