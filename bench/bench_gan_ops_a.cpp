// upfirdn2d alone at the calls of a `small` config training step (the case
// profile_step finds slowest on the CPU); then upfirdn2d (upsample2d /
// downsample2d), pixel_norm and minibatch_stddev at StyleGAN2 sizes (batch
// 32; 512 channels at 4..64 px, 256 at 128, 128 at 256): the fused kernel
// against the same op composed from primitive engine ops. All three are
// memory-bound, so each row prints GB/s (bytes read once plus bytes written
// once) and the fraction of the device's measured copy bandwidth (a 64 MiB
// Tensor::clone). Forward passes only; figures are medians
// over timed samples after warm-up, each sample several calls on the GPU.
// The CPU runs reduced batches so the program finishes in seconds on a small
// machine; --quick reduces them further.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "engine/ops.h"
#include "engine/ops/minibatch_stddev.h"
#include "engine/ops/pixel_norm.h"
#include "engine/ops/upfirdn2d.h"
#include "kernels/cuda_runtime.h"

namespace {

using namespace gf;

using bench::channels_at;
using bench::Reps;
using bench::sync;
using bench::time_per_call;

std::string nchw(int64_t n, int64_t c, int64_t h, int64_t w) {
  return "[" + std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," + std::to_string(w) + "]";
}

struct Bench {
  Device dev;
  Reps reps;
  double copy_gbs;

  // One row: the fused op against its composition, `bytes` moved by the fused op.
  void row(const char* op, const std::string& size, double bytes, const std::function<void()>& fused,
           const std::function<void()>& composed) {
    const std::vector<double> t = time_per_call(dev, reps, {fused, composed});  // side by side
    const double tf = t[0], tc = t[1];
    const double gbs = bytes / tf / 1e9;
    std::printf("  %-14s %-22s %9.3f ms %8.1f GB/s %5.2f of copy | composed %9.3f ms (%.1fx)\n", op, size.c_str(),
                tf * 1e3, gbs, gbs / copy_gbs, tc * 1e3, tc / tf);
    std::fflush(stdout);
  }

  // One row of the fused op alone, `bytes` moved.
  void row(const char* op, const std::string& size, double bytes, const std::function<void()>& fused) {
    const double tf = time_per_call(dev, reps, fused), gbs = bytes / tf / 1e9;
    std::printf("  %-14s %-34s %9.3f ms %8.1f GB/s %5.2f of copy\n", op, size.c_str(), tf * 1e3, gbs, gbs / copy_gbs);
    std::fflush(stdout);
  }
};

// upfirdn2d at the calls of a `small` config (32x32x1, batch 16) training
// step that take most of its time (found by timing every call; planes is
// N * C): the 4x4 filtering beside G's up convs and D's down convs and the
// gradients of both (up = down = 1), the gradient of D's skip downsampling
// (up = 2) and the downsampling itself.
void training_shapes(Bench& b, Generator& gen) {
  struct Call {
    const char* name;
    int64_t planes, h, w;
    int up, down, pad0, pad1;
    bool flip;
  };
  const Call calls[] = {
      {"filter", 512, 32, 32, 1, 1, 2, 2, false}, {"filter", 1024, 17, 17, 1, 1, 1, 1, true},
      {"filter", 512, 33, 33, 1, 1, 1, 1, true},  {"filter", 1024, 16, 16, 1, 1, 2, 2, false},
      {"filter", 1024, 9, 9, 1, 1, 1, 1, true},   {"filter", 1024, 8, 8, 1, 1, 2, 2, false},
      {"up2", 512, 16, 16, 2, 1, 2, 1, true},     {"up2", 1024, 8, 8, 2, 1, 2, 1, true},
      {"down2", 1024, 16, 16, 1, 2, 1, 1, false}, {"down2", 512, 32, 32, 1, 2, 1, 1, false},
  };
  const Tensor f = setup_filter({1, 3, 3, 1}, false, DType::f32, b.dev);
  const Reps saved = b.reps;
  if (!b.dev.is_cuda()) b.reps = Reps{2, 15, 4};
  for (const Call& c : calls) {
    const Tensor x = gf::randn({1, c.planes, c.h, c.w}, gen, DType::f32, b.dev);
    UpFirDn2dParams p;
    p.up_x = p.up_y = c.up, p.down_x = p.down_y = c.down;
    p.pad_x0 = p.pad_y0 = c.pad0, p.pad_x1 = p.pad_y1 = c.pad1;
    p.flip_filter = c.flip;
    const Tensor y = upfirdn2d(x, f, p);
    const std::string size = nchw(1, c.planes, c.h, c.w) + "->" + std::to_string(y.size(2)) + "x" +
                             std::to_string(y.size(3)) + " pad " + std::to_string(c.pad0) + "," +
                             std::to_string(c.pad1);
    b.row(c.name, size, 4.0 * (x.numel() + y.numel()), [&] { upfirdn2d(x, f, p); });
  }
  b.reps = saved;
}

// upfirdn2d from primitives: zero insertion and padding as slice_backward
// (writing x into a zero tensor), then a depthwise conv2d with the flipped
// filter and stride `down`.
Tensor composed_upfirdn2d(const Tensor& x, const Tensor& f2d, int up, int down, int p0, int p1) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  Tensor u = x;
  if (up > 1) {
    u = slice_backward(u, {N, C, H * up, W}, 2, 0, H * up, up);
    u = slice_backward(u, {N, C, H * up, W * up}, 3, 0, W * up, up);
  }
  const int64_t UH = u.size(2), UW = u.size(3);
  u = slice_backward(u, {N, C, UH + p0 + p1, UW}, 2, p0, p0 + UH);
  u = slice_backward(u, {N, C, UH + p0 + p1, UW + p0 + p1}, 3, p0, p0 + UW);
  const int64_t k = f2d.size(0);
  // conv2d correlates, so the true convolution takes the flipped filter.
  std::vector<double> fv = f2d.to_vector();
  std::reverse(fv.begin(), fv.end());
  const Tensor w = expand(Tensor::from_vector(fv, {1, 1, k, k}, x.dtype(), x.device()), {C, 1, k, k});
  Conv2dParams cp;
  cp.stride_h = cp.stride_w = down;
  cp.groups = static_cast<int>(C);
  return conv2d(u, w, cp);
}

