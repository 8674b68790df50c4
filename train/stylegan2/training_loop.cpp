#include "train/stylegan2/training_loop.h"

#include <cstdio>

#include "data/images/image_io.h"
#include "train/stylegan2/checkpoint.h"
#include "data/infinite_sampler.h"

namespace gf {

TickStats StyleGAN2Run::take_stats() {
  const LossStats st = t_.take_stats();
  // A regularizer without a phase in this tick has no value ("-" here, none in stats.jsonl).
  auto reg = [](double v, int64_t calls) { return calls > 0 ? status_general(v) : std::string("-"); };
  TickStats s;
  // The official status line's "augment": p, 0 without a pipe.
  s.losses = "G " + status_fixed(st.g_loss, 4) + " D " + status_fixed(st.d_loss_real, 4) + "+" +
             status_fixed(st.d_loss_fake, 4) + " r1 " + reg(st.r1_penalty, st.r1_calls) + " pl " +
             reg(st.pl_penalty, st.pl_calls) + " scores real " + status_fixed(st.scores_real, 3) + " fake " +
             status_fixed(st.scores_fake, 3) + " augment " + status_fixed(t_.augment_p(), 3);
  s.fields = {{"loss_G", st.g_loss},           {"loss_D_real", st.d_loss_real}, {"loss_D_fake", st.d_loss_fake},
              {"scores_real", st.scores_real}, {"scores_fake", st.scores_fake}};
  // A regularizer appears where it ran: report.html draws a gap for a tick
  // without its phase, and no curve when it is off.
  if (st.r1_calls > 0) s.fields["r1_penalty"] = st.r1_penalty;
  if (st.pl_calls > 0) s.fields["pl_penalty"] = st.pl_penalty;
  if (t_.setup().spec.pl_weight > 0) s.fields["pl_mean"] = t_.pl_mean();
  s.fields["augment_p"] = t_.augment_p();  // the official Progress/augment
  s.fields["signs_real"] = st.signs_real;
  return s;
}

// Fixed latents, labels and reals for the image grids, from the run's seed
// only, so a resumed run draws the same grid.
void StyleGAN2Run::write_reals(const std::string& path, int gw, int gh) {
  const int n = gw * gh;
  const Dataset& ds = t_.dataset();
  const Device dev = t_.setup().device;
  Generator grid_rng(t_.setup().seed + 123);
  grid_z_ = randn({n, t_.setup().G_kwargs.z_dim}, grid_rng, DType::f32, dev);
  const Dataset::Batch reals = ds.batch(InfiniteSampler(ds.size(), t_.setup().seed + 1).next_batch(n), dev);
  if (ds.c_dim() > 0) grid_c_ = reals.labels;
  save_image_grid(reals.images.to(Device::cpu()), path, gw, gh);
}

void StyleGAN2Run::write_fakes(const std::string& path, int gw, int gh) {
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  NoGradGuard ng;
  const Tensor fakes = t_.G_ema().forward(grid_z_, grid_c_, 1, std::nullopt, so);
  save_image_grid(fakes.to(Device::cpu()), path, gw, gh);
}

void StyleGAN2Run::write_snapshot(const std::string& path) { save_snapshot(path, t_); }
void StyleGAN2Run::write_checkpoint(const std::string& path) { save_checkpoint(path, t_); }  // collective

void run_training(StyleGAN2Trainer& trainer, RunDir* run, const LoopOptions& opt) {
  StyleGAN2Run r(trainer);
  run_training(static_cast<TrainingRun&>(r), run, opt);
}

}  // namespace gf
