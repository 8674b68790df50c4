// End-to-end StyleGAN2 timings: G forward (inference, const noise), D forward
// + backward (weight gradients), and a full training minibatch (every phase,
// Adam and the EMA) with and without each regularizer, at 32, 64 and 256 px.
// From those it derives the official schedule's cost (path length every 4,
// R1 every 16 minibatches) as sec/kimg, the figure the official StyleGAN2-ADA
// README quotes: 21.6-24.2 sec/kimg for paper256 (batch 64) on one V100.
// Configs: 'stylegan2'-like 'auto' at 32 and 64 px, 'paper256' at 256 px, with
// the official batch on a GPU and a small batch on the CPU (--batch overrides).
// Data is random images held in memory, so the timings exclude decoding.
// Each row also gives the lazy step's work (the convolutions' and products'
// FLOPs, engine/flop_count.h, counted in one untimed call of each minibatch
// kind), its rate, and that rate's fraction of the GEMM library's own,
// measured first in the same run (bench/gemm_reference.h).
//
// --train CFG: instead, consecutive training minibatches of a config as
// train_stylegan builds it for a dataset of --res x --res x --channels (the
// official schedule from batch_idx 0, after --warmup minibatches), printed as
// one JSON line {spec, G_kwargs, D_kwargs, device, threads, minibatches,
// batch, seconds, sec_per_kimg, flop_per_minibatch, tflop_s, gemm_reference,
// gemm_tflop_s, fraction_of_gemm}; --setup prints only the configs. --aug
// noaug (default), ada or fixed with --p P and --augpipe NAME adds ADA's
// augmentation as train_stylegan runs it (ada: p from 0). This is
// ganforge's side of bench/torch_vs_ganforge.py.
// Without --train, --res R runs only the rows at R px (e.g. --res 256: paper256 alone, as
// scripts/gpu_check.sh times it).
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "bench/bench_flags.h"
#include "bench/bench_common.h"
#include "bench/gemm_reference.h"
#include "engine/flop_count.h"
#include "kernels/openmp_spin.h"
#include "train/run_main.h"
#include "train/stylegan2/trainer.h"
#include "data/infinite_sampler.h"

