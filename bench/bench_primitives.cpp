// Primitive ops against the machine's own ceilings. Memory-bound ops (add, sum;
// on the CPU also the CRC-32 of engine/io/crc32.h) are measured in GB/s and compared with a copy of the same size (memcpy on
// the CPU, a device-to-device Tensor::clone on the GPU); compute-bound ops
// (matmul, conv2d) in TFLOP/s and compared with the GEMM library's rate
// (OpenBLAS sgemm called directly on the CPU; the matmul op itself, which is
// cuBLAS, on the GPU). Each figure is the median over several timed samples
// taken after warm-up; on the GPU a sample spans several calls between stream
// synchronizations, so launch and sync overheads are amortized as in real use.
// On the CPU, conv2d is also called from several host threads at once (each
// on one OpenMP thread, as a server's workers would) and compared with the
// same calls taken in turns and with the one-thread rate times the threads.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/io/crc32.h"
#include "bench/bench_common.h"
#include "engine/ops.h"
#include "kernels/cuda_runtime.h"

namespace {

using namespace gf;

constexpr int64_t MiB = 1 << 20;

struct Sizes {
  int64_t mem_bytes;                // each operand of copy/add/sum
  int64_t mm;                       // matmul mm x mm x mm
  int64_t conv_n, conv_c, conv_hw;  // conv2d 3x3, conv_c -> conv_c, padding 1
};
constexpr Sizes kFull{64 * MiB, 4096, 16, 512, 64};
// A GPU's L2 holds tens of MiB (an H100's or H200's 50 MB): its memory ops
// take 1 GiB operands, 20x the L2, so the rates are DRAM's (about 0.5 ms a
// call at an H200's 4.8 TB/s).
constexpr Sizes kGpu{1024 * MiB, 4096, 16, 512, 64};
// Full-size conv and matmul are 450 GFLOP, tens of seconds to minutes on a few cores.
constexpr Sizes kCpuDefault{64 * MiB, 2048, 2, 512, 64};
// Memory ops stay at 64 MiB: they are cheap, and smaller buffers would sit in cache.
constexpr Sizes kQuick{64 * MiB, 1024, 1, 256, 32};

using bench::Reps;
using bench::sync;
using bench::time_per_call;

std::string cpu_name() {
  std::ifstream f("/proc/cpuinfo");
  std::string line, name = "unknown CPU";
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      name = line.substr(line.find(':') + 2);
      break;
    }
  return name + ", " + std::to_string(omp_get_max_threads()) + " threads";
}

std::string device_name(Device d) {
#ifdef GF_WITH_CUDA
  if (d.is_cuda()) return cuda::device_name(d.index);
#endif
  return cpu_name();
}

std::string mib(int64_t bytes) { return std::to_string(bytes / MiB) + " MiB"; }

// One output row. `frac` is the fraction of `ref`'s rate (negative: this row is a reference).
void row(const char* op, const std::string& size, double seconds, double rate, const char* unit, double frac,
         const char* ref) {
  char f[64];
  if (frac < 0)
    std::snprintf(f, sizeof f, "reference");
  else
    std::snprintf(f, sizeof f, "%.2f of %s", frac, ref);
  std::printf("  %-8s %-32s %10.3f ms %9.2f %-7s %s\n", op, size.c_str(), seconds * 1e3, rate, unit, f);
  std::fflush(stdout);
}

