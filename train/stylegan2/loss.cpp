#include "train/stylegan2/loss.h"

#include <cmath>

#include "engine/error.h"

namespace gf {

StyleGAN2Loss::StyleGAN2Loss(LossNetworks nets, LossOptions opt, Generator& rng)
    : nets_(std::move(nets)), opt_(opt), rng_(rng) {}

Tensor StyleGAN2Loss::run_mapping(const Tensor& z, const Tensor& c, bool update_w_avg) {
  Tensor ws = nets_.mapping(z, c, update_w_avg);
  if (opt_.style_mixing_prob <= 0) return ws;
  // One cutoff per call (official run_G): with probability p, layers from a
  // random cutoff on take their styles from a second latent.
  const int64_t num_ws = ws.size(1);
  const Tensor mix = logged_draw(draws_, "mix", {2}, DType::f64, Device::cpu(), [&] {
    const std::vector<double> u = rand({2}, rng_, DType::f64).to_vector();
    const int64_t pick = 1 + std::min<int64_t>(static_cast<int64_t>(u[0] * (num_ws - 1)), num_ws - 2);
    return Tensor::from_vector({static_cast<double>(pick), u[1]}, {2}, DType::f64);
  });
  const std::vector<double> m = mix.to_vector();
  GF_CHECK(m[0] >= 1 && m[0] <= static_cast<double>(num_ws - 1) && m[0] == std::floor(m[0]), "style mixing",
           "cutoff " << m[0] << " is not a whole number in [1, " << num_ws - 1 << "]");
  GF_CHECK(m[1] >= 0 && m[1] < 1, "style mixing", "the mixing draw " << m[1] << " is not a uniform in [0, 1)");
  const int64_t cutoff = m[1] < opt_.style_mixing_prob ? static_cast<int64_t>(m[0]) : num_ws;
  // The second latent is drawn in every case, so the stream of random numbers
  // does not depend on the outcome.
  Tensor z2 = logged_draw(draws_, "mix_z", z.shape(), z.dtype(), z.device(),
                          [&] { return randn(z.shape(), rng_, z.dtype(), z.device()); });
  if (cutoff >= num_ws) return ws;
  Tensor ws2 = nets_.mapping(z2, c, false);
  return concat({slice(ws, 1, 0, cutoff), slice(ws2, 1, cutoff, num_ws)}, 1);
}

Tensor StyleGAN2Loss::run_D(const Tensor& img, const Tensor& c, const char* prefix) {
  return nets_.discriminator(nets_.augment ? nets_.augment(img, prefix) : img, c);
}

void StyleGAN2Loss::report_real_signs(const Tensor& real_logits) {
  Tensor s = sum(sign(real_logits.detach()));
  stats_.signs_real.add(s * (1.0 / static_cast<double>(real_logits.numel())));
  if (!opt_.ada_signs) return;
  signs_sum_ = signs_sum_.defined() ? signs_sum_ + s : s;
  signs_count_ += real_logits.numel();
}

std::pair<double, int64_t> StyleGAN2Loss::take_real_signs() {
  const std::pair<double, int64_t> r{signs_carry_ + (signs_sum_.defined() ? signs_sum_.item() : 0.0), signs_count_};
  signs_sum_ = Tensor();
  signs_carry_ = 0;
  signs_count_ = 0;
  return r;
}

void StyleGAN2Loss::add_real_signs(double sum, int64_t count) {
  signs_carry_ += sum;
  signs_count_ += count;
}

Tensor StyleGAN2Loss::g_main(const Tensor& z, const Tensor& c, double gain) {
  Tensor img = nets_.synthesis(run_mapping(z, c, true));
  Tensor logits = run_D(img, c, "aug_fake/");
  Tensor loss = mean(softplus(-logits));  // -log(sigmoid(logits))
  stats_.g_loss.add(loss.detach());
  stats_.scores_fake.add(mean(logits.detach()));
  return loss * gain;
}

Tensor StyleGAN2Loss::g_pl(const Tensor& z, const Tensor& c, double gain) {
  // At least one sample: loss.py's gen_z.shape[0] // pl_batch_shrink is 0 for
  // a pass of one image, where the official networks fail (an empty batch).
  const int64_t n = std::max<int64_t>(z.size(0) / opt_.pl_batch_shrink, 1);
  Tensor zs = slice(z, 0, 0, n);
  Tensor cs = c.defined() ? slice(c, 0, 0, n) : c;
  Tensor ws = run_mapping(zs, cs, true);
  Tensor img = nets_.synthesis(ws);
  // Random image-space direction, scaled so the expected length is resolution-independent.
  const double scale = 1.0 / std::sqrt(static_cast<double>(img.size(2) * img.size(3)));
  Tensor noise = logged_draw(draws_, "pl_noise", img.shape(), img.dtype(), img.device(),
                             [&] { return randn(img.shape(), rng_, img.dtype(), img.device()); }) *
                 scale;
  Tensor pl_grads = grad({sum(img * noise)}, {ws}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
  Tensor pl_lengths = sqrt(mean(sum(square(pl_grads), {2}), {1}));  // [n]
  // As the official loss: the updated mean stays in the graph, so the penalty's
  // gradient includes its dependence on this batch's lengths.
  const Tensor prev = pl_mean_.defined() ? pl_mean_ : full({}, pl_mean_start_, pl_lengths.dtype(), pl_lengths.device());
  Tensor pl_mean = lerp(prev, mean(pl_lengths), opt_.pl_decay);
  pl_mean_ = pl_mean.detach();
  Tensor penalty = square(pl_lengths - pl_mean);
  stats_.pl_penalty.add(mean(penalty.detach()));
  // The official "gen_img * 0" term: every G parameter gets a (zero) gradient,
  // so Adam advances the step count and decays the moments of all of them.
  return mean(penalty) * (opt_.pl_weight * gain) + sum(img) * 0.0;
}

Tensor StyleGAN2Loss::d_main(const Tensor& real, const Tensor& real_c, const Tensor& z, const Tensor& c, double gain) {
  Tensor fake;
  {
    NoGradGuard ng;  // D's step does not differentiate through G
    fake = nets_.synthesis(run_mapping(z, c, true));  // training-mode G tracks w_avg in every phase
  }
  Tensor fake_logits = run_D(fake, c, "aug_fake/");
  Tensor real_logits = run_D(real, real_c, "aug_real/");
  report_real_signs(real_logits);
  Tensor loss_fake = mean(softplus(fake_logits));   // -log(1 - sigmoid(fake))
  Tensor loss_real = mean(softplus(-real_logits));  // -log(sigmoid(real))
  stats_.d_loss_fake.add(loss_fake.detach());
  stats_.d_loss_real.add(loss_real.detach());
  stats_.scores_fake.add(mean(fake_logits.detach()));
  stats_.scores_real.add(mean(real_logits.detach()));
  return (loss_fake + loss_real) * gain;
}

Tensor StyleGAN2Loss::d_r1(const Tensor& real, const Tensor& real_c, double gain) {
  Tensor x = real.detach().requires_grad_(true);
  Tensor logits = run_D(x, real_c, "aug_real/");
  report_real_signs(logits);
  stats_.scores_real.add(mean(logits.detach()));  // official loss.py reports Loss/scores/real in Dreg too
  Tensor g = grad({sum(logits)}, {x}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
  Tensor penalty = sum(square(g), {1, 2, 3});  // [N]
  stats_.r1_penalty.add(mean(penalty.detach()));
  // The official "real_logits * 0" term, for the same reason as in g_pl.
  return mean(penalty) * (opt_.r1_gamma / 2 * gain) + sum(logits) * 0.0;
}

LossStats StyleGAN2Loss::take_stats() {
  const int64_t r1_calls = stats_.r1_penalty.count, pl_calls = stats_.pl_penalty.count;
  return {stats_.g_loss.take(),      stats_.d_loss_fake.take(), stats_.d_loss_real.take(),
          stats_.r1_penalty.take(),  stats_.pl_penalty.take(),  stats_.scores_fake.take(),
          stats_.scores_real.take(), r1_calls,                  pl_calls,
          stats_.signs_real.take()};
}

}  // namespace gf
