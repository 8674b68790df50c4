// The StyleGAN2 loss (official StyleGAN2-ADA training/loss.py): non-saturating
// logistic loss, lazy R1 on reals, path-length regularization, style mixing.
// It sees the networks through three functions, so it is independent of how
// they are built.
#pragma once
#include <functional>

#include "engine/ops.h"
#include "train/tick_mean.h"
#include "train/draw_log.h"

namespace gf {

struct LossNetworks {
  // z [N, z_dim], c [N, c_dim] (may be undefined) -> ws [N, num_ws, w_dim];
  // update_w_avg: whether this call moves the tracked average of w.
  std::function<Tensor(const Tensor& z, const Tensor& c, bool update_w_avg)> mapping;
  std::function<Tensor(const Tensor& ws)> synthesis;                   // -> img [N, C, H, W]
  std::function<Tensor(const Tensor& img, const Tensor& c)> discriminator;  // -> logits [N, 1]
  // ADA's augmentation of every image D sees (official run_D), or null for
  // none. prefix names the call's draws: "aug_fake/" or "aug_real/".
  std::function<Tensor(const Tensor& img, const std::string& prefix)> augment;
};

struct LossOptions {
  double r1_gamma = 10;
  double style_mixing_prob = 0.9;
  double pl_weight = 2;
  int pl_batch_shrink = 2;
  double pl_decay = 0.01;
  // Whether the real signs are summed for ADA (take_real_signs); the tick's
  // mean sign (LossStats::signs_real) is kept either way.
  bool ada_signs = false;
};

// Each statistic's mean over the phase calls since it was last taken (with
// no call since, the mean taken before).
struct LossStats {
  double g_loss = 0, d_loss_fake = 0, d_loss_real = 0, r1_penalty = 0, pl_penalty = 0;
  double scores_fake = 0, scores_real = 0;
  // The lazy regularizers' calls behind r1_penalty and pl_penalty: 0 in a tick
  // without an R1 or path-length phase (which stats.jsonl leaves out, where
  // the official Collector, keep_previous, repeats the last tick's value).
  int64_t r1_calls = 0, pl_calls = 0;
  double signs_real = 0;  // mean sign of D's real logits (official Loss/signs/real)
};

class StyleGAN2Loss {
 public:
  StyleGAN2Loss(LossNetworks nets, LossOptions opt, Generator& rng);

  // Where the loss's draws go (style mixing "mix" and "mix_z", path-length
  // "pl_noise", under the log's current scope); null (the default): straight
  // from the generator.
  void set_draw_log(DrawLog* log) { draws_ = log; }

  // Each phase returns the scalar to call backward() on, already multiplied
  // by `gain` (the lazy-regularization interval, as in the official code).
  Tensor g_main(const Tensor& z, const Tensor& c, double gain);
  Tensor g_pl(const Tensor& z, const Tensor& c, double gain);
  Tensor d_main(const Tensor& real, const Tensor& real_c, const Tensor& z, const Tensor& c, double gain);
  Tensor d_r1(const Tensor& real, const Tensor& real_c, double gain);

  // The moving average of path lengths, kept in checkpoints. It lives on the
  // device as the official pl_mean buffer does; reading it waits for the device.
  double pl_mean() const { return pl_mean_.defined() ? pl_mean_.item() : pl_mean_start_; }
  // The device scalar itself (undefined before the first path-length phase),
  // for averaging over data-parallel replicas in place.
  const Tensor& pl_mean_tensor() const { return pl_mean_; }
  void set_pl_mean(double v) {
    pl_mean_ = Tensor();
    pl_mean_start_ = v;
  }
  // The mean of each statistic over the calls since the last take, as the
  // official training_stats averages every report of a tick (scores_fake
  // over both the G and the D phase); a statistic with no call since keeps
  // its previous mean (0 before its first). The sums stay on the device
  // until this reads them, so a training step never synchronizes for them.
  LossStats take_stats();
  const LossOptions& options() const { return opt_; }

  // The signs of D's logits for reals (official 'Loss/signs/real', reported
  // by the Dmain and Dreg phases), which ADA's heuristic averages: their sum
  // on the device and their count since the last take. take_real_signs()
  // returns {sum, count} (waits for the device) and starts a new interval.
  std::pair<double, int64_t> take_real_signs();
  void add_real_signs(double sum, int64_t count);  // a resumed interval's

  // z and style mixing drawn from the loss's generator: returns ws. The
  // official draws: a cutoff uniform in [1, num_ws - 1] and a coin in [0, 1);
  // when coin < style_mixing_prob, the layers from the cutoff on take their
  // styles from a second latent, drawn in every case. Logged as "mix" =
  // [cutoff, coin] (float64) and "mix_z".
  Tensor run_mapping(const Tensor& z, const Tensor& c, bool update_w_avg);

 private:
  // D on images after the augmentation, when there is one (official run_D).
  Tensor run_D(const Tensor& img, const Tensor& c, const char* prefix);
  void report_real_signs(const Tensor& real_logits);
  Tensor signs_sum_;        // device scalar; undefined when none since the take
  double signs_carry_ = 0;  // a resumed interval's sum
  int64_t signs_count_ = 0;

  LossNetworks nets_;
  LossOptions opt_;
  Generator& rng_;
  DrawLog* draws_ = nullptr;
  Tensor pl_mean_;             // scalar; undefined until the first path-length phase
  double pl_mean_start_ = 0;   // its value then
  using Stat = TickMean;
  struct {
    Stat g_loss, d_loss_fake, d_loss_real, r1_penalty, pl_penalty, scores_fake, scores_real, signs_real;
  } stats_;
};

}  // namespace gf
