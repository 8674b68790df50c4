#include "models/latents.h"

#include "engine/io/npy.h"

namespace gf {

Tensor seed_latent(gf::Generator& rng, int z_dim, Device dev) { return randn({1, z_dim}, rng, DType::f32, dev); }

Tensor read_rows(const std::string& path, int64_t cols, const std::string& flag, const std::string& cols_name,
                 bool whole_numbers) {
  const Tensor t = io::read_input_npy(path, flag, whole_numbers);
  if (t.dim() != 2 || t.size(0) < 1 || t.size(1) != cols)
    throw Error(flag + " " + path + ": shape " + shape_str(t.shape()) + ", expected [N, " + std::to_string(cols) +
                "] (N >= 1 rows of " + cols_name + ")");
  return t.to(DType::f32);
}

}  // namespace gf
