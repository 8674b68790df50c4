#include "models/blocks.h"

#include "engine/error.h"
#include "engine/ops/minibatch_stddev.h"
#include "engine/ops/pixel_norm.h"

namespace gf {

Tensor mbstd_layer(const Tensor& x, int group_size, int num_channels) {
  GF_CHECK(x.dim() == 4 && group_size >= 0, "mbstd_layer",
           "needs x [N, C, H, W] and a group size >= 0, got " << shape_str(x.shape()) << ", " << group_size);
  return minibatch_stddev(x, group_size > 0 ? group_size : x.size(0), num_channels);
}

Tensor pixel_norm_if(const Tensor& x, bool on, double eps) { return on ? pixel_norm(x, 1, eps) : x; }

}  // namespace gf
