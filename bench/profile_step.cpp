// Where a StyleGAN2 training minibatch spends its time: per phase (data,
// Gmain, Greg, Dmain, Dreg, Adam, EMA) and per op, with the OpenMP parallel
// regions and the malloc calls each one makes, and the page faults of the
// whole run. This is the measurement CPU optimisations are chosen by
// (issue 19; bench/RESULTS.md records its tables).
//
//   build/bin/profile_step [--cfg small] [--res 32] [--channels 1] [--batch N]
//                          [--minibatches 16] [--warmup 1] [--top 40] [--cpu-time] [--no-profile]
//                          [--malloc-sites N]
//
// The config is built as train_stylegan builds it for a dataset of
// res x res x channels (random images held in memory). After --warmup
// minibatches (the first runs every phase, so every shape is seen once),
// --minibatches are profiled from batch_idx = warmup; 16 of them hold the
// official lazy schedule once (path length on 4, R1 on 1), so the figures
// per minibatch are the schedule's averages. Threads: OMP_NUM_THREADS.
// --no-profile times the same minibatches with every hook off (the plain
// figure for A/B comparisons). Times are wall-clock on the host, or with
// --cpu-time the process's CPU time (all threads, spin-waiting included):
// on a shared machine, with OMP_NUM_THREADS=1, that is the work itself
// whatever else runs, and the figure to compare across builds.
// The dense products' work (engine/flop_count.h) is given per minibatch and
// per op, with its rate over the whole minibatch and inside those ops, each
// as a fraction of OpenBLAS's sgemm measured in the same run
// (bench/gemm_reference.h).
// --malloc-sites N prints the N call stacks that called malloc most often in
// the profiled minibatches (object+offset frames: addr2line -C -f -e <object>
// <offset> names them), to find what still allocates in the steady state.
#include <omp.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "bench/bench_flags.h"
#include "bench/gemm_reference.h"
#include "bench/sys_counters.h"
#include "engine/pool.h"
#include "engine/profile.h"
#include "kernels/openmp_spin.h"
#include "train/stylegan2/trainer.h"