void run_device(Device d, const Sizes& z) {
  const bool gpu = d.is_cuda();
  std::printf("\n%s: %s\n", d.str().c_str(), device_name(d).c_str());
  Generator g(1);
  const Reps mem = gpu ? Reps{3, 9, 20} : Reps{1, 9, 1};
  const Reps flops = gpu ? Reps{2, 5, 3} : Reps{1, 3, 1};

  // ---- memory-bound: copy (the reference), add, sum ----
  const int64_t n = z.mem_bytes / int64_t(sizeof(float));
  const Tensor a = gf::rand({n}, g, DType::f32, d), b = gf::rand({n}, g, DType::f32, d);
  std::function<void()> copy;
  std::unique_ptr<char[]> src, dst;
  if (gpu) {
    copy = [&] { a.clone(); };
  } else {
    src.reset(new char[z.mem_bytes]);
    dst.reset(new char[z.mem_bytes]);
    std::memset(src.get(), 1, z.mem_bytes);
    std::memset(dst.get(), 0, z.mem_bytes);
    // Each thread copies its own chunk, as the OpenMP elementwise kernels read theirs.
    copy = [&] {
#pragma omp parallel
      {
        const int64_t chunk = (z.mem_bytes + omp_get_num_threads() - 1) / omp_get_num_threads();
        const int64_t begin = std::min(z.mem_bytes, chunk * omp_get_thread_num());
        const int64_t end = std::min(z.mem_bytes, begin + chunk);
        std::memcpy(dst.get() + begin, src.get() + begin, end - begin);
      }
    };
  }
  const auto mem_s = time_per_call(d, mem, {copy, [&] { add(a, b); }, [&] { sum(a); }});
  const double copy_gbs = 2.0 * z.mem_bytes / mem_s[0] / 1e9;
  const double add_gbs = 3.0 * z.mem_bytes / mem_s[1] / 1e9;
  const double sum_gbs = double(z.mem_bytes) / mem_s[2] / 1e9;
  row("copy", mib(z.mem_bytes) + (gpu ? " (clone, d2d)" : " (memcpy)"), mem_s[0], copy_gbs, "GB/s", -1, "");
  row("add", mib(z.mem_bytes) + " + " + mib(z.mem_bytes), mem_s[1], add_gbs, "GB/s", add_gbs / copy_gbs, "copy");
  row("sum", mib(z.mem_bytes) + " -> scalar", mem_s[2], sum_gbs, "GB/s", sum_gbs / copy_gbs, "copy");
  if (!gpu) {  // the CRC-32 that every .bin load, zip entry and PNG chunk is checked with (one thread)
    static volatile uint32_t sink = 0;
    const double crc_s = time_per_call(d, mem, [&] { sink = sink ^ gf::crc32(src.get(), size_t(z.mem_bytes)); });
    const double crc_gbs = z.mem_bytes / crc_s / 1e9;
    row("crc32", mib(z.mem_bytes) + " (zlib, one thread)", crc_s, crc_gbs, "GB/s", crc_gbs / copy_gbs, "copy");
  }

  // ---- compute-bound: the GEMM library's rate (the reference), matmul, conv2d ----
  const int64_t m = z.mm;
  const Tensor ma = randn({m, m}, g, DType::f32, d), mb = randn({m, m}, g, DType::f32, d);
  Tensor mc = Tensor::empty({m, m}, DType::f32, d);
  const int64_t cn = z.conv_n, cc = z.conv_c, hw = z.conv_hw;
  const Tensor x = randn({cn, cc, hw, hw}, g, DType::f32, d), w = randn({cc, cc, 3, 3}, g, DType::f32, d);
  Conv2dParams p;
  p.pad_h = p.pad_w = 1;

  std::vector<std::function<void()>> fns = {[&] { matmul(ma, mb); }, [&] { conv2d(x, w, p); }};
  if (!gpu)  // on the GPU the matmul op is cuBLAS itself
    fns.push_back([&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(m), int(m), 1.0f, ma.data<float>(), int(m),
                  mb.data<float>(), int(m), 0.0f, mc.data<float>(), int(m));
    });
  const auto flop_s = time_per_call(d, flops, fns);

  const std::string mm_size = std::to_string(m) + "^3";
  const double mm_flop = 2.0 * m * m * m, conv_flop = 2.0 * cn * cc * hw * hw * cc * 9;
  const double mm_tfs = mm_flop / flop_s[0] / 1e12, conv_tfs = conv_flop / flop_s[1] / 1e12;
  double gemm_tfs = mm_tfs;
  const char* gemm_name = "cuBLAS";
  if (gpu) {
    row("matmul", mm_size + " (cuBLAS)", flop_s[0], mm_tfs, "TFLOP/s", -1, "");
  } else {
    gemm_name = "sgemm";
    gemm_tfs = mm_flop / flop_s[2] / 1e12;
    row("sgemm", mm_size + " (OpenBLAS direct)", flop_s[2], gemm_tfs, "TFLOP/s", -1, "");
    row("matmul", mm_size, flop_s[0], mm_tfs, "TFLOP/s", mm_tfs / gemm_tfs, gemm_name);
  }
  row("conv2d", "3x3 " + std::to_string(cc) + "->" + std::to_string(cc) + " " + std::to_string(hw) + "x" +
                    std::to_string(hw) + " batch " + std::to_string(cn),
      flop_s[1], conv_tfs, "TFLOP/s", conv_tfs / gemm_tfs, gemm_name);
}

// Seconds for `threads` host threads to make `calls` conv2d calls each, every
// thread on one OpenMP thread, timed from a common start to the last one's
// end; `in_turns` takes each call under one lock (the calls then run one at a
// time, as they did under a process-wide lock around oneDNN).
double host_threads_seconds(int threads, int calls, bool in_turns, const Tensor& x, const Tensor& w,
                            const Conv2dParams& p) {
  std::mutex turn, start_mutex;
  std::condition_variable start;
  int ready = 0;
  bool go = false;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      omp_set_num_threads(1);
      conv2d(x, w, p);  // warm-up: this thread's pool blocks and oneDNN's pass
      std::unique_lock<std::mutex> lock(start_mutex);
      ++ready;
      start.notify_all();
      start.wait(lock, [&] { return go; });
      lock.unlock();
      for (int i = 0; i < calls; ++i) {
        if (in_turns) {
          std::lock_guard<std::mutex> one(turn);
          conv2d(x, w, p);
        } else {
          conv2d(x, w, p);
        }
      }
    });
  std::unique_lock<std::mutex> lock(start_mutex);
  start.wait(lock, [&] { return ready == threads; });
  const auto t0 = std::chrono::steady_clock::now();
  go = true;
  start.notify_all();
  lock.unlock();
  for (std::thread& th : pool) th.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// conv2d 3x3 64->64 at 32x32, batch 1 (a 32x32 layer of a small generator)
