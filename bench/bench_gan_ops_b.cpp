// bias_act, noise injection and AdaIN at StyleGAN2 sizes: each fused op
// against the same op composed from primitive engine ops. Prints time per
// call, achieved GB/s (the op's minimum traffic: read x once, write y once,
// plus the small operands) and the fraction of the measured copy bandwidth
// (Tensor::clone of 64 MiB). Forward passes without a graph, plus bias_act's
// gradient op and AdaIN forward + backward; then the backward ops of
// pixel_norm and minibatch_stddev (fused gradient kernel against the
// gradient formula composed from ops, which they used before).
//   bench_gan_ops_b [--quick]   the CPU at batch 1 (the norm gradients at batch 4) up to 64 px
//                               (--quick: fewer sizes), then, when there is one, the GPU at
//                               batch 32 and every size.
// Fused and composed variants are timed round-robin (bench/bench_common.h), so
// a shared machine's load hits both alike.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "engine/ops.h"
#include "engine/ops/adain.h"
#include "engine/ops/bias_act.h"
#include "engine/ops/minibatch_stddev.h"
#include "engine/ops/noise.h"
#include "engine/ops/pixel_norm.h"
#include "kernels/cuda_runtime.h"

using namespace gf;

namespace {

using bench::Reps;

struct Ctx {
  Device dev;
  Reps reps;
  double peak;  // copy bandwidth, bytes/s
};

double copy_bandwidth(const Device& d, Reps reps) {
  Tensor a = zeros({16 << 20}, DType::f32, d);  // 64 MiB
  const double t = bench::time_per_call(d, reps, [&] { Tensor b = a.clone(); });
  return 2.0 * static_cast<double>(a.nbytes()) / t;  // read + write
}

void report(const char* op, const char* variant, const Shape& s, double bytes, double t, double peak) {
  const double gbs = bytes / t / 1e9;
  std::printf("  %-15s %-9s %-18s %10.1f us %8.1f GB/s %6.1f%% of copy\n", op, variant, shape_str(s).c_str(), t * 1e6,
              gbs, 100.0 * bytes / t / peak);
}

// One row per variant: the fused op and its composition, timed together.
void compare(const Ctx& c, const char* op, const Shape& s, double bytes, const std::function<void()>& fused,
             const std::function<void()>& composed) {
  const std::vector<double> t = bench::time_per_call(c.dev, c.reps, {fused, composed});
  report(op, "fused", s, bytes, t[0], c.peak);
  report(op, "composed", s, bytes, t[1], c.peak);
  std::fflush(stdout);
}

// pixel_norm's backward as it was composed from ops before pixel_norm_grad.
Tensor composed_pixel_norm_grad(const Tensor& x, const Tensor& g) {
  const Tensor rs = rsqrt(affine(mean(square(x), {1}, true), 1.0, 1e-8));
  const Tensor y = mul(x, rs);
  return mul(rs, sub(g, mul(y, mean(mul(g, y), {1}, true))));
}

// minibatch_stddev's backward (one appended channel) as it was composed from
// ops before minibatch_stddev_grad.
Tensor composed_mbstd_grad(const Tensor& x, const Tensor& g, int64_t G) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), M = N / G;
  const Tensor gs = sum(sum(slice(g, 1, C, C + 1), {2, 3}).reshape({G, M}), {0}, true).reshape({1, M, 1, 1, 1});
  const Tensor xr = x.reshape({G, M, C, H, W});
  const Tensor dev = sub(xr, mean(xr, {0}, true));
  const Tensor sd = sqrt(affine(mean(square(dev), {0}, true), 1.0, 1e-8));
  const Tensor gx = mul(div(dev, sd), affine(gs, 1.0 / static_cast<double>(G * C * H * W), 0.0));
  return add(slice(g, 1, 0, C), gx.reshape({N, C, H, W}));
}

