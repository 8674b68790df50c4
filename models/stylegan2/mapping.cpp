#include "models/stylegan2/mapping.h"

#include <string>

#include "engine/error.h"
#include "engine/ops/pixel_norm.h"

namespace gf::stylegan2 {

MappingNetwork::MappingNetwork(const Options& opt, ParamInit& init) : embed(nullptr), w_avg(nullptr), opt_(opt) {
  const char* op = "MappingNetwork";
  GF_CHECK(opt.z_dim >= 0 && opt.c_dim >= 0 && opt.z_dim + opt.c_dim > 0, op,
           "needs a latent or a label, got z_dim " << opt.z_dim << ", c_dim " << opt.c_dim);
  GF_CHECK(opt.w_dim > 0 && opt.num_layers >= 1 && opt.num_ws >= 0, op,
           "bad sizes: w_dim " << opt.w_dim << ", num_layers " << opt.num_layers << ", num_ws " << opt.num_ws);
  // The label embedding has w_dim features (official embed_features = None).
  const int embed_features = opt.c_dim > 0 ? opt.w_dim : 0;
  if (opt.c_dim > 0) embed = &child("embed", std::make_unique<FullyConnectedLayer>(opt.c_dim, embed_features, init));
  for (int i = 0; i < opt.num_layers; ++i) {
    const int in = i == 0 ? opt.z_dim + embed_features : opt.w_dim;
    fc.push_back(&child("fc" + std::to_string(i), std::make_unique<FullyConnectedLayer>(
                                                        in, opt.w_dim, init, true, "lrelu", opt.lr_multiplier)));
  }
  if (opt.num_ws > 0 && opt.w_avg_beta) w_avg = &buffer("w_avg", zeros({opt.w_dim}, init.dtype));
}

Tensor MappingNetwork::forward(const Tensor& z, const Tensor& c, double truncation_psi,
                               std::optional<int> truncation_cutoff, bool update_w_avg) {
  const char* op = "MappingNetwork";
  // Embed, normalize, and concatenate the inputs.
  Tensor x;
  if (opt_.z_dim > 0) {
    GF_CHECK(z.defined() && z.dim() == 2 && z.size(1) == opt_.z_dim, op,
             "z must be [N, " << opt_.z_dim << "], got " << (z.defined() ? shape_str(z.shape()) : "none"));
    x = pixel_norm(z, 1);
  }
  if (opt_.c_dim > 0) {
    GF_CHECK(c.defined() && c.dim() == 2 && c.size(1) == opt_.c_dim, op,
             "c must be [N, " << opt_.c_dim << "], got " << (c.defined() ? shape_str(c.shape()) : "none"));
    Tensor y = pixel_norm(embed->forward(c), 1);
    x = x.defined() ? concat({x, y}, 1) : y;
  }
  for (const FullyConnectedLayer* layer : fc) x = layer->forward(x);

  if (update_w_avg) {
    GF_CHECK(w_avg, op, "has no w_avg to update (num_ws 0 or no w_avg_beta)");
    NoGradGuard ng;
    w_avg->copy_(lerp(mean(x.detach(), {0}), *w_avg, *opt_.w_avg_beta));
  }

  if (opt_.num_ws > 0) {
    const int64_t n = x.size(0);
    x = expand(x.reshape({n, 1, opt_.w_dim}), {n, opt_.num_ws, opt_.w_dim});
  }

  if (truncation_psi != 1) {
    GF_CHECK(w_avg, op, "truncation needs w_avg (num_ws 0 or no w_avg_beta)");
    const int num = opt_.num_ws > 0 ? opt_.num_ws : 0;
    const int cutoff = truncation_cutoff ? *truncation_cutoff : num;
    GF_CHECK(!truncation_cutoff || (num > 0 && cutoff >= 0 && cutoff <= num), op,
             "truncation_cutoff " << cutoff << " must lie in [0, num_ws = " << num << "]");
    if (num == 0 || cutoff == num) {
      x = lerp(*w_avg, x, truncation_psi);
    } else if (cutoff > 0) {
      x = concat({lerp(*w_avg, slice(x, 1, 0, cutoff), truncation_psi), slice(x, 1, cutoff, num)}, 1);
    }
  }
  return x;
}

}  // namespace gf::stylegan2