// from 1, 2, 4, ... host threads up to OpenMP's thread count (at least 2).
// Rates in TFLOP/s over all threads; the fraction is of the ideal: the one
// thread's rate times the threads.
void run_host_threads() {
  Generator g(2);
  const int64_t c = 64, hw = 32;
  const Tensor x = randn({1, c, hw, hw}, g), w = randn({c, c, 3, 3}, g);
  Conv2dParams p;
  p.pad_h = p.pad_w = 1;
  const double flop = 2.0 * c * hw * hw * c * 9;
  const int calls = 50, samples = 5;
  const int most = std::max(2, omp_get_max_threads());
  std::printf("\n  conv2d 3x3 %lld->%lld %lldx%lld batch 1 from host threads, each on one OpenMP thread:\n",
              (long long)c, (long long)c, (long long)hw, (long long)hw);
  std::vector<int> counts;
  for (int t = 1; t < most; t *= 2) counts.push_back(t);
  counts.push_back(most);
  double one_rate = 0;
  for (const int threads : counts) {
    // Samples of the two ways alternate, so background load hits both alike.
    std::vector<double> turns, once;
    for (int i = 0; i < samples; ++i) {
      turns.push_back(host_threads_seconds(threads, calls, true, x, w, p));
      once.push_back(host_threads_seconds(threads, calls, false, x, w, p));
    }
    std::sort(turns.begin(), turns.end());
    std::sort(once.begin(), once.end());
    const double total = flop * calls * threads;
    const double turns_rate = total / turns[samples / 2] / 1e12, once_rate = total / once[samples / 2] / 1e12;
    if (threads == 1) one_rate = once_rate;
    const std::string name = std::to_string(threads) + (threads == 1 ? " thread" : " threads");
    // The time column: one call on every thread (the wall time over `calls`).
    row("conv2d", name + " in turns", turns[samples / 2] / calls, turns_rate, "TFLOP/s",
        turns_rate / (one_rate * threads), "ideal");
    row("conv2d", name + " at once", once[samples / 2] / calls, once_rate, "TFLOP/s",
        once_rate / (one_rate * threads), "ideal");
  }
}

void usage(FILE* f) {
  std::fprintf(f,
               "usage: bench_primitives [--device cpu|cuda|all] [--quick] [--full] [--help]\n"
               "  Times elementwise add and sum (64 MiB float32 on the CPU, 1 GiB on a GPU: past its L2; on the\n"
               "  CPU also crc32 of 64 MiB on one thread),\n"
               "  matmul 4096^3 and conv2d 3x3 512->512 at 64x64 batch 16, padding 1 (the GPU's sizes;\n"
               "  the CPU's below), on each device; prints time per call (median), GB/s or TFLOP/s, and\n"
               "  the fraction of a reference measured in the same run: the copy's bandwidth or the GEMM\n"
               "  library's rate (rows that stay in cache, or beat the library, pass 1). On the CPU, also\n"
               "  conv2d 3x3 64->64 32x32 from 1, 2, 4, ... host threads (each on one OpenMP thread), at\n"
               "  once and in turns, as a fraction of the one thread's rate times the threads.\n"
               "  --device  cpu, cuda, or all available (default)\n"
               "  --quick   small sizes everywhere (seconds on a 2-core CPU)\n"
               "  --full    full sizes on the CPU too (by default its matmul is 2048^3 and conv batch 2)\n");
}

}  // namespace

int main(int argc, char** argv) {
  gf::cpu::prefer_short_openmp_spin();  // the programs' spin policy; first: it may execute the program again
  std::string device = "all";
  bool quick = false, full = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "--device" && i + 1 < argc) {
      device = argv[++i];
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--full") {
      full = true;
    } else {
      std::fprintf(stderr, "bench_primitives: unknown argument '%s' (see --help)\n", arg.c_str());
      return 2;
    }
  }
  if (device != "cpu" && device != "cuda" && device != "all") {
    std::fprintf(stderr, "bench_primitives: --device must be cpu, cuda or all, not '%s'\n", device.c_str());
    return 2;
  }
  if (quick && full) {
    std::fprintf(stderr, "bench_primitives: --quick and --full exclude each other\n");
    return 2;
  }
  if (device == "cuda" && !cuda_available()) {
    std::fprintf(stderr, "bench_primitives: no CUDA device (or a build without the CUDA backend)\n");
    return 1;
  }
  try {
    const Sizes cpu_sizes = quick ? kQuick : full ? kFull : kCpuDefault;
    if (quick)
      std::printf("--quick: reduced sizes on every device\n");
    else if (!full)
      std::printf("CPU sizes reduced (matmul %lld^3, conv batch %lld); --full runs the full ones\n",
                  (long long)kCpuDefault.mm, (long long)kCpuDefault.conv_n);
    if (device != "cuda") {
      run_device(Device::cpu(), cpu_sizes);
      run_host_threads();
    }
    if (device != "cpu" && cuda_available()) run_device(Device::cuda(0), quick ? kQuick : kGpu);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_primitives: %s\n", e.what());
    return 1;
  }
  return 0;
}