// The gradient ops of pixel_norm (z and PGGAN's 512-channel maps) and of
// minibatch_stddev (the real 4x4 layer, and larger maps for bandwidth), at a
// batch of at least 4 so that the standard deviation has a group to run over.
void run_norm_grads(const Ctx& c, int64_t batch, const std::vector<int64_t>& res) {
  Generator gen(2);
  const int64_t n = std::max<int64_t>(batch, 4), G = 4;
  const Tensor z = randn({n, 512}, gen, DType::f32, c.dev), gz = randn({n, 512}, gen, DType::f32, c.dev);
  compare(c, "pixel_norm_grad", z.shape(), 3.0 * static_cast<double>(z.nbytes()), [&] { pixel_norm_grad(z, gz); },
          [&] { composed_pixel_norm_grad(z, gz); });
  for (int64_t r : res) {
    const Tensor x = randn({n, 512, r, r}, gen, DType::f32, c.dev), g = randn(x.shape(), gen, DType::f32, c.dev);
    compare(c, "pixel_norm_grad", x.shape(), 3.0 * static_cast<double>(x.nbytes()), [&] { pixel_norm_grad(x, g); },
            [&] { composed_pixel_norm_grad(x, g); });
  }
  for (int64_t r : res) {
    if (r > 64) break;
    const int64_t ch = r == 4 ? 512 : 128;
    const Tensor x = randn({n, ch, r, r}, gen, DType::f32, c.dev);
    const Tensor g = randn({n, ch + 1, r, r}, gen, DType::f32, c.dev);
    const double bytes = static_cast<double>(2 * x.nbytes() + g.nbytes());  // read x and g, write dx
    compare(c, "mbstd_grad", x.shape(), bytes, [&] { minibatch_stddev_grad(x, g, G, 1); },
            [&] { composed_mbstd_grad(x, g, G); });
  }
}

void run_device(const Device& d, int64_t batch, const std::vector<std::pair<int64_t, int64_t>>& sizes, Reps reps,
                const std::vector<int64_t>& norm_res) {
  NoGradGuard ng;
  const double peak = copy_bandwidth(d, reps);
  std::printf("%s: copy bandwidth %.1f GB/s (clone of 64 MiB)\n", d.str().c_str(), peak / 1e9);
  const Ctx ctx{d, reps, peak};
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

    compare(ctx, "bias_act", s, xy, [&] { bias_act(x, b, 1, lrelu); }, [&] { composed_bias_act(x); });
    // Backward of lrelu with clamp: dx from dy and y (read dy, y; write dx).
    Tensor y = bias_act(x, b, 1, lrelu), dy = randn(s, gen, DType::f32, d);
    compare(
        ctx, "bias_act_grad", s, 1.5 * xy, [&] { bias_act_grad(dy, Tensor(), Tensor(), y, 1, lrelu); },
        [&] { mul(affine(mul(dy, leaky_relu_slope(y, 0.2)), g, 0.0), in_range(y, -255.999, 255.999)); });
    compare(
        ctx, "noise+bias_act", s, xy + static_cast<double>(noise.nbytes()),
        [&] { noise_bias_act(x, noise, st, b, lrelu); }, [&] { composed_bias_act(add(x, mul(st, noise))); });
    const Shape s4{batch, c, 1, 1};
    compare(
        ctx, "adain", s, xy, [&] { adain(x, ys, yb); },
        [&] {
          Tensor xc = sub(x, mean(x, {2, 3}, true));
          add(mul(ys.reshape(s4), mul(xc, rsqrt(mean(square(xc), {2, 3}, true) + 1e-8))), yb.reshape(s4));
        });
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
    compare(ctx, "adain fwd+bwd", s, 2.5 * xy, [&] { fwd_bwd(true); }, [&] { fwd_bwd(false); });
  }
  run_norm_grads(ctx, batch, norm_res);
}

}  // namespace

int main(int argc, char** argv) {
  return gf::bench::bench_main(
      argc, argv, "bench_gan_ops_b",
      "Benchmarks bias_act, noise, AdaIN and the pixel-norm / minibatch-stddev gradients on the CPU and,\n"
      "  when one is present, the GPU. --quick: three CPU sizes.",
      [](bool quick) {
        // StyleGAN2's synthesis sizes: 512 channels at 4..64 px, 256 at 128, 128 at 256.
        const std::vector<std::pair<int64_t, int64_t>> full = {{512, 4},  {512, 8},   {512, 16}, {512, 32},
                                                               {512, 64}, {256, 128}, {128, 256}};
        // The CPU reference is for correctness, not speed: batch 1 up to 64 px (--quick: three sizes).
        if (quick)
          run_device(Device::cpu(), 1, {{512, 4}, {512, 16}, {128, 64}}, Reps{1, 3, 1}, {4, 16});
        else
          run_device(Device::cpu(), 1, {full.begin(), full.begin() + 5}, Reps{1, 5, 2}, {4, 16, 64});
        if (cuda_available())
          run_device(Device::cuda(0), 32, full, Reps{3, 7, 20}, {4, 8, 16, 32, 64});
        else
          std::printf("no CUDA device: GPU figures not measured\n");
      });
}
