// FID/IS detector throughput: images per second through the real-width
// Inception-v3 (models/perceptual/inception.h), features alone (what FID
// runs) and probabilities (IS), on 256x256 inputs (resized to 299x299 inside,
// as the metrics feed generated images). Random weights (the speed does not
// depend on them).
//   bench_inception [--device cpu|cuda] [--batch N] [--res R] [--quick]
// --quick: one sample (a smoke run).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench/bench_flags.h"
#include "bench/bench_common.h"
#include "models/perceptual/inception.h"

namespace {

using namespace gf;

void run(Device dev, int batch, int res, bool quick) {
  ParamInit init(1);
  perceptual::InceptionV3 net(perceptual::InceptionConfig{}, init);
  net.to(dev);
  Generator rng(2);
  const Tensor x = (rand({batch, 3, res, res}, rng, DType::f32, dev) * 256.0).detach();
  NoGradGuard ng;
  const bench::Reps reps{1, quick ? 1 : 3, 1};
  const auto t = bench::time_per_call(dev, reps, {[&] { net.features(x); }, [&] { net.probabilities(x); }});
  const char* what[] = {"features [N, 2048]", "probabilities [N, 1008]"};
  std::printf("device %s, batch %d, %dx%d inputs, %lld parameters\n", dev.str().c_str(), batch, res, res,
              static_cast<long long>(net.num_params()));
  for (size_t i = 0; i < t.size(); ++i)
    std::printf("  %-26s %8.3f s/batch  %8.2f images/s\n", what[i], t[i], batch / t[i]);
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  std::string device = "cpu";
  int batch = 8, res = 256;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = gf::bench::int_flag("bench_inception", "batch", argv[++i], 1, 4096);
    else if (!std::strcmp(argv[i], "--res") && i + 1 < argc) res = gf::bench::int_flag("bench_inception", "res", argv[++i], 1, 4096);
    else if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: bench_inception [--device cpu|cuda] [--batch N] [--res R] [--quick]\n"
                  "  Images per second through the FID/IS Inception-v3 (features, and probabilities).\n"
                  "  --batch  images per call, 1..4096; --res  input size in px, 1..4096 (resized to 299 inside)\n"
                  "  --quick  one sample (a smoke run)\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_inception: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  try {
    if (batch < 1) throw gf::Error("--batch must be at least 1");
    if (res < 1) throw gf::Error("--res must be at least 1");
    const gf::Device dev = gf::Device::parse(device);
    gf::check_device_usable(dev);
    run(dev, batch, res, quick);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_inception: %s\n", e.what());
    return 1;
  }
  return 0;
}
