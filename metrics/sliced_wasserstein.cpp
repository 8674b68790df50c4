#include "metrics/sliced_wasserstein.h"

#include <algorithm>
#include <cmath>

#include <omp.h>

#include "engine/error.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"
#include "kernels/radix_sort.h"

namespace gf::metrics {
namespace {

// The binomial filter's 1-D taps; the 2-D weight is their product / 256.
constexpr double kTaps[5] = {1, 4, 6, 4, 1};

// scipy.ndimage's 'mirror' edge, for a reach of at most n - 1: -1 reads 1,
// n reads n - 2.
inline int64_t mirrored(int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; }

// cv2.pyrDown as the official writes it: scipy.ndimage.convolve with the 5x5
// filter (each output a float64 sum in the filter's row-major order, then
// float32), then every second row and column. Only the kept outputs are
// computed. src [h, w] -> dst [h / 2, w / 2].
void pyr_down(const float* src, int64_t h, int64_t w, float* dst) {
  for (int64_t oy = 0; oy < h / 2; ++oy)
    for (int64_t ox = 0; ox < w / 2; ++ox) {
      double t = 0;
      for (int dy = -2; dy <= 2; ++dy) {
        const float* row = src + mirrored(2 * oy + dy, h) * w;
        for (int dx = -2; dx <= 2; ++dx)
          t += double(row[mirrored(2 * ox + dx, w)]) * (kTaps[dy + 2] * kTaps[dx + 2] / 256);
      }
      dst[oy * (w / 2) + ox] = static_cast<float>(t);
    }
}

// cv2.pyrUp as the official writes it: src [h, w] at the even places of a
// zero [2h, 2w], convolved with the filter x 4 (mirror edges), subtracted
// from dst [2h, 2w] in float32 (the Laplacian level's `-=`). The zero
// terms add nothing to the float64 sum, so only the even places are read.
void subtract_pyr_up(const float* src, int64_t h, int64_t w, float* dst) {
  const int64_t H = 2 * h, W = 2 * w;
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      double t = 0;
      for (int dy = -2; dy <= 2; ++dy) {
        const int64_t yy = mirrored(y + dy, H);
        if (yy % 2 != 0) continue;
        const float* row = src + (yy / 2) * w;
        for (int dx = -2; dx <= 2; ++dx) {
          const int64_t xx = mirrored(x + dx, W);
          if (xx % 2 == 0) t += double(row[xx / 2]) * (kTaps[dy + 2] * kTaps[dx + 2] * 4 / 256);
        }
      }
      dst[y * W + x] -= static_cast<float>(t);
    }
}


}  // namespace

std::vector<int64_t> swd_resolutions(int64_t side) {
  std::vector<int64_t> r;
  for (int64_t s = side; s >= 16; s /= 2) r.push_back(s);
  return r;
}

std::vector<Tensor> laplacian_pyramid(const Tensor& images, int levels) {
  GF_CHECK(images.dim() == 4 && images.dtype() == DType::f32 && images.device().is_cpu(), "laplacian_pyramid",
           "expected float32 [n, C, H, W] on the CPU, got " << images.desc());
  GF_CHECK(levels >= 1, "laplacian_pyramid", "needs at least one level, got " << levels);
  const int64_t n = images.size(0) * images.size(1), h = images.size(2), w = images.size(3);
  const int64_t div = int64_t(1) << (levels - 1);
  GF_CHECK(h % div == 0 && w % div == 0 && h / div >= 4 && w / div >= 4, "laplacian_pyramid",
           levels << " levels need sides divisible by " << div << " and at least " << 4 * div << ", got " << h
                  << "x" << w);
  std::vector<Tensor> out;
  out.push_back(images.contiguous().clone());
  for (int l = 1; l < levels; ++l)
    out.push_back(Tensor::empty({images.size(0), images.size(1), h >> l, w >> l}));
  // Plane by plane: each level blurred from the one before it while that is
  // still the blurred image, then that one becomes the difference.
  cpu::parallel_for(n, n > 1, [&](int64_t p) {
    for (int l = 1; l < levels; ++l) {
      const int64_t ph = h >> (l - 1), pw = w >> (l - 1);
      float* fine = out[size_t(l - 1)].data<float>() + p * ph * pw;
      float* coarse = out[size_t(l)].data<float>() + p * (ph / 2) * (pw / 2);
      pyr_down(fine, ph, pw, coarse);
      subtract_pyr_up(coarse, ph / 2, pw / 2, fine);
    }
  });
  return out;
}

