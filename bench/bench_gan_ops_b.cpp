// bias_act, noise injection and AdaIN at StyleGAN2 sizes: each fused op
// against the same op composed from primitive engine ops. Prints time per
// call, achieved GB/s (the op's minimum traffic: read x once, write y once,
// plus the small operands) and the fraction of the measured copy bandwidth
// (Tensor::clone of 64 MiB). Forward passes without a graph, plus bias_act's
// gradient op and AdaIN forward + backward.
//   bench_gan_ops_b [--quick]   the CPU at batch 1 up to 64 px (--quick: three sizes), then,
//                               when there is one, the GPU at batch 32 and every size.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/ops.h"
#include "engine/ops/adain.h"
#include "engine/ops/bias_act.h"
#include "engine/ops/noise.h"
#include "kernels/cuda_runtime.h"

using namespace gf;

namespace {

void sync(const Device& d) {
#ifdef GF_WITH_CUDA
  if (d.is_cuda()) cuda::synchronize(d.index);
#else
  (void)d;
#endif
}

// Seconds per call: the median over batches of kBatch calls (after a warm-up
// call), batches repeated until `budget` seconds have passed. The median keeps
// a descheduled OpenMP thread on a shared CPU from skewing the figure.
double time_call(const Device& d, const std::function<void()>& f, double budget) {
  constexpr int kBatch = 5;
  f();
  sync(d);
  std::vector<double> per_call;
  const auto start = std::chrono::steady_clock::now();
  do {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBatch; ++i) f();
    sync(d);
    per_call.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / kBatch);
  } while (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < budget ||
           per_call.size() < 3);
  std::nth_element(per_call.begin(), per_call.begin() + per_call.size() / 2, per_call.end());
  return per_call[per_call.size() / 2];
}

double copy_bandwidth(const Device& d, double budget) {
  Tensor a = zeros({16 << 20}, DType::f32, d);  // 64 MiB
  const double t = time_call(
      d, [&] { Tensor b = a.clone(); }, budget);
  return 2.0 * static_cast<double>(a.nbytes()) / t;  // read + write
}

void report(const char* op, const char* variant, const Shape& s, double bytes, double t, double peak) {
  const double gbs = bytes / t / 1e9;
  std::printf("  %-15s %-9s %-18s %10.1f us %8.1f GB/s %6.1f%% of copy\n", op, variant, shape_str(s).c_str(), t * 1e6,
              gbs, 100.0 * bytes / t / peak);
}

