// End-to-end PGGAN timings: Gs forward (inference), D forward + backward
// (weight gradients), and a training round (the official minibatch_repeats = 4
// minibatches, each a D step with the gradient penalty, the Gs update and a G
// step) at chosen levels of detail, as sec/kimg. Two configs:
//  - 'cpu' (train_pggan's default on a CPU) at 32x32 Fashion-MNIST size, at
//    4x4 (lod 3), in the 16x16 fade (lod 1.5) and at 32x32 (lod 0), with its
//    schedule's minibatches;
//  - the official 1024x1024 networks (G_paper / D_paper defaults, 'v2-1gpu',
//    minibatch 4 at 1024) at lod 0. On the CPU only the forward passes at
//    batch 1 run unless --full (a training round there takes minutes).
// Data is random images held in memory, so the timings exclude decoding.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_common.h"
#include "train/pggan/trainer.h"

namespace {

using namespace gf;
using bench::Reps;
using bench::time_per_call;

std::unique_ptr<Dataset> random_dataset(int res, int channels, int n) {
  std::vector<uint8_t> px(static_cast<size_t>(n) * channels * res * res);
  uint64_t s = 1;
  for (auto& p : px) p = static_cast<uint8_t>((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 56);
  return std::make_unique<Dataset>("random", res, channels, std::move(px), std::vector<int64_t>{}, DatasetOptions{});
}

// The image count at which the schedule reaches `lod` (at or after the fade's start).
int64_t nimg_at_lod(const ScheduleSpec& s, int log2, double lod) {
  const int start = log2 - static_cast<int>(std::floor(std::log2(s.lod_initial_resolution)));
  const int up = static_cast<int>(std::ceil(lod));
  const double phase_dur = s.lod_training_kimg + s.lod_transition_kimg;
  double kimg = (start - up) * phase_dur;
  if (lod != up) kimg += s.lod_training_kimg + (up - lod) * s.lod_transition_kimg;
  return static_cast<int64_t>(std::llround(kimg * 1000));
}

void row(const std::string& cfg, const Dataset& ds, double lod, Device dev, int batch, bool train, const Reps& reps) {
  PGGANSpec spec = make_pggan_spec(cfg);
  PGGANTrainer t(make_pggan_setup(spec, ds, 0, dev), ds);
  const int log2 = t.G().resolution_log2();
  t.set_progress(nimg_at_lod(spec.sched, log2, lod), -1);
  const Schedule s = t.schedule();
  const int n = batch > 0 ? batch : s.minibatch;
  const double net_lod = PGGANTrainer::network_lod(s);
  Generator rng(1);
  const Tensor z = randn({n, t.G().latent_size()}, rng, DType::f32, dev);
  const Tensor img = randn({n, ds.channels(), ds.resolution(), ds.resolution()}, rng, DType::f32, dev);
  std::vector<std::function<void()>> fns = {
      [&] {
        NoGradGuard ng;
        t.Gs().forward(z, Tensor(), net_lod);
      },
      [&] {
        t.D().requires_grad_(true);  // the round leaves it off (its last phase trains G)
        t.D().zero_grad();
        backward(sum(t.D().forward(img, net_lod)));
      }};
  if (train) fns.push_back([&] { t.step(); });
  const std::vector<double> r = time_per_call(dev, reps, fns);
  // A round shows minibatch_repeats * D_repeats minibatches of the schedule's size.
  const double round_imgs = double(spec.minibatch_repeats) * spec.D_repeats * s.minibatch;
  char round[64] = "        -          -";
  if (train) std::snprintf(round, sizeof round, "%9.1f  %9.2f", r[2] * 1e3, r[2] / round_imgs * 1000);
  std::printf("%-8s %5d  %4.2f %5d  %5d  %9.1f  %9.1f  %s\n", cfg.c_str(), ds.resolution(), s.lod, s.resolution, n,
              r[0] * 1e3, r[1] * 1e3, round);
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  Device dev = cuda_available() ? Device::cuda(0) : Device::cpu();
  bool quick = false, full = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--cpu")) dev = Device::cpu();
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--full")) full = true;
    else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: bench_pggan [--cpu] [--quick] [--full]\n"
                  "  PGGAN's Gs forward, D forward + backward and a training round, in ms and sec/kimg.\n"
                  "  --cpu    on the CPU even with a GPU present; --quick  one sample, no 1024 px row on the CPU\n"
                  "  --full   the 1024 px training round on the CPU too (minutes)\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_pggan: error: unknown flag '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  if (quick && full && !dev.is_cuda()) {  // --quick leaves out the CPU row --full enlarges
    std::fprintf(stderr, "bench_pggan: error: --full sizes the v2-1gpu training row, which --quick leaves out on the CPU\n");
    return 2;
  }
  try {
    const Reps reps = dev.is_cuda() ? Reps{2, 5, 1} : Reps{1, quick ? 1 : 3, 1};
    std::printf("PGGAN networks on %s (ms per minibatch of `batch`; a training round is 4 minibatches of the schedule's)\n",
                dev.str().c_str());
    std::printf("cfg        res  lod   level batch  G fwd      D fwd+bwd  round      sec/kimg\n");
    const auto small = random_dataset(32, 1, 64);
    for (double lod : {3.0, 1.5, 0.0}) row("cpu", *small, lod, dev, 0, true, reps);
    const auto big = random_dataset(1024, 3, 8);
    const bool big_train = dev.is_cuda() || full;
    if (!quick || dev.is_cuda()) row("v2-1gpu", *big, 0.0, dev, big_train ? 0 : 1, big_train, Reps{dev.is_cuda() ? 2 : 0, dev.is_cuda() ? 5 : 1, 1});
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_pggan: %s\n", e.what());
    return 1;
  }
  return 0;
}
