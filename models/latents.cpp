#include "models/latents.h"

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
  std::vector<float> raw(static_cast<size_t>(n));
  NumpyRandomState rs(seed);
  for (float& v : raw) v = static_cast<float>(rs.randn());
  std::vector<float> smooth = raw;
  if (sigma_frames > 1e-15) {  // scipy leaves an axis of sigma <= 1e-15 alone
    const int64_t radius = static_cast<int64_t>(4.0 * sigma_frames + 0.5);
    std::vector<double> w(static_cast<size_t>(radius + 1));
    double sum = 0;
    for (int64_t x = -radius; x <= radius; ++x) sum += std::exp(-0.5 / (sigma_frames * sigma_frames) * double(x * x));
    for (int64_t x = 0; x <= radius; ++x)
      w[size_t(x)] = std::exp(-0.5 / (sigma_frames * sigma_frames) * double(x * x)) / sum;
    const auto wrapped = [frames](int64_t f) { return ((f % frames) + frames) % frames; };
    for (int64_t f = 0; f < frames; ++f)
      for (int64_t k = 0; k < stride; ++k) {
        double t = double(raw[size_t(f * stride + k)]) * w[0];
        for (int64_t j = radius; j >= 1; --j)
          t += (double(raw[size_t(wrapped(f - j) * stride + k)]) + double(raw[size_t(wrapped(f + j) * stride + k)])) *
               w[size_t(j)];
        smooth[size_t(f * stride + k)] = static_cast<float>(t);
      }
  }
  double squares = 0;
  for (float v : smooth) squares += double(v * v);  // the squares in float32, as np.square of float32
  const float rms = static_cast<float>(std::sqrt(squares / double(n)));
  for (float& v : smooth) v /= rms;
  return Tensor::from_vector(std::vector<double>(smooth.begin(), smooth.end()), {frames, images, z_dim});
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
