#include "train/pggan/training_loop.h"

#include <cstdio>

#include "data/images/image_io.h"
#include "train/pggan/checkpoint.h"
#include "data/infinite_sampler.h"

namespace gf {

TickStats PGGANRun::take_stats() {
  const PGGANStats st = t_.take_stats();
  const PGGANLossStats& l = st.loss;
  const Schedule s = t_.last_schedule();
  char progress[64];
  std::snprintf(progress, sizeof progress, "lod %-5.2f minibatch %-4d ", s.lod, s.minibatch);
  std::string losses = "G " + status_fixed(l.g_loss, 4) + " D " + status_fixed(l.d_loss, 4) + " scores real " +
                       status_fixed(l.real_scores, 3) + " fake " + status_fixed(l.fake_scores, 3) + " gp " +
                       status_general(l.gradient_penalty) + " |grad| " + status_fixed(l.mixed_norms, 3) + " drift " +
                       status_general(l.epsilon_penalty);
  if (t_.setup().G_kwargs.label_size > 0)
    losses += " labels real " + status_fixed(l.label_penalty_reals, 3) + " fake " + status_fixed(l.label_penalty_fakes, 3);
  if (st.G_skipped || st.D_skipped)
    losses += " skipped G " + std::to_string(st.G_skipped) + " D " + std::to_string(st.D_skipped);
  TickStats out;
  out.progress = progress;
  out.losses = losses;
  out.fields = {{"lod", s.lod},
                {"minibatch", s.minibatch},
                {"resolution", s.resolution},
                {"G_lrate", s.G_lrate},
                {"D_lrate", s.D_lrate},
                {"loss_G", l.g_loss},
                {"loss_D", l.d_loss},
                {"scores_real", l.real_scores},
                {"scores_fake", l.fake_scores},
                {"scores_mixed", l.mixed_scores},
                {"mixed_norms", l.mixed_norms},
                {"gradient_penalty", l.gradient_penalty},
                {"epsilon_penalty", l.epsilon_penalty},
                {"G_skipped", st.G_skipped},
                {"D_skipped", st.D_skipped}};
  // The AC-GAN terms exist only for labelled networks (no curve otherwise).
  if (t_.setup().G_kwargs.label_size > 0) {
    out.fields["label_penalty_reals"] = l.label_penalty_reals;
    out.fields["label_penalty_fakes"] = l.label_penalty_fakes;
  }
  return out;
}

// Fixed latents, labels and reals for the grids, from the run's seed only, so
// a resumed run draws the same grid. The reals are shown at full resolution.
void PGGANRun::write_reals(const std::string& path, int gw, int gh) {
  const int n = gw * gh;
  const Dataset& ds = t_.dataset();
  const Device dev = t_.setup().device;
  Generator grid_rng(t_.setup().seed + 123);
  grid_latents_ = randn({n, t_.Gs().latent_size()}, grid_rng, DType::f32, dev);
  const Dataset::Batch reals = ds.batch(InfiniteSampler(ds.size(), t_.setup().seed + 1).next_batch(n), dev);
  if (ds.c_dim() > 0) grid_labels_ = reals.labels;
  save_image_grid(reals.images.to(Device::cpu()), path, gw, gh, nullptr, To8Bit::tf_grid);
}

void PGGANRun::write_fakes(const std::string& path, int gw, int gh) {
  NoGradGuard ng;
  save_image_grid(t_.Gs().forward(grid_latents_, grid_labels_, PGGANTrainer::network_lod(t_.last_schedule()))
                      .to(Device::cpu()),
                  path, gw, gh, nullptr, To8Bit::tf_grid);
}

void PGGANRun::write_snapshot(const std::string& path) { save_pggan_snapshot(path, t_); }
void PGGANRun::write_checkpoint(const std::string& path) { save_pggan_checkpoint(path, t_); }

}  // namespace gf