namespace {

using namespace gf;
using bench::Reps;
using bench::time_per_call;

std::unique_ptr<Dataset> random_dataset(int res, int n, int channels = 3) {
  std::vector<uint8_t> px(static_cast<size_t>(n) * channels * res * res);
  uint64_t s = 1;
  for (auto& p : px) p = static_cast<uint8_t>((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 56);
  return std::make_unique<Dataset>("random", res, channels, std::move(px), std::vector<int64_t>{}, DatasetOptions{});
}

struct TrainBench {
  std::string cfg;
  int res = 32, channels = 1, batch = 0, minibatches = 16, warmup = 2;
  bool setup_only = false;
  std::string aug = "noaug", augpipe = "bgc";
  double p = 0;
};

// Minibatches of one config, timed as a whole: one JSON line.
int run_train(const TrainBench& b, Device dev) {
  const auto ds = random_dataset(b.res, 64, b.channels);
  TrainSpec spec = make_train_spec(b.cfg, b.res);
  if (b.batch > 0) {  // as train_stylegan's --batch: one pass per GPU
    spec.batch = b.batch;
    spec.batch_gpu = 0;
  }
  spec.aug = b.aug;
  spec.augpipe = b.augpipe;
  spec.augment_p = b.p;
  check_train_spec(spec);
  const TrainerSetup setup = make_trainer_setup(spec, *ds, 0, dev);
  nlohmann::json out = {{"spec", to_json(setup.spec)},
                        {"G_kwargs", stylegan2::to_json(setup.G_kwargs)},
                        {"D_kwargs", stylegan2::to_json(setup.D_kwargs)}};
  out["gomp_spincount"] = gf::cpu::openmp_spin_count();
  if (!b.setup_only) {
    const bench::GemmReference gemm = bench::gemm_reference(dev);
    StyleGAN2Trainer t(setup, *ds);
    for (int i = 0; i < b.warmup; ++i) t.step();
    t.take_stats();  // waits for the device
    const uint64_t f0 = flop_count::total();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < b.minibatches; ++i) t.step();
    t.take_stats();
    const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double flop = double(flop_count::total() - f0);
    out["device"] = dev.str();
    out["threads"] = omp_get_max_threads();
    out["minibatches"] = b.minibatches;
    out["batch"] = spec.batch;
    out["seconds"] = sec;
    out["sec_per_kimg"] = sec / (static_cast<double>(b.minibatches) * spec.batch) * 1000;
    out["flop_per_minibatch"] = flop / b.minibatches;
    out["tflop_s"] = flop / sec / 1e12;
    out["gemm_reference"] = gemm.what;
    out["gemm_tflop_s"] = gemm.tflop_s;
    out["fraction_of_gemm"] = flop / sec / 1e12 / gemm.tflop_s;
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}

struct Row {
  int res;
  std::string cfg;
};

TrainSpec row_spec(const Row& row, Device dev, int batch_override) {
  TrainSpec spec = make_train_spec(row.cfg, row.res);
  // The config's passes on a GPU (paper256: 8 passes of 8, as the official
  // single-GPU run); a given or CPU batch in one pass.
  if (batch_override > 0 || !dev.is_cuda()) {
    spec.batch = batch_override > 0 ? batch_override : (row.res >= 256 ? 2 : 4);
    spec.batch_gpu = 0;
  }
  spec.mbstd_group = std::min(spec.mbstd_group, batch_per_pass(spec));
  return spec;
}

void run_row(const Row& row, Device dev, int batch_override, Reps reps, const bench::GemmReference& gemm) {
  const auto ds = random_dataset(row.res, 64);
  const TrainSpec spec = row_spec(row, dev, batch_override);
  auto trainer_with = [&](double pl_weight, double gamma) {
    TrainSpec s = spec;
    s.pl_weight = pl_weight;
    s.gamma = gamma;
    s.g_reg_interval = s.d_reg_interval = 1;  // the regularizer that is on runs every minibatch
    return std::make_unique<StyleGAN2Trainer>(make_trainer_setup(s, *ds, 0, dev), *ds);
  };
  auto plain = trainer_with(0, 0), with_pl = trainer_with(spec.pl_weight, 0), with_r1 = trainer_with(0, spec.gamma);
  const int n = spec.batch;

  Generator rng(1);
  const Tensor z = randn({n, spec.z_dim}, rng, DType::f32, dev);
  const Tensor img = ds->batch(InfiniteSampler(ds->size(), 0).next_batch(n), dev).images;
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  auto g_fwd = [&] {
    NoGradGuard ng;
    plain->G_ema().forward(z, Tensor(), 1, std::nullopt, so);
  };
  auto d_fwd_bwd = [&] {
    plain->D().zero_grad();
    backward(sum(plain->D().forward(img, Tensor())));
  };
  const std::vector<std::function<void()>> fns = {g_fwd, d_fwd_bwd, [&] { plain->step(); },
                                                  [&] { with_pl->step(); }, [&] { with_r1->step(); }};
  // One untimed call of each counts its work, and is a warm-up call.
  std::vector<double> flop;
  for (const auto& fn : fns) {
    const uint64_t f0 = flop_count::total();
    fn();
    flop.push_back(double(flop_count::total() - f0));
  }
  reps.warmup = std::max(0, reps.warmup - 1);
  const std::vector<double> t = time_per_call(dev, reps, fns);
  // Official lazy schedule: the extra cost of path length on 1 in 4, of R1 on 1 in 16 minibatches.
  auto lazy = [&](const std::vector<double>& v) {
    return v[2] + (v[3] - v[2]) / spec.g_reg_interval + (v[4] - v[2]) / spec.d_reg_interval;
  };
  const double sched = lazy(t), sched_flop = lazy(flop), tflop_s = sched_flop / sched / 1e12;
  std::printf("%4d  %-9s %5d %5d  %9.1f %9.1f  %9.1f %9.1f %9.1f  %9.1f  %9.2f  %8.2f %8.3f %7.3f\n", row.res,
              row.cfg.c_str(), n, batch_per_pass(spec), t[0] * 1e3, t[1] * 1e3, t[2] * 1e3, t[3] * 1e3, t[4] * 1e3,
              sched * 1e3, sched / n * 1000, sched_flop / 1e9, tflop_s, tflop_s / gemm.tflop_s);
}

}  // namespace

int run(int argc, char** argv) {
  Device dev = cuda_available() ? Device::cuda(0) : Device::cpu();
  int batch = 0;
  int res = 0;
  bool quick = false;
  TrainBench train;
  const char* train_only = nullptr;  // the last flag given that only --train reads
  bool p_or_augpipe = false, p_given = false;
  const char* usage =
      "usage: bench_networks [--cpu] [--quick] [--batch N] [--res 32|64|256]\n"
      "       bench_networks --train CFG [--res R] [--channels C] [--batch N] [--minibatches N] [--warmup N]\n"
      "                      [--aug noaug|ada|fixed] [--p P] [--augpipe NAME] [--device cpu|cuda] [--setup]\n";
  for (int i = 1; i < argc; ++i) {
    const bool more = i + 1 < argc;
    for (const char* f : {"--channels", "--minibatches", "--warmup", "--setup", "--aug", "--augpipe", "--p"})
      if (!std::strcmp(argv[i], f)) train_only = f;
    p_or_augpipe |= !std::strcmp(argv[i], "--p") || !std::strcmp(argv[i], "--augpipe");
    p_given |= !std::strcmp(argv[i], "--p");
    if (!std::strcmp(argv[i], "--cpu")) dev = Device::cpu();
    else if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--batch") && more) batch = train.batch = bench::int_flag("bench_networks", "batch", argv[++i], 1, 65536);
    else if (!std::strcmp(argv[i], "--train") && more) train.cfg = argv[++i];
    else if (!std::strcmp(argv[i], "--res") && more) res = train.res = bench::int_flag("bench_networks", "res", argv[++i], 4, 1024);
    else if (!std::strcmp(argv[i], "--channels") && more) train.channels = bench::int_flag("bench_networks", "channels", argv[++i], 1, 3);
    else if (!std::strcmp(argv[i], "--minibatches") && more) train.minibatches = bench::int_flag("bench_networks", "minibatches", argv[++i], 1, 1000000);
    else if (!std::strcmp(argv[i], "--warmup") && more) train.warmup = bench::int_flag("bench_networks", "warmup", argv[++i], 0, 1000000);
    else if (!std::strcmp(argv[i], "--device") && more) dev = Device::parse(argv[++i]);
    else if (!std::strcmp(argv[i], "--setup")) train.setup_only = true;
    else if (!std::strcmp(argv[i], "--aug") && more) train.aug = argv[++i];
    else if (!std::strcmp(argv[i], "--augpipe") && more) train.augpipe = argv[++i];
    else if (!std::strcmp(argv[i], "--p") && more) train.p = bench::number_flag("bench_networks", "p", argv[++i], cli::Range::at_least(0, 1));
    else if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("%s  --batch 1..65536, --res 4..1024, --channels 1..3, --minibatches 1..1000000, --warmup 0..1000000, --p 0..1\n",
                  usage);
      return 0;
    } else {
      std::fprintf(stderr, "bench_networks: error: unknown flag, or a flag without its value: '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  if (train.cfg.empty() && train_only) {
    std::fprintf(stderr, "bench_networks: error: %s is a flag of --train CFG runs (try --help)\n", train_only);
    return 2;
  }
  if (!train.cfg.empty() && train.aug == "noaug" && p_or_augpipe) {
    std::fprintf(stderr, "bench_networks: error: --p and --augpipe set the augmentation, which --aug noaug (the "
                         "default) leaves out: give --aug ada or fixed\n");
    return 2;
  }
  if (!train.cfg.empty() && train.aug == "fixed" && !p_given) {  // as train_stylegan (train.py) refuses it
    std::fprintf(stderr, "bench_networks: error: --aug fixed needs --p\n");
    return 2;
  }
  if (!train.cfg.empty()) return run_train(train, dev);
  std::vector<Row> rows = {{32, "auto"}, {64, "auto"}, {256, "paper256"}};
  if (res != 0) {
    rows.erase(std::remove_if(rows.begin(), rows.end(), [res](const Row& r) { return r.res != res; }), rows.end());
    if (rows.empty()) {
      std::fprintf(stderr, "bench_networks: error: --res must be 32, 64 or 256, got %d\n", res);
      return 2;
    }
  } else if (quick) {
    rows.pop_back();
  }
  // Before any timing: a missing GPU, and a --batch the networks cannot take
  // (the minibatch-stddev group must divide it), as one error line.
  check_device_usable(dev);
  for (const Row& r : rows) {
    try {
      check_train_spec(row_spec(r, dev, batch));
    } catch (const Error& e) {
      throw Error("--batch " + std::to_string(batch) + " does not suit " + r.cfg + " at " + std::to_string(r.res) +
                  " px: " + e.what());
    }
  }
  const Reps reps = dev.is_cuda() ? Reps{2, 5, 1} : Reps{1, quick ? 1 : 3, 1};
  const bench::GemmReference gemm = bench::gemm_reference(dev);
  std::printf("StyleGAN2 networks on %s (times in ms per minibatch; sec/kimg under the official lazy schedule)\n",
              dev.str().c_str());
  std::printf("GEMM reference: %s, %.3f TFLOP/s; GFLOP: the lazy step's convolutions and matrix products\n",
              gemm.what.c_str(), gemm.tflop_s);
  std::printf(" res  cfg       batch  pass  G fwd     D fwd+bwd  step      step+pl   step+r1   lazy step  sec/kimg"
              "   GFLOP    TFLOP/s  of GEMM\n");
  for (const Row& r : rows) run_row(r, dev, batch, !dev.is_cuda() && r.res >= 256 ? Reps{1, 1, 1} : reps, gemm);
  return 0;
}

// The programs' entry (train/run_main.h): their OpenMP spin policy, and any error
// (no such GPU, a batch the networks refuse) as one line and exit 1.
int main(int argc, char** argv) { return gf::cli::run_main("bench_networks", [&] { return run(argc, argv); }); }