SwdDescriptors::SwdDescriptors(int64_t side, int64_t num_images, const SwdOptions& opt)
    : side_(side), num_images_(num_images), opt_(opt) {
  GF_CHECK(side >= 16 && (side & (side - 1)) == 0, "swd",
           "needs square images of a power-of-two side of at least 16, got " << side);
  GF_CHECK(num_images > 0 && opt.nhoods_per_image > 0 && opt.nhood_size % 2 == 1 && opt.nhood_size < 16, "swd",
           "needs images, neighbourhoods and an odd neighbourhood side under 16");
  for (size_t l = 0; l < swd_resolutions(side).size(); ++l) levels_.push_back(Tensor::empty({rows(), width()}));
}

void SwdDescriptors::add(const uint8_t* images, int64_t n, NumpyRandomState& rs) {
  GF_CHECK(!finalized_ && n > 0 && added_ + n <= num_images_, "swd",
           "adding " << n << " images to " << added_ << " of " << num_images_);
  Tensor batch = Tensor::empty({n, 3, side_, side_});
  float* b = batch.data<float>();
  const int64_t total = n * 3 * side_ * side_;
  for (int64_t i = 0; i < total; ++i) b[i] = images[i];
  const std::vector<Tensor> pyramid = laplacian_pyramid(batch, levels());
  const int64_t half = opt_.nhood_size / 2, per = opt_.nhoods_per_image;
  const int64_t count = n * per;
  std::vector<int64_t> xs(static_cast<size_t>(count)), ys(static_cast<size_t>(count));
  for (int l = 0; l < levels(); ++l) {
    const int64_t s = side_ >> l;
    for (int64_t& x : xs) x = rs.randint(half, s - half);
    for (int64_t& y : ys) y = rs.randint(half, s - half);
    const float* level = pyramid[size_t(l)].data<float>();
    float* rows_out = levels_[size_t(l)].data<float>() + added_ * per * width();
    cpu::parallel_for(count, count > 64, [&](int64_t r) {
      const float* img = level + (r / per) * 3 * s * s;
      float* d = rows_out + r * width();
      // The official index order: channel, then the x offset, then the y offset.
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t dx = -half; dx <= half; ++dx)
          for (int64_t dy = -half; dy <= half; ++dy)
            *d++ = img[(c * s + ys[size_t(r)] + dy) * s + xs[size_t(r)] + dx];
    });
  }
  added_ += n;
}

void SwdDescriptors::finalize() {
  GF_CHECK(!finalized_ && added_ == num_images_, "swd", "finalizing " << added_ << " of " << num_images_ << " images");
  const int64_t per_channel = width() / 3, n = rows();
  // Fixed blocks of rows summed in float64 and added in block order: the
  // same sums at any thread count.
  const int64_t blocks = std::min<int64_t>(64, n);
  for (Tensor& t : levels_) {
    float* d = t.data<float>();
    for (int64_t c = 0; c < 3; ++c) {
      auto block_sum = [&](auto&& term) {
        std::vector<double> part(size_t(blocks), 0.0);
        cpu::parallel_for(blocks, blocks > 1, [&](int64_t b) {
          double s = 0;
          for (int64_t r = b * n / blocks; r < (b + 1) * n / blocks; ++r)
            for (int64_t j = 0; j < per_channel; ++j) s += term(d[r * width() + c * per_channel + j]);
          part[size_t(b)] = s;
        });
        double s = 0;
        for (double p : part) s += p;
        return s;
      };
      const double count = double(n) * double(per_channel);
      const double mean = block_sum([](float v) { return double(v); }) / count;
      const double var = block_sum([mean](float v) { return (double(v) - mean) * (double(v) - mean); }) / count;
      // float32 as numpy's: x -= mean, then x /= std.
      const float m = static_cast<float>(mean), sd = static_cast<float>(std::sqrt(var));
      cpu::parallel_for(n, n > 256, [&](int64_t r) {
        float* p = d + r * width() + c * per_channel;
        for (int64_t j = 0; j < per_channel; ++j) p[j] = (p[j] - m) / sd;
      });
    }
  }
  finalized_ = true;
}