void run_device(Device dev, bool quick) {
  const bool gpu = dev.is_cuda();
  std::string name = " (reduced batch; GPU sizes need a GPU)";
#ifdef GF_WITH_CUDA
  if (gpu) name = ": " + cuda::device_name(dev.index);
#endif
  std::printf("\n%s%s\n", dev.str().c_str(), name.c_str());
  NoGradGuard ng;
  Generator gen(1);
  const int64_t mib64 = 64 << 20;
  const Tensor big = gf::rand({mib64 / 4}, gen, DType::f32, dev);
  const Reps reps = gpu ? Reps{3, 7, 20} : Reps{1, 3, 1};
  const double copy_s = time_per_call(dev, reps, [&] { big.clone(); });
  Bench b{dev, reps, 2.0 * mib64 / copy_s / 1e9};
  std::printf("  %-14s %-22s %9.3f ms %8.1f GB/s (reference)\n", "copy", "64 MiB clone", copy_s * 1e3, b.copy_gbs);

  std::printf("  upfirdn2d at the calls of a small-config training step (f 4x4):\n");
  training_shapes(b, gen);

  const int64_t batch = gpu ? 32 : quick ? 1 : 4;
  const std::vector<int64_t> res = gpu ? std::vector<int64_t>{8, 16, 32, 64, 128, 256}
                                       : quick ? std::vector<int64_t>{8, 32} : std::vector<int64_t>{8, 32, 64};
  const Tensor f = setup_filter({1, 3, 3, 1}, false, DType::f32, dev);

  for (int64_t r : res) {  // the generator: r/2 -> r
    const int64_t c = channels_at(r);
    const Tensor x = gf::randn({batch, c, r / 2, r / 2}, gen, DType::f32, dev);
    const double bytes = 4.0 * (x.numel() + batch * c * r * r);
    b.row("upsample2d", nchw(batch, c, r / 2, r / 2), bytes, [&] { upsample2d(x, f); },
          [&] { composed_upfirdn2d(x, f * 4.0, 2, 1, 2, 1); });
  }
  for (int64_t r : res) {  // the discriminator: r -> r/2
    const int64_t c = channels_at(r);
    const Tensor x = gf::randn({batch, c, r, r}, gen, DType::f32, dev);
    const double bytes = 4.0 * (x.numel() + batch * c * (r / 2) * (r / 2));
    b.row("downsample2d", nchw(batch, c, r, r), bytes, [&] { downsample2d(x, f); },
          [&] { composed_upfirdn2d(x, f, 1, 2, 1, 1); });
  }

  const Tensor z = gf::randn({batch, 512}, gen, DType::f32, dev);
  const auto pn_composed = [](const Tensor& x) { return x * rsqrt(mean(square(x), {1}, true) + 1e-8); };
  b.row("pixel_norm", "z [" + std::to_string(batch) + ",512]", 8.0 * z.numel(), [&] { pixel_norm(z); },
        [&] { pn_composed(z); });
  for (int64_t r : res) {
    if (r > 64) break;  // PGGAN's pixel norm runs at 512 channels
    const Tensor x = gf::randn({batch, 512, r, r}, gen, DType::f32, dev);
    b.row("pixel_norm", nchw(batch, 512, r, r), 8.0 * x.numel(), [&] { pixel_norm(x); }, [&] { pn_composed(x); });
  }

  // The official MinibatchStdLayer as a sequence of primitive ops.
  const auto mbstd_composed = [](const Tensor& x, int64_t G) {
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    Tensor y = x.reshape({G, N / G, 1, C, H, W});
    y = y - mean(y, {0}, true);
    y = sqrt(mean(square(y), {0}) + 1e-8);
    y = mean(y, {2, 3, 4}).reshape({1, N / G, 1, 1, 1});
    y = expand(y, {G, N / G, 1, H, W}).reshape({N, 1, H, W});
    return concat({x, y}, 1);
  };
  for (int64_t r : {int64_t(4), int64_t(16), int64_t(64)}) {  // 4: the real layer; larger: bandwidth
    if (!gpu && r > 16) break;
    const int64_t c = r == 4 ? 512 : 128;
    // A group of 4 (the official default) even at --quick's batch 1, whose
    // group of 1 made the statistic a constant 0.
    const int64_t n = std::max<int64_t>(batch, 4), G = 4;
    const Tensor x = gf::randn({n, c, r, r}, gen, DType::f32, dev);
    const double bytes = 4.0 * (x.numel() + n * (c + 1) * r * r);
    b.row("minibatch_std", nchw(n, c, r, r), bytes, [&] { minibatch_stddev(x, G, 1); },
          [&] { mbstd_composed(x, G); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  return gf::bench::bench_main(argc, argv, "bench_gan_ops_a",
                               "Benchmarks upfirdn2d, pixel_norm and minibatch_stddev on the CPU and, when one is\n"
                               "  present, the GPU. --quick: smaller CPU sizes.",
                               [](bool quick) {
                                 run_device(Device::cpu(), quick);
                                 if (cuda_available()) run_device(Device::cuda(0), quick);
                               });
}
