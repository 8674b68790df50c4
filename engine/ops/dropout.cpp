#include "engine/ops/dropout.h"

namespace gf {

Tensor dropout(const Tensor& x, double p, bool training, Generator& gen) {
  GF_CHECK(p >= 0 && p < 1, "dropout", "p must be in [0, 1), got " << p);
  if (!training || p == 0) return x;
  Tensor keep;
  {
    NoGradGuard ng;
    const Tensor u = rand(x.shape(), gen, x.dtype(), x.device());
    keep = in_range(u, p, 1.0) * (1.0 / (1.0 - p));
  }
  return x * keep;
}

}  // namespace gf