void run_device(const Device& d, int64_t batch, const std::vector<std::pair<int64_t, int64_t>>& sizes, double budget) {
  NoGradGuard ng;
  const double peak = copy_bandwidth(d, budget);
  std::printf("%s: copy bandwidth %.1f GB/s (clone of 64 MiB)\n", d.str().c_str(), peak / 1e9);
  Generator gen(1);
  const BiasActSpec lrelu = bias_act_spec("lrelu", std::nullopt, std::nullopt, 256.0);  // StyleGAN2: conv_clamp 256
  for (const auto& [c, res] : sizes) {
    const Shape s{batch, c, res, res};
    Tensor x = randn(s, gen, DType::f32, d), b = randn({c}, gen, DType::f32, d);
    Tensor noise = randn({batch, 1, res, res}, gen, DType::f32, d), st = randn({}, gen, DType::f32, d);
    Tensor ys = randn({batch, c}, gen, DType::f32, d), yb = randn({batch, c}, gen, DType::f32, d);
    const double xy = 2.0 * static_cast<double>(x.nbytes());
    const Tensor b4 = b.reshape({1, c, 1, 1});
    const double g = lrelu.gain;
    auto composed_bias_act = [&](const Tensor& v) {
      return clamp(affine(leaky_relu(add(v, b4), 0.2), g, 0.0), -256.0, 256.0);
    };

    report("bias_act", "fused", s, xy,
           time_call(
               d, [&] { bias_act(x, b, 1, lrelu); }, budget),
           peak);
    report("bias_act", "composed", s, xy,
           time_call(
               d, [&] { composed_bias_act(x); }, budget),
           peak);
    // Backward of lrelu with clamp: dx from dy and y (read dy, y; write dx).
    Tensor y = bias_act(x, b, 1, lrelu), dy = randn(s, gen, DType::f32, d);
    report("bias_act_grad", "fused", s, 1.5 * xy,
           time_call(
               d, [&] { bias_act_grad(dy, Tensor(), Tensor(), y, 1, lrelu); }, budget),
           peak);
    report(
        "bias_act_grad", "composed", s, 1.5 * xy,
        time_call(
            d, [&] { mul(affine(mul(dy, leaky_relu_slope(y, 0.2)), g, 0.0), in_range(y, -255.999, 255.999)); }, budget),
        peak);
    const double nb = xy + static_cast<double>(noise.nbytes());
    report("noise+bias_act", "fused", s, nb,
           time_call(
               d, [&] { noise_bias_act(x, noise, st, b, lrelu); }, budget),
           peak);
    report("noise+bias_act", "composed", s, nb,
           time_call(
               d, [&] { composed_bias_act(add(x, mul(st, noise))); }, budget),
           peak);
    const Shape s4{batch, c, 1, 1};
    report("adain", "fused", s, xy,
           time_call(
               d, [&] { adain(x, ys, yb); }, budget),
           peak);
    report("adain", "composed", s, xy,
           time_call(
               d,
               [&] {
                 Tensor xc = sub(x, mean(x, {2, 3}, true));
                 add(mul(ys.reshape(s4), mul(xc, rsqrt(mean(square(xc), {2, 3}, true) + 1e-8))), yb.reshape(s4));
               },
               budget),
           peak);
    // AdaIN forward and backward through autograd (minimum traffic: x, y; then dy, x, dx).
    auto fwd_bwd = [&](bool fused) {
      GradModeGuard on(true);
      Tensor xg = x.detach().requires_grad_(), sg = ys.detach().requires_grad_(), bg = yb.detach().requires_grad_();
      Tensor out;
      if (fused) {
        out = adain(xg, sg, bg);
      } else {
        Tensor xc = sub(xg, mean(xg, {2, 3}, true));
        out = add(mul(sg.reshape(s4), mul(xc, rsqrt(mean(square(xc), {2, 3}, true) + 1e-8))), bg.reshape(s4));
      }
      gf::grad({out}, {xg, sg, bg}, {dy});
    };
    report("adain fwd+bwd", "fused", s, 2.5 * xy,
           time_call(
               d, [&] { fwd_bwd(true); }, budget),
           peak);
    report("adain fwd+bwd", "composed", s, 2.5 * xy,
           time_call(
               d, [&] { fwd_bwd(false); }, budget),
           peak);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (std::strcmp(argv[i], "--help") == 0) {
      std::printf("usage: bench_gan_ops_b [--quick]\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_gan_ops_b: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  // StyleGAN2's synthesis sizes: 512 channels at 4..64 px, 256 at 128, 128 at 256.
  const std::vector<std::pair<int64_t, int64_t>> full = {{512, 4},  {512, 8},   {512, 16}, {512, 32},
                                                         {512, 64}, {256, 128}, {128, 256}};
  try {
    // The CPU reference is for correctness, not speed: batch 1 up to 64 px (--quick: three sizes).
    if (quick)
      run_device(Device::cpu(), 1, {{512, 4}, {512, 16}, {128, 64}}, 0.02);
    else
      run_device(Device::cpu(), 1, {full.begin(), full.begin() + 5}, 0.05);
    if (cuda_available())
      run_device(Device::cuda(0), 32, full, 0.2);
    else
      std::printf("no CUDA device: GPU figures not measured\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_gan_ops_b: %s\n", e.what());
    return 1;
  }
  return 0;
}
