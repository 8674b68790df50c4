#include "models/perceptual/lpips_common.h"

namespace gf::perceptual {

Tensor lpips_scaling(const Tensor& x) {
  const Tensor shift = Tensor::from_vector({-.030, -.088, -.188}, {1, 3, 1, 1}, x.dtype(), x.device());
  const Tensor scale = Tensor::from_vector({.458, .448, .450}, {1, 3, 1, 1}, x.dtype(), x.device());
  return (x - shift) / scale;
}

// Where every channel is 0 sqrt's derivative is infinite; torch's ReLU
// backward selects 0 there, where our relu multiplies (0 * inf = NaN), so the
// norm's gradient is routed around sqrt at such pixels: the value is the
// same, and the gradient reaching x is torch's once the ReLU masks it.
Tensor normalize_activation(const Tensor& x) {
  const Tensor s = sum(square(x), {1}, true);
  const Tensor zero = zeros({}, x.dtype(), x.device()), one = ones({}, x.dtype(), x.device());
  const Tensor on = gt(s, zero);
  return x / (where(on, sqrt(where(on, s, one)), zero) + 1e-10);
}

}  // namespace gf::perceptual
