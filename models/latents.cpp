#include "models/latents.h"

#include <vector>

#include "engine/io/npy.h"
#include "engine/numpy_random_state.h"

namespace gf {

Tensor seed_latent(long long seed, int z_dim, Device dev) {
  GF_CHECK(seed >= 0 && seed <= 0xffffffffll, "seed_latent", "seed " << seed << " is outside numpy's 0 to 2^32 - 1");
  const std::vector<double> z = NumpyRandomState(static_cast<uint32_t>(seed)).randn(static_cast<size_t>(z_dim));
  return Tensor::from_vector(z, {1, z_dim}, DType::f32, dev);
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