double sliced_wasserstein(const float* a, const float* b, int64_t rows, int64_t dim, int dir_repeats,
                          int dirs_per_repeat, NumpyRandomState& rs) {
  GF_CHECK(rows > 0 && dim > 0 && dir_repeats > 0 && dirs_per_repeat > 0, "sliced_wasserstein",
           "needs rows, a width and directions");
  GF_CHECK(rows <= INT32_MAX && dim <= INT32_MAX, "sliced_wasserstein",
           "BLAS takes at most 2^31 - 1 rows and columns, got " << rows << " x " << dim);
  // Directions a block at a time bound the projections' memory (32 x rows
  // floats per set); each value is the same dot product either way.
  constexpr int64_t kBlock = 32;
  std::vector<float> proj_a(size_t(std::min<int64_t>(kBlock, dirs_per_repeat) * rows));
  std::vector<float> proj_b(proj_a.size());
  // One sort buffer per thread, made once: a fresh one per direction was
  // fresh pages to fault in every time.
  std::vector<std::vector<float>> scratch(static_cast<size_t>(omp_get_max_threads()),
                                         std::vector<float>(static_cast<size_t>(rows)));
  double total = 0;
  for (int rep = 0; rep < dir_repeats; ++rep) {
    // randn(dim, dirs): row i holds component i of every direction.
    std::vector<double> dirs = rs.randn(size_t(dim * dirs_per_repeat));
    std::vector<float> dir32(dirs.size());
    for (int64_t j = 0; j < dirs_per_repeat; ++j) {
      double ss = 0;  // numpy's sum over axis 0: the components in order
      for (int64_t i = 0; i < dim; ++i) {
        const double v = dirs[size_t(i * dirs_per_repeat + j)];
        ss += v * v;
      }
      const double norm = std::sqrt(ss);
      for (int64_t i = 0; i < dim; ++i)
        dir32[size_t(i * dirs_per_repeat + j)] = static_cast<float>(dirs[size_t(i * dirs_per_repeat + j)] / norm);
    }
    std::vector<double> sums(size_t(dirs_per_repeat), 0.0);
    for (int64_t j0 = 0; j0 < dirs_per_repeat; j0 += kBlock) {
      const int64_t m = std::min<int64_t>(kBlock, dirs_per_repeat - j0);
      // proj[j][r] = dir_j . row_r: (dirs block)^T [m, dim] x rows^T [dim, rows].
      cpu::gemm<float>(true, true, m, rows, dim, 1.0f, dir32.data() + j0, dirs_per_repeat, a, dim, 0.0f,
                       proj_a.data(), rows);
      cpu::gemm<float>(true, true, m, rows, dim, 1.0f, dir32.data() + j0, dirs_per_repeat, b, dim, 0.0f,
                       proj_b.data(), rows);
      cpu::parallel_for(m, m > 1, [&](int64_t j) {
        std::vector<float>& tmp = scratch[size_t(omp_get_thread_num())];
        float* pa = proj_a.data() + j * rows;
        float* pb = proj_b.data() + j * rows;
        cpu::radix_sort_floats(pa, tmp.data(), rows);
        cpu::radix_sort_floats(pb, tmp.data(), rows);
        double s = 0;
        for (int64_t r = 0; r < rows; ++r) s += std::fabs(double(pa[r]) - double(pb[r]));
        sums[size_t(j0 + j)] = s;
      });
    }
    double s = 0;
    for (double v : sums) s += v;
    total += s / (double(rows) * double(dirs_per_repeat));
  }
  return total / dir_repeats;
}

std::vector<double> swd_x1e3(const SwdDescriptors& real, const SwdDescriptors& fake, const SwdOptions& opt,
                             NumpyRandomState& rs) {
  GF_CHECK(real.levels() == fake.levels() && real.rows() == fake.rows() && real.width() == fake.width(), "swd",
           "the real and generated descriptors differ in shape");
  std::vector<double> out;
  double sum = 0;
  for (int l = 0; l < real.levels(); ++l) {
    const double d = 1e3 * sliced_wasserstein(real.level(l).data<float>(), fake.level(l).data<float>(), real.rows(),
                                              real.width(), opt.dir_repeats, opt.dirs_per_repeat, rs);
    out.push_back(d);
    sum += d;
  }
  out.push_back(sum / double(real.levels()));
  return out;
}

}  // namespace gf::metrics