namespace {

using namespace gf;

struct Options {
  std::string cfg = "small";
  int res = 32, channels = 1, batch = 0, minibatches = 16, warmup = 1, top = 40;
  bool profile = true, cpu_time = false;
  int malloc_sites = 0;  // print this many of the busiest malloc call stacks
};

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

std::unique_ptr<Dataset> random_dataset(int res, int channels, int n) {
  std::vector<uint8_t> px(static_cast<size_t>(n) * channels * res * res);
  uint64_t s = 1;
  for (auto& p : px) p = static_cast<uint8_t>((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 56);
  return std::make_unique<Dataset>("random", res, channels, std::move(px), std::vector<int64_t>{}, DatasetOptions{});
}

long minor_faults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// GFLOP/s of an op's dense products over its own time (blank for ops without them).
std::string op_rate(const profile::Entry& e) {
  if (e.counters.flops == 0 || e.seconds <= 0) return "";
  char s[32];
  std::snprintf(s, sizeof s, "%.1f", double(e.counters.flops) / e.seconds / 1e9);
  return s;
}

void print_rows(const std::vector<profile::Entry>& rows, double total, int mb, int top) {
  std::printf("  %-8s %-28s %9s %9s %6s %10s %10s %9s %8s\n", "phase", "op", "calls/mb", "ms/mb", "%", "regions/mb",
              "mallocs/mb", "MFLOP/mb", "GFLOP/s");
  int shown = 0;
  for (const auto& e : rows) {
    if (top > 0 && shown++ >= top) break;
    std::printf("  %-8s %-28s %9.1f %9.2f %6.1f %10.1f %10.1f %9.1f %8s\n", e.phase.c_str(), e.op.c_str(),
                double(e.calls) / mb, e.seconds / mb * 1e3, 100 * e.seconds / total,
                double(e.counters.parallel_regions) / mb, double(e.counters.mallocs) / mb,
                double(e.counters.flops) / mb / 1e6, op_rate(e).c_str());
  }
}

int run(const Options& o) {
  profile::set_counter_source(&bench::sys::read);
  const auto ds = random_dataset(o.res, o.channels, 64);
  TrainSpec spec = make_train_spec(o.cfg, o.res);
  if (o.batch > 0) {  // as train_stylegan --batch: one pass
    spec.batch = o.batch;
    spec.batch_gpu = 0;
  }
  const bench::GemmReference gemm = bench::gemm_reference(Device::cpu());
  StyleGAN2Trainer t(make_trainer_setup(spec, *ds, 0, Device::cpu()), *ds);
  for (int i = 0; i < o.warmup; ++i) t.step();

  const profile::Counters c0 = profile::read_counters();
  const pool::Stats pool0 = pool::stats();
  const long f0 = minor_faults();
  if (o.profile) profile::start(o.cpu_time);
  if (o.malloc_sites > 0) bench::sys::record_sites(true);
  const auto t0 = std::chrono::steady_clock::now();
  const double cpu0 = cpu_seconds();
  for (int i = 0; i < o.minibatches; ++i) t.step();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cpu = cpu_seconds() - cpu0;
  profile::stop();
  bench::sys::record_sites(false);
  const double sec = o.cpu_time ? cpu : wall;  // the clock of every figure below
  const profile::Counters c1 = profile::read_counters();
  const long f1 = minor_faults();

  const int mb = o.minibatches;
  std::printf("profile_step: cfg %s at %dx%dx%d, batch %d, cpu, %d OpenMP threads, %d minibatches from batch_idx %d%s\n",
              o.cfg.c_str(), o.res, o.res, o.channels, spec.batch, omp_get_max_threads(), mb, o.warmup,
              o.profile ? "" : " (hooks off)");
  std::printf("total: %.2f ms per minibatch, %.2f sec/kimg (wall-clock; CPU time %.2f ms per minibatch)\n",
              wall / mb * 1e3, wall / (double(mb) * spec.batch) * 1e3, cpu / mb * 1e3);
  std::printf("per minibatch: %.0f parallel regions (and %.0f turned off by their if clause), %.0f mallocs (%.1f MiB), "
              "%.0f minor page faults\n",
              double(c1.parallel_regions - c0.parallel_regions) / mb, double(c1.serial_regions - c0.serial_regions) / mb,
              double(c1.mallocs - c0.mallocs) / mb,
              double(c1.malloc_bytes - c0.malloc_bytes) / mb / (1 << 20), double(f1 - f0) / mb);
  const double flop = double(c1.flops - c0.flops);
  // With --cpu-time the rates are per CPU-second (every thread's), so the
  // wall-clock reference over all threads is divided by their count.
  const int threads = omp_get_max_threads();
  const double ref_tflop_s = o.cpu_time ? gemm.tflop_s / threads : gemm.tflop_s;
  std::printf("dense products (convolutions, matrix products): %.1f MFLOP per minibatch, %.1f GFLOP/s over the "
              "minibatch%s, %.3f of the GEMM reference (%s, %.1f GFLOP/s%s, measured before)\n",
              flop / mb / 1e6, flop / sec / 1e9, o.cpu_time ? " per CPU-second" : "", flop / sec / 1e12 / ref_tflop_s,
              gemm.what.c_str(), ref_tflop_s * 1e3,
              o.cpu_time ? (" a thread: " + std::to_string(threads) + " threads' wall-clock rate over them").c_str()
                         : "");
  std::printf("pooled small-object blocks taken from the system (engine/pool.h) during the run: %lld\n",
              static_cast<long long>(pool::stats().fresh - pool0.fresh));
  if (o.malloc_sites > 0) bench::sys::print_sites(o.malloc_sites, mb);
  if (!o.profile) return 0;

  const profile::Report r = profile::report();
  double in_ops = 0;
  std::map<std::string, double> op_time;  // phase -> time in ops
  for (const auto& e : r.ops) {
    in_ops += e.seconds;
    op_time[e.phase] += e.seconds;
  }
  std::printf("\nfigures below in %s\n", o.cpu_time ? "CPU time" : "wall-clock time");
  std::printf("phases (each without the phases nested in it; 'in ops' is the time inside kernels):\n");
  std::printf("  %-8s %9s %6s %9s %10s %10s\n", "phase", "ms/mb", "%", "in ops ms", "regions/mb", "mallocs/mb");
  for (const auto& e : r.phases)
    std::printf("  %-8s %9.2f %6.1f %9.2f %10.1f %10.1f\n", e.phase.c_str(), e.seconds / mb * 1e3,
                100 * e.seconds / sec, op_time[e.phase] / mb * 1e3, double(e.counters.parallel_regions) / mb,
                double(e.counters.mallocs) / mb);
  std::printf("  in ops: %.1f%% of the time; outside them (autograd, tensors, allocation): %.1f%%\n",
              100 * in_ops / sec, 100 * (sec - in_ops) / sec);

  // Op families: every phase together.
  std::map<std::string, profile::Entry> fam;
  for (const auto& e : r.ops) {
    profile::Entry& f = fam[e.op];
    f.phase = "all";
    f.op = e.op;
    f.calls += e.calls;
    f.seconds += e.seconds;
    f.counters.parallel_regions += e.counters.parallel_regions;
    f.counters.mallocs += e.counters.mallocs;
    f.counters.flops += e.counters.flops;
  }
  std::vector<profile::Entry> by_op;
  for (auto& kv : fam) by_op.push_back(kv.second);
  auto slowest_first = [](const profile::Entry& a, const profile::Entry& b) { return a.seconds > b.seconds; };
  std::sort(by_op.begin(), by_op.end(), slowest_first);
  std::printf("\nops, all phases together (time inside the op's kernel call):\n");
  print_rows(by_op, sec, mb, 0);

  std::vector<profile::Entry> rows = r.ops;
  std::sort(rows.begin(), rows.end(), slowest_first);
  std::printf("\nops by phase, slowest %d:\n", o.top);
  print_rows(rows, sec, mb, o.top);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // first: it may execute the program again
  Options o;
  const char* usage =
      "usage: profile_step [--cfg small] [--res 32] [--channels 1] [--batch N] [--minibatches 16] [--warmup 1] "
      "[--top 40] [--cpu-time] [--no-profile] [--malloc-sites N]\n"
      "  Where a StyleGAN2 training minibatch spends its time, per phase and per op (ms).\n"
      "  --res 4..1024 px, --channels 1..3, --batch 1..65536 images, --minibatches 1..1000000 profiled\n"
      "  after --warmup 0..1000000, --top 1..1000000 ops listed, --malloc-sites 1..1000000\n";
  auto int_flag = [](const char* flag, const char* text, long long lo, long long hi) {
    return gf::bench::int_flag("profile_step", flag, text, lo, hi);
  };
  for (int i = 1; i < argc; ++i) {
    const char* a = argv[i];
    const bool more = i + 1 < argc;
    if (!std::strcmp(a, "--help") || !std::strcmp(a, "-h")) {
      std::fputs(usage, stdout);
      return 0;
    }
    if (!std::strcmp(a, "--cfg") && more) o.cfg = argv[++i];
    else if (!std::strcmp(a, "--res") && more) o.res = int_flag("res", argv[++i], 4, 1024);
    else if (!std::strcmp(a, "--channels") && more) o.channels = int_flag("channels", argv[++i], 1, 3);
    else if (!std::strcmp(a, "--batch") && more) o.batch = int_flag("batch", argv[++i], 1, 65536);
    else if (!std::strcmp(a, "--minibatches") && more) o.minibatches = int_flag("minibatches", argv[++i], 1, 1000000);
    else if (!std::strcmp(a, "--warmup") && more) o.warmup = int_flag("warmup", argv[++i], 0, 1000000);
    else if (!std::strcmp(a, "--top") && more) o.top = int_flag("top", argv[++i], 1, 1000000);
    else if (!std::strcmp(a, "--no-profile")) o.profile = false;
    else if (!std::strcmp(a, "--cpu-time")) o.cpu_time = true;
    else if (!std::strcmp(a, "--malloc-sites") && more) o.malloc_sites = int_flag("malloc-sites", argv[++i], 1, 1000000);
    else {
      std::fprintf(stderr, "profile_step: error: unknown flag, or a flag without its value: '%s' (try --help)\n", a);
      return 2;
    }
  }
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "profile_step: error: %s\n", e.what());
    return 1;
  }
}
