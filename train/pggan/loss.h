// The PGGAN losses (progressive_growing_of_gans loss.py): G_wgan_acgan and
// D_wgangp_acgan, the Wasserstein loss with gradient penalty on per-sample
// interpolates, the drift ("epsilon") term, and AC-GAN label terms when the
// networks are labelled. The loss sees the networks through two functions
// (at the current lod), so it is independent of how they are built.
#pragma once
#include <functional>

#include "engine/ops.h"
#include "train/tick_mean.h"

namespace gf {

struct PGGANLossNetworks {
  // latents [N, latent_size], labels [N, label_size] (undefined without labels) -> images [N, C, R, R].
  std::function<Tensor(const Tensor& latents, const Tensor& labels)> G;
  // images -> [N, 1 + label_size]: the score, then the label logits.
  std::function<Tensor(const Tensor& images)> D;
};

struct PGGANLossOptions {
  double wgan_lambda = 10;     // gradient penalty weight
  double wgan_epsilon = 0.001; // drift weight, epsilon_drift
  double wgan_target = 1;      // target gradient norm
  double cond_weight = 1;      // AC-GAN label terms
};

// Each statistic's mean over the calls since it was last taken (per-sample
// values averaged, as the official autosummary).
struct PGGANLossStats {
  double g_loss = 0, d_loss = 0;
  double real_scores = 0, fake_scores = 0, mixed_scores = 0;
  double mixed_norms = 0, gradient_penalty = 0, epsilon_penalty = 0;
  double label_penalty_reals = 0, label_penalty_fakes = 0;
};

// softmax_cross_entropy_with_logits(labels, logits) per row: [N, K] x [N, K] -> [N, 1].
Tensor softmax_cross_entropy(const Tensor& labels, const Tensor& logits);

class PGGANLoss {
 public:
  PGGANLoss(PGGANLossNetworks nets, PGGANLossOptions opt);

  // Mean over the batch of -D(G(latents, labels)) (+ the label term on the
  // fakes' logits). D's weights should not require grad.
  Tensor g_loss(const Tensor& latents, const Tensor& labels);
  // Mean over the batch of D(fake) - D(real) + lambda / target^2 (|grad_x D(x_hat)| - target)^2
  // + epsilon D(real)^2 (+ label terms on real and fake logits), with
  // x_hat = lerp(real, fake, mixing_factors [N, 1, 1, 1]) and fake =
  // G(latents, labels) (run without a graph: only D trains here). The penalty
  // is formed with create_graph, so its gradient reaches D's weights.
  Tensor d_loss(const Tensor& reals, const Tensor& labels, const Tensor& latents, const Tensor& mixing_factors);

  PGGANLossStats take_stats();
  const PGGANLossOptions& options() const { return opt_; }

 private:
  PGGANLossNetworks nets_;
  PGGANLossOptions opt_;
  struct {
    TickMean g_loss, d_loss, real_scores, fake_scores, mixed_scores, mixed_norms, gradient_penalty, epsilon_penalty,
        label_penalty_reals, label_penalty_fakes;
  } stats_;
};

}  // namespace gf
