#include "train/pggan/loss.h"

#include "engine/error.h"

namespace gf {
namespace {

Tensor score_of(const Tensor& out) { return slice(out, 1, 0, 1); }
Tensor logits_of(const Tensor& out) { return slice(out, 1, 1, out.size(1)); }

}  // namespace

Tensor softmax_cross_entropy(const Tensor& labels, const Tensor& logits) {
  GF_CHECK(labels.dim() == 2 && labels.shape() == logits.shape(), "softmax_cross_entropy",
           "labels " << shape_str(labels.shape()) << " and logits " << shape_str(logits.shape()) << " must be [N, K]");
  // log_softmax with the row maximum taken out (a constant shift: no gradient needed through it).
  const Tensor m = max(logits.detach(), {1}, true);
  const Tensor shifted = logits - m;
  const Tensor log_p = shifted - log(sum(exp(shifted), {1}, true));
  return -sum(labels * log_p, {1}, true);
}

PGGANLoss::PGGANLoss(PGGANLossNetworks nets, PGGANLossOptions opt) : nets_(std::move(nets)), opt_(opt) {}

Tensor PGGANLoss::g_loss(const Tensor& latents, const Tensor& labels) {
  const Tensor fake_out = nets_.D(nets_.G(latents, labels));
  Tensor loss = -score_of(fake_out);
  if (fake_out.size(1) > 1) {
    const Tensor pen = softmax_cross_entropy(labels, logits_of(fake_out));
    stats_.label_penalty_fakes.add(mean(pen.detach()));
    loss = loss + pen * opt_.cond_weight;
  }
  const Tensor out = mean(loss);
  stats_.g_loss.add(out.detach());
  return out;
}

Tensor PGGANLoss::d_loss(const Tensor& reals, const Tensor& labels, const Tensor& latents,
                         const Tensor& mixing_factors) {
  Tensor fakes;
  {
    NoGradGuard ng;
    fakes = nets_.G(latents, labels);
  }
  const Tensor real_out = nets_.D(reals), fake_out = nets_.D(fakes);
  const Tensor real_scores = score_of(real_out), fake_scores = score_of(fake_out);
  stats_.real_scores.add(mean(real_scores.detach()));
  stats_.fake_scores.add(mean(fake_scores.detach()));
  Tensor loss = fake_scores - real_scores;

  // Gradient penalty on per-sample interpolates between reals and fakes.
  const Tensor mixed = lerp(reals.detach(), fakes, mixing_factors).detach().requires_grad_(true);
  const Tensor mixed_scores = score_of(nets_.D(mixed));
  stats_.mixed_scores.add(mean(mixed_scores.detach()));
  const Tensor mixed_grads = grad({sum(mixed_scores)}, {mixed}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
  const Tensor mixed_norms = sqrt(sum(square(mixed_grads), {1, 2, 3})).reshape({mixed.size(0), 1});
  const Tensor penalty = square(mixed_norms - opt_.wgan_target);
  stats_.mixed_norms.add(mean(mixed_norms.detach()));
  stats_.gradient_penalty.add(mean(penalty.detach()));
  loss = loss + penalty * (opt_.wgan_lambda / (opt_.wgan_target * opt_.wgan_target));

  // Drift: keeps the real scores near zero.
  const Tensor eps_penalty = square(real_scores);
  stats_.epsilon_penalty.add(mean(eps_penalty.detach()));
  loss = loss + eps_penalty * opt_.wgan_epsilon;

  if (real_out.size(1) > 1) {
    const Tensor pr = softmax_cross_entropy(labels, logits_of(real_out));
    const Tensor pf = softmax_cross_entropy(labels, logits_of(fake_out));
    stats_.label_penalty_reals.add(mean(pr.detach()));
    stats_.label_penalty_fakes.add(mean(pf.detach()));
    loss = loss + (pr + pf) * opt_.cond_weight;
  }
  const Tensor out = mean(loss);
  stats_.d_loss.add(out.detach());
  return out;
}

PGGANLossStats PGGANLoss::take_stats() {
  PGGANLossStats s;
  s.g_loss = stats_.g_loss.take();
  s.d_loss = stats_.d_loss.take();
  s.real_scores = stats_.real_scores.take();
  s.fake_scores = stats_.fake_scores.take();
  s.mixed_scores = stats_.mixed_scores.take();
  s.mixed_norms = stats_.mixed_norms.take();
  s.gradient_penalty = stats_.gradient_penalty.take();
  s.epsilon_penalty = stats_.epsilon_penalty.take();
  s.label_penalty_reals = stats_.label_penalty_reals.take();
  s.label_penalty_fakes = stats_.label_penalty_fakes.take();
  return s;
}

}  // namespace gf
