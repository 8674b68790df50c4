#include "models/psp/psp.h"

#include "engine/error.h"
#include "engine/ops/pool2d.h"

namespace gf::psp {

Psp::Psp(const PspConfig& cfg, const stylegan2::GeneratorConfig& decoder_cfg, uint64_t seed, DType dtype,
         bool skip_draws)
    : cfg_(cfg) {
  cfg.validate();
  GF_CHECK(decoder_cfg.w_dim == cfg.style_dim(), "psp",
           "the decoder's w_dim " << decoder_cfg.w_dim << " differs from the encoder's style width " << cfg.style_dim());
  ParamInit init(seed, dtype);
  init.skip_draws = skip_draws;
  encoder = make_encoder(cfg, init);
  decoder = std::make_unique<stylegan2::Generator>(decoder_cfg, seed + 1, dtype);
  GF_CHECK(decoder->num_ws() == cfg.n_styles, "psp",
           "the encoder has " << cfg.n_styles << " styles but the " << decoder_cfg.img_resolution
                              << " px decoder takes " << decoder->num_ws());
}

Tensor Psp::encode(const Tensor& x) const {
  Tensor codes = encoder->forward(x);
  if (cfg_.start_from_latent_avg) {
    GF_CHECK(latent_avg.defined(), "psp", "the network starts from latent_avg but holds none");
    codes = codes + (cfg_.learn_in_w ? latent_avg.reshape({1, -1}) : latent_avg);
  }
  if (cfg_.learn_in_w) codes = expand(codes.reshape({codes.size(0), 1, codes.size(1)}),
                                      {codes.size(0), cfg_.n_styles, codes.size(1)});
  return codes;
}

Tensor Psp::decode(const Tensor& codes, bool resize, const stylegan2::SynthesisOptions& opt) const {
  const Tensor img = decoder->synthesis.forward(codes, opt);
  return resize ? face_pool(img) : img;
}

Tensor Psp::mapped_codes(const Tensor& z) const { return decoder->mapping.forward(z, Tensor()); }

void Psp::to(Device d) {
  encoder->to(d);
  decoder->to(d);
  if (latent_avg.defined()) latent_avg = latent_avg.to(d);
}

Tensor face_pool(const Tensor& images) { return adaptive_avg_pool2d(images, 256, 256); }

Tensor mix_codes(const Tensor& codes, const Tensor& inject, const std::vector<long long>& latent_mask,
                 std::optional<double> alpha) {
  GF_CHECK(codes.dim() == 3 && inject.shape() == codes.shape(), "mix_codes",
           "codes " << shape_str(codes.shape()) << " and injected codes " << shape_str(inject.shape())
                    << " must be the same [N, n_styles, w]");
  const int64_t n = codes.size(1);
  // pSp's forward blends once per entry of the list: an index listed twice
  // is blended twice (alpha, then alpha again over the result).
  std::vector<int> times(size_t(n), 0);
  for (long long i : latent_mask) {
    GF_CHECK(i >= 0 && i < n, "mix_codes", "latent " << i << " is outside [0, " << n << ")");
    ++times[size_t(i)];
  }
  std::vector<Tensor> parts;
  for (int64_t i = 0; i < n; ++i) {
    Tensor c = slice(codes, 1, i, i + 1);
    if (times[size_t(i)] > 0) {
      const Tensor j = slice(inject, 1, i, i + 1);
      for (int k = 0; k < times[size_t(i)]; ++k) c = alpha ? lerp(c, j, *alpha) : j;
    }
    parts.push_back(c);
  }
  return concat(parts, 1);
}

}  // namespace gf::psp
