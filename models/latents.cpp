#include "models/latents.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/io/npy.h"
#include "engine/numpy_random_state.h"

namespace gf {

Tensor seed_latent(long long seed, int z_dim, Device dev) {
  GF_CHECK(seed >= 0 && seed <= 0xffffffffll, "seed_latent", "seed " << seed << " is outside numpy's 0 to 2^32 - 1");
  const std::vector<double> z = NumpyRandomState(static_cast<uint32_t>(seed)).randn(static_cast<size_t>(z_dim));
  return Tensor::from_vector(z, {1, z_dim}, DType::f32, dev);
}

Tensor latent_walk(int64_t frames, int64_t images, int z_dim, double sigma_frames, uint32_t seed) {
  GF_CHECK(frames > 0 && images > 0 && z_dim > 0 && sigma_frames >= 0, "latent_walk",
           "needs frames, images and z_dim > 0 and sigma >= 0, got " << frames << ", " << images << ", " << z_dim
                                                                    << ", " << sigma_frames);
  const int64_t stride = images * z_dim, n = frames * stride;
  // Through the allocator, whose check refuses a walk past the machine's memory in one line.
  Tensor draws = Tensor::empty({frames, images, z_dim}), out = Tensor::empty({frames, images, z_dim});
  float* raw = draws.data<float>();
  float* smooth = out.data<float>();
  NumpyRandomState rs(seed);
  for (int64_t i = 0; i < n; ++i) raw[i] = static_cast<float>(rs.randn());
  if (sigma_frames > 1e-15) {  // scipy leaves an axis of sigma <= 1e-15 alone
    const int64_t radius = static_cast<int64_t>(4.0 * sigma_frames + 0.5);
    const double a = -0.5 / (sigma_frames * sigma_frames);
    double sum = 0;
    for (int64_t x = -radius; x <= radius; ++x) sum += std::exp(a * double(x * x));
    const auto weight = [&](int64_t x) { return std::exp(a * double(x * x)) / sum; };
    const auto wrapped = [frames](int64_t f) { return ((f % frames) + frames) % frames; };
    if (radius < frames) {
      // scipy's symmetric correlation: the centre, then the pairs from the farthest, in float64.
      std::vector<double> w(static_cast<size_t>(radius + 1));
      for (int64_t x = 0; x <= radius; ++x) w[size_t(x)] = weight(x);
      for (int64_t f = 0; f < frames; ++f)
        for (int64_t k = 0; k < stride; ++k) {
          double t = double(raw[f * stride + k]) * w[0];
          for (int64_t j = radius; j >= 1; --j)
            t += (double(raw[wrapped(f - j) * stride + k]) + double(raw[wrapped(f + j) * stride + k])) * w[size_t(j)];
          smooth[f * stride + k] = static_cast<float>(t);
        }
    } else {
      // A kernel wider than the loop: its weights folded onto the frames
      // first (the same sum, in another order: within float64 rounding of
      // scipy's), so the cost is frames^2, not frames x radius.
      std::vector<double> w(static_cast<size_t>(frames), 0.0);
      for (int64_t x = -radius; x <= radius; ++x) w[size_t(wrapped(x))] += weight(x);
      for (int64_t f = 0; f < frames; ++f)
        for (int64_t k = 0; k < stride; ++k) {
          double t = 0;
          for (int64_t d = 0; d < frames; ++d) t += double(raw[wrapped(f + d) * stride + k]) * w[size_t(d)];
          smooth[f * stride + k] = static_cast<float>(t);
        }
    }
  } else {
    std::copy(raw, raw + n, smooth);
  }
  double squares = 0;
  for (int64_t i = 0; i < n; ++i) squares += double(smooth[i] * smooth[i]);  // float32 squares, as np.square
  const float rms = static_cast<float>(std::sqrt(squares / double(n)));
  for (int64_t i = 0; i < n; ++i) smooth[i] /= rms;
  return out;
}

Tensor read_rows(const std::string& path, int64_t cols, const std::string& flag, const std::string& cols_name,
                 bool whole_numbers) {
  const Tensor t = io::read_input_npy(path, flag, whole_numbers);
  if (t.dim() != 2 || t.size(0) < 1 || t.size(1) != cols)
    throw Error(flag + " " + path + ": shape " + shape_str(t.shape()) + ", expected [N, " + std::to_string(cols) +
                "] (N >= 1 rows of " + cols_name + ")");
  return t.to(DType::f32);
}

}  // namespace gf
