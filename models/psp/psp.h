// pSp (Richardson et al. 2021, pixel2style2pixel models/psp.py): an encoder
// that maps an image to W+ codes, plus the latent average it starts from,
// decoded by a StyleGAN2 generator fed W+ directly (pSp's decoders are
// rosinality generators; tools/convert_weights.py maps them onto
// models/stylegan2). Inference as pSp's forward: encode, add latent_avg, decode
// with the stored noise (randomize_noise=False), optionally pool to 256x256.
#pragma once
#include <memory>
#include <optional>
#include <vector>

#include "models/psp/config.h"
#include "models/psp/encoder.h"
#include "models/stylegan2/generator.h"

namespace gf::psp {

class Psp {
 public:
  // Parameters drawn from `seed` (skip_draws: left uninitialized, for weights
  // loaded right after). latent_avg starts undefined.
  Psp(const PspConfig& cfg, const stylegan2::GeneratorConfig& decoder_cfg, uint64_t seed, DType dtype = DType::f32,
      bool skip_draws = false);

  // x [N, input_nc, input_size, input_size] in [-1, 1] -> W+ codes [N,
  // n_styles, style_dim]: the encoder's output plus latent_avg when the
  // network starts from it; a W encoder's one w is repeated over the layers,
  // as rosinality's generator repeats a 2-D latent.
  Tensor encode(const Tensor& x) const;
  // codes [N, n_styles, w_dim] -> images [N, C, R, R] (R the decoder's
  // resolution, or 256 with resize: pSp's face_pool).
  Tensor decode(const Tensor& codes, bool resize, const stylegan2::SynthesisOptions& opt = {}) const;
  // W+ codes of random w's, as style_mixing.py draws them: the decoder's
  // mapping of z [N, z_dim] without truncation, repeated over the layers.
  Tensor mapped_codes(const Tensor& z) const;

  void to(Device d);
  const PspConfig& config() const { return cfg_; }
  int n_styles() const { return cfg_.n_styles; }

  std::unique_ptr<Encoder> encoder;
  std::unique_ptr<stylegan2::Generator> decoder;
  Tensor latent_avg;  // [n_styles, w], [1, w] or [w]; undefined when the network has none

 private:
  PspConfig cfg_;
};

// pSp's resize_outputs pooling: AdaptiveAvgPool2d((256, 256)).
Tensor face_pool(const Tensor& images);

// The codes style_mixing.py decodes: for each index in latent_mask, codes[:, i]
// replaced by alpha * inject[:, i] + (1 - alpha) * codes[:, i] (by inject[:, i]
// without alpha), in list order: an index listed twice is blended twice, as
// pSp's forward loops over the list. codes, inject [N, n_styles, w]; indices checked.
Tensor mix_codes(const Tensor& codes, const Tensor& inject, const std::vector<long long>& latent_mask,
                 std::optional<double> alpha);

}  // namespace gf::psp
