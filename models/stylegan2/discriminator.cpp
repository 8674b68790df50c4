#include "models/stylegan2/discriminator.h"

#include <cmath>
#include <string>

#include "engine/error.h"
#include "models/blocks.h"

namespace gf::stylegan2 {
namespace {

Conv2dLayer::Options conv_opts(bool trainable, std::optional<double> conv_clamp, int down = 1) {
  Conv2dLayer::Options o;
  o.activation = "lrelu";
  o.down = down;
  o.conv_clamp = conv_clamp;
  o.trainable = trainable;
  return o;
}

}  // namespace

DiscriminatorBlock::DiscriminatorBlock(DiscriminatorArchitecture architecture, int in_channels, int tmp_channels,
                                       int out_channels, int img_channels, int first_layer_idx, int freeze_layers,
                                       std::optional<double> conv_clamp, ParamInit& init)
    : resample_filter(buffer("resample_filter", default_resample_filter(init.dtype))),
      fromrgb(in_channels == 0
                  ? &child("fromrgb", std::make_unique<Conv2dLayer>(
                                          img_channels, tmp_channels, 1, init,
                                          conv_opts(next_trainable(first_layer_idx, freeze_layers), conv_clamp)))
                  : nullptr),
      conv0(child("conv0", std::make_unique<Conv2dLayer>(
                               tmp_channels, tmp_channels, 3, init,
                               conv_opts(next_trainable(first_layer_idx, freeze_layers), conv_clamp)))),
      conv1(child("conv1", std::make_unique<Conv2dLayer>(
                               tmp_channels, out_channels, 3, init,
                               conv_opts(next_trainable(first_layer_idx, freeze_layers), conv_clamp, 2)))),
      skip(architecture != DiscriminatorArchitecture::resnet
               ? nullptr
               : &child("skip", std::make_unique<Conv2dLayer>(tmp_channels, out_channels, 1, init, [&] {
                   Conv2dLayer::Options o;
                   o.bias = false;
                   o.down = 2;
                   o.trainable = next_trainable(first_layer_idx, freeze_layers);
                   return o;
                 }()))) {
  GF_CHECK(in_channels == 0 || in_channels == tmp_channels, "DiscriminatorBlock",
           "in_channels " << in_channels << " must be 0 or tmp_channels " << tmp_channels);
}

Tensor DiscriminatorBlock::forward(const Tensor& x_in, const Tensor& img) const {
  const Tensor x = fromrgb ? fromrgb->forward(img) : x_in;
  if (!skip) return conv1.forward(conv0.forward(x));  // 'orig'
  // Residual: both paths scaled by sqrt(1/2) so the sum keeps unit variance.
  const double g = std::sqrt(0.5);
  const Tensor y = skip->forward(x, g);
  return y + conv1.forward(conv0.forward(x), g);
}

DiscriminatorEpilogue::DiscriminatorEpilogue(int in_channels, int cmap_dim, int resolution, int mbstd_group_size,
                                             int mbstd_num_channels, std::optional<double> conv_clamp, ParamInit& init)
    : conv(child("conv", std::make_unique<Conv2dLayer>(in_channels + mbstd_num_channels, in_channels, 3, init,
                                                       conv_opts(true, conv_clamp)))),
      fc(child("fc", std::make_unique<FullyConnectedLayer>(in_channels * resolution * resolution, in_channels, init,
                                                           true, "lrelu"))),
      out(child("out", std::make_unique<FullyConnectedLayer>(in_channels, cmap_dim == 0 ? 1 : cmap_dim, init))),
      in_channels_(in_channels),
      cmap_dim_(cmap_dim),
      resolution_(resolution),
      mbstd_group_size_(mbstd_group_size),
      mbstd_num_channels_(mbstd_num_channels) {}

Tensor DiscriminatorEpilogue::forward(const Tensor& x_in, const Tensor& cmap) const {
  const char* op = "DiscriminatorEpilogue";
  GF_CHECK(x_in.dim() == 4 && x_in.size(1) == in_channels_ && x_in.size(2) == resolution_ &&
               x_in.size(3) == resolution_,
           op,
           "x must be [N, " << in_channels_ << ", " << resolution_ << ", " << resolution_ << "], got "
                            << shape_str(x_in.shape()));
  const int64_t n = x_in.size(0);
  Tensor x = x_in;
  if (mbstd_num_channels_ > 0) x = mbstd_layer(x, mbstd_group_size_, mbstd_num_channels_);
  x = conv.forward(x);
  x = fc.forward(x.reshape({n, -1}));
  x = out.forward(x);
  if (cmap_dim_ > 0) {
    GF_CHECK(cmap.defined() && cmap.dim() == 2 && cmap.size(0) == n && cmap.size(1) == cmap_dim_, op,
             "cmap must be [" << n << ", " << cmap_dim_ << "], got "
                              << (cmap.defined() ? shape_str(cmap.shape()) : "none"));
    // Projection discriminator, normalized by the embedding's width.
    x = sum(x * cmap, {1}, true) * (1 / std::sqrt(static_cast<double>(cmap_dim_)));
  }
  return x;
}

Discriminator::Discriminator(const DiscriminatorConfig& cfg, uint64_t seed, DType dtype)
    : Discriminator(cfg, ParamInit(seed, dtype)) {}

Discriminator::Discriminator(const DiscriminatorConfig& cfg, ParamInit&& init) : mapping(nullptr), cfg_(cfg) {
  const char* op = "Discriminator";
  const int top = cfg.img_resolution;
  // The epilogue has no FromRGB ('resnet', 'orig'), so at least one block must read the image.
  GF_CHECK(top >= 8 && (top & (top - 1)) == 0, op, "img_resolution " << top << " is not a power of two >= 8");
  GF_CHECK(cfg.c_dim >= 0, op, "c_dim " << cfg.c_dim << " is negative");
  GF_CHECK(cfg.img_channels > 0, op, "img_channels " << cfg.img_channels << " must be at least 1");
  auto ch = [&](int res) {
    const int c = channels_at(cfg.channel_base, cfg.channel_max, res);
    GF_CHECK(c > 0, op, "channel_base " << cfg.channel_base << " gives no channels at " << res << "x" << res);
    return c;
  };
  // networks.py's MinibatchStdLayer splits the 4x4 block's channels into
  // mbstd_num_channels groups (a reshape that fails otherwise).
  GF_CHECK(cfg.mbstd_num_channels == 0 || ch(4) % cfg.mbstd_num_channels == 0, op,
           "mbstd_num_channels " << cfg.mbstd_num_channels << " does not divide the 4x4 block's " << ch(4)
                                 << " channels");
  cmap_dim_ = cfg.c_dim == 0 ? 0 : cfg.cmap_dim > 0 ? cfg.cmap_dim : ch(4);
  int layer_idx = 0;
  for (int res = top; res > 4; res /= 2) {
    DiscriminatorBlock& b = child("b" + std::to_string(res),
                                  std::make_unique<DiscriminatorBlock>(cfg.architecture, res < top ? ch(res) : 0, ch(res), ch(res / 2),
                                                                       cfg.img_channels, layer_idx, cfg.freeze_layers,
                                                                       cfg.conv_clamp, init));
    layer_idx += b.num_layers();
    blocks.push_back(&b);
  }
  if (cfg.c_dim > 0) {
    MappingNetwork::Options o;
    o.z_dim = 0;
    o.c_dim = cfg.c_dim;
    o.w_dim = cmap_dim_;
    o.num_ws = 0;
    o.num_layers = cfg.mapping_layers;
    o.w_avg_beta = std::nullopt;
    mapping = &child("mapping", std::make_unique<MappingNetwork>(o, init));
  }
  b4 = &child("b4", std::make_unique<DiscriminatorEpilogue>(ch(4), cmap_dim_, 4, cfg.mbstd_group_size,
                                                            cfg.mbstd_num_channels, cfg.conv_clamp, init));
}

Tensor Discriminator::forward(const Tensor& img, const Tensor& c) const {
  const int res = cfg_.img_resolution;
  GF_CHECK(img.dim() == 4 && img.size(1) == cfg_.img_channels && img.size(2) == res && img.size(3) == res,
           "Discriminator",
           "img must be [N, " << cfg_.img_channels << ", " << res << ", " << res << "], got " << shape_str(img.shape()));
  Tensor x;
  for (const DiscriminatorBlock* b : blocks) x = b->forward(x, img);
  const Tensor cmap = mapping ? mapping->forward(Tensor(), c) : Tensor();
  return b4->forward(x, cmap);
}

}  // namespace gf::stylegan2
