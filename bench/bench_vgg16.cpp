// StyleGAN2-ADA's VGG16 (models/perceptual/vgg16.h) at the real widths,
// random weights (the speed does not depend on them), float32:
//   - the projector's step: lpips_embedding of a batch of 256x256 images,
//     the squared distance to a fixed target embedding, and its gradient in
//     the images (forward + backward);
//   - pr50k3's features [N, 4096] of 256x256 images (resized to 224 inside),
//     without grad.
// bench/torch_vgg16.py times the same in PyTorch (tools/reference/vgg16_reference.py).
//   bench_vgg16 [--device cpu|cuda] [--lpips-batch N] [--features-batch N] [--res R] [--quick] [--profile]
// --quick: one sample (a smoke run); --profile: then one call of each with
// the time per op.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>

#include "bench/bench_flags.h"
#include "bench/bench_common.h"
#include "engine/autograd.h"
#include "engine/profile.h"
#include "models/perceptual/vgg16.h"

namespace {

using namespace gf;

// One call of fn with the per-op profile printed (where the time goes).
void print_profile(const char* what, const std::function<void()>& fn) {
  profile::start();
  fn();
  profile::stop();
  std::printf("  profile of one %s call:\n", what);
  for (const profile::Entry& e : profile::report().ops)
    std::printf("    %-24s %6lld calls %8.3f s\n", e.op.c_str(), static_cast<long long>(e.calls), e.seconds);
}

void run(Device dev, int lpips_batch, int features_batch, int res, bool quick, bool prof) {
  ParamInit init(1);
  perceptual::Vgg16 net(perceptual::Vgg16Config{}, init);
  net.to(dev);
  Generator rng(2);
  const Tensor target = [&] {
    NoGradGuard ng;
    return net.lpips_embedding((rand({1, 3, res, res}, rng, DType::f32, dev) * 255.0).detach());
  }();
  const Tensor img = (rand({lpips_batch, 3, res, res}, rng, DType::f32, dev) * 255.0).detach();
  const Tensor batch = (rand({features_batch, 3, res, res}, rng, DType::f32, dev) * 255.0).detach();
  const bench::Reps reps{1, quick ? 1 : 3, 1};
  const auto lpips_step = [&] {
    const Tensor x = img.detach().requires_grad_();
    const Tensor dist = sum(square(net.lpips_embedding(x) - target));
    grad({dist}, {x});
  };
  const auto features = [&] {
    NoGradGuard ng;
    net.features(batch);
  };
  const double t_lpips = bench::time_per_call(dev, reps, lpips_step);
  const double t_features = bench::time_per_call(dev, reps, features);
  std::printf("device %s, %dx%d inputs, %lld parameters\n", dev.str().c_str(), res, res,
              static_cast<long long>(net.num_params()));
  std::printf("  lpips_embedding fwd+bwd, batch %-3d %8.3f s/batch  %8.2f images/s\n", lpips_batch, t_lpips,
              lpips_batch / t_lpips);
  std::printf("  features [N, 4096], batch %-3d      %8.3f s/batch  %8.2f images/s\n", features_batch, t_features,
              features_batch / t_features);
  if (prof) {
    print_profile("lpips_embedding fwd+bwd", lpips_step);
    print_profile("features", features);
  }
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  std::string device = "cpu";
  int lpips_batch = 1, features_batch = 8, res = 256;
  bool quick = false, prof = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--profile")) prof = true;
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
    else if (!std::strcmp(argv[i], "--lpips-batch") && i + 1 < argc) lpips_batch = gf::bench::int_flag("bench_vgg16", "lpips-batch", argv[++i], 1, 4096);
    else if (!std::strcmp(argv[i], "--features-batch") && i + 1 < argc) features_batch = gf::bench::int_flag("bench_vgg16", "features-batch", argv[++i], 1, 4096);
    else if (!std::strcmp(argv[i], "--res") && i + 1 < argc) res = gf::bench::int_flag("bench_vgg16", "res", argv[++i], 1, 4096);
    else if (!std::strcmp(argv[i], "--help")) {
      std::printf("usage: bench_vgg16 [--device cpu|cuda] [--lpips-batch N] [--features-batch N] [--res R] "
                  "[--quick] [--profile]\n"
                  "  Images per second through StyleGAN2-ADA's VGG16: the projector's LPIPS step (forward and\n"
                  "  backward) and pr50k3's features. Batches 1..4096 images; --res input size in px, 1..4096.\n"
                  "  --quick  one sample (a smoke run); --profile  then one call of each with the time per op\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_vgg16: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  try {
    if (lpips_batch < 1 || features_batch < 1) throw gf::Error("--lpips-batch and --features-batch must be at least 1");
    if (res < 16) throw gf::Error("--res must be at least 16 (the LPIPS embedding's smallest input)");
    const gf::Device dev = gf::Device::parse(device);
    gf::check_device_usable(dev);
    run(dev, lpips_batch, features_batch, res, quick, prof);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_vgg16: %s\n", e.what());
    return 1;
  }
  return 0;
}
