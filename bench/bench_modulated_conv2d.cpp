// modulated_conv2d at StyleGAN2 synthesis sizes (batch 32; 512 channels at
// 4..64 px, 256 at 128, 128 at 256; 3x3 kernels): the fused path (per-sample
// weights from one kernel, then one grouped convolution) and the unfused path
// (scale activations around one shared convolution) against a plain
// convolution of the same shape, the floor: conv2d for up = 1, and for up = 2
// the stride-2 conv_transpose2d that the resampled path runs before its FIR
// filter. Each row prints forward and forward+backward times, the TFLOP/s of
// the convolution's 2*N*Cout*Cin*kh*kw*H*W multiply-adds, and the ratio to
// the floor (the target for the fused path is 1.3x or less), and the fused
// rate as a fraction of the device's GEMM rate measured in the same run (a
// practical ceiling, not the hardware's peak). Medians over
// timed samples after warm-up. The CPU runs reduced sizes so the program
// finishes in seconds; --quick reduces them further.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "engine/ops.h"
#include "engine/ops/modulated_conv2d.h"
#include "engine/ops/upfirdn2d.h"
#include "kernels/cuda_runtime.h"

namespace {

using namespace gf;

using bench::channels_at;
using bench::Reps;
using bench::sync;
using bench::time_per_call;

// Forward, or forward and backward to all inputs (gradients of sum(y * gy)).
std::function<void()> pass(const std::function<Tensor()>& fwd, const std::vector<Tensor>& inputs, bool backward,
                           const Tensor& gy) {
  if (!backward)
    return [fwd] {
      NoGradGuard ng;
      fwd();
    };
  return [fwd, inputs, gy] { grad({fwd()}, inputs, {gy}); };
}

// The device's GEMM rate in TFLOP/s (the matmul op: OpenBLAS sgemm, cuBLAS),
// measured here: the ceiling each row's rate is a fraction of.
double gemm_tflops(Device dev, Reps reps, int64_t m) {
  Generator gen(2);
  const Tensor a = randn({m, m}, gen, DType::f32, dev), b = randn({m, m}, gen, DType::f32, dev);
  const double t = time_per_call(dev, reps, [&] { matmul(a, b); });
  return 2.0 * double(m) * double(m) * double(m) / t / 1e12;
}

void row(Device dev, Reps reps, int64_t n, int64_t c, int64_t res, int up, const Tensor& f, double gemm) {
  Generator gen(1);
  const int64_t in_res = res / up;
  Tensor x = randn({n, c, in_res, in_res}, gen, DType::f32, dev).requires_grad_();
  Tensor w = randn({c, c, 3, 3}, gen, DType::f32, dev).requires_grad_();
  Tensor s = (randn({n, c}, gen, DType::f32, dev) + 1.0).requires_grad_();
  Tensor wt = randn({c, c, 3, 3}, gen, DType::f32, dev).requires_grad_();  // [Cin, Cout, 3, 3] for the transpose
  ModConv2dParams p;
  p.up = up, p.padding = 1;
  const Tensor gy = randn({n, c, res, res}, gen, DType::f32, dev);
  ModConv2dParams pu = p;
  pu.fused = false;
  const std::function<Tensor()> fused = [&] { return modulated_conv2d(x, w, s, f, p); };
  const std::function<Tensor()> unfused = [&] { return modulated_conv2d(x, w, s, f, pu); };
  Conv2dParams cp;
  cp.pad_h = cp.pad_w = 1;
  if (up == 2) cp.stride_h = cp.stride_w = 2, cp.pad_h = cp.pad_w = 0;
  const std::function<Tensor()> floor = [&] { return up == 1 ? conv2d(x, w, cp) : conv_transpose2d(x, wt, cp); };
  const Tensor gy_floor = [&] {
    NoGradGuard ng;
    return randn(floor().shape(), gen, DType::f32, dev);
  }();
  const double flops = 2.0 * n * c * c * 9 * double(up == 1 ? res * res : in_res * in_res);
  for (bool bwd : {false, true}) {
    // Sampled round-robin, so the ratios see one background load.
    const std::vector<double> t = time_per_call(
        dev, reps, {pass(fused, {x, w, s}, bwd, gy), pass(unfused, {x, w, s}, bwd, gy),
                    pass(floor, {x, up == 1 ? w : wt}, bwd, gy_floor)});
    const double tf = t[0], tu = t[1], t0 = t[2];
    const double f_all = flops * (bwd ? 3 : 1);  // the backward runs the data and weight passes
    std::printf("  %4lld px %3lld ch up%d %-8s fused %8.3f ms %7.3f TFLOP/s %.2f of GEMM (%.2fx) | unfused %8.3f ms "
                "(%.2fx) | floor %8.3f ms %7.3f TFLOP/s\n",
                (long long)res, (long long)c, up, bwd ? "fwd+bwd" : "fwd", tf * 1e3, f_all / tf / 1e12,
                f_all / tf / 1e12 / gemm, tf / t0, tu * 1e3, tu / t0, t0 * 1e3, f_all / t0 / 1e12);
    std::fflush(stdout);
  }
}

void run_device(Device dev, bool quick) {
  const bool gpu = dev.is_cuda();
  std::string name = " (reduced sizes; StyleGAN2 sizes need a GPU)";
#ifdef GF_WITH_CUDA
  if (gpu) name = ": " + cuda::device_name(dev.index);
#endif
  std::printf("\n%s%s\n", dev.str().c_str(), name.c_str());
  const Tensor f = setup_filter({1, 3, 3, 1}, false, DType::f32, dev);
  const Reps reps = gpu ? Reps{3, 7, 5} : Reps{2, 5, 2};
  const int64_t batch = gpu ? 32 : quick ? 1 : 2;
  const std::vector<int64_t> res = gpu ? std::vector<int64_t>{4, 8, 16, 32, 64, 128, 256}
                                       : quick ? std::vector<int64_t>{8} : std::vector<int64_t>{8, 16, 32};
  const int64_t m = gpu ? 4096 : quick ? 512 : 1024;
  const double gemm = gemm_tflops(dev, reps, m);
  std::printf("  GEMM reference: matmul %lld^3 %.3f TFLOP/s (the rows' \"of GEMM\")\n", (long long)m, gemm);
  for (int64_t r : res) {
    const int64_t c = gpu ? channels_at(r) : 64;
    row(dev, reps, batch, c, r, 1, f, gemm);
    if (r > 4) row(dev, reps, batch, c, r, 2, f, gemm);
  }
}

}  // namespace

int main(int argc, char** argv) {
  return gf::bench::bench_main(argc, argv, "bench_modulated_conv2d",
                               "Benchmarks modulated_conv2d (fused, unfused) against a plain convolution on the CPU\n"
                               "  and, when one is present, the GPU. --quick: smaller CPU sizes.",
                               [](bool quick) {
                                 run_device(Device::cpu(), quick);
                                 if (cuda_available()) run_device(Device::cuda(0), quick);
                               });
}
