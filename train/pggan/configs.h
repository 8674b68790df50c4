// PGGAN training configurations: the official presets of
// progressive_growing_of_gans config.py (with its default '-fp32' per-GPU
// limits) and small ones for CPU runs and tests, plus the train.py arguments
// (G_smoothing, D_repeats, minibatch_repeats, reset_opt_for_new_lod), the
// loss weights of loss.py and the Adam settings of config.py.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/progressive.h"

namespace gf {

struct PGGANSpec {
  std::string cfg;
  // Networks: G_paper / D_paper arguments beyond the dataset's.
  int fmap_base = 8192;
  double fmap_decay = 1.0;
  int fmap_max = 512;
  int latent_size = 0;  // 0: nf(0), the official None
  bool fused_scale = true;
  int mbstd_group_size = 4;  // <= 1: no minibatch-stddev layer
  // train.TrainingSchedule and train_progressive_gan.
  ScheduleSpec sched;
  double total_kimg = 12000;
  double G_smoothing = 0.999;  // Gs = lerp(G, Gs, G_smoothing) after every D step
  int D_repeats = 1;
  int minibatch_repeats = 4;   // minibatches between schedule evaluations
  bool reset_opt_for_new_lod = true;
  bool mirror_augment = false;
  // loss.py: G_wgan_acgan, D_wgangp_acgan.
  double wgan_lambda = 10, wgan_epsilon = 0.001, wgan_target = 1, cond_weight = 1;
  // config.py G_opt / D_opt (tf.train.AdamOptimizer).
  double adam_beta1 = 0, adam_beta2 = 0.99, adam_epsilon = 1e-8;
};

// Names accepted by --cfg: v1-1gpu, v2-1gpu, v2-2gpus, v2-4gpus, v2-8gpus,
// cpu, tiny.
std::vector<std::string> pggan_config_names();
// The named config; throws gf::Error for an unknown name.
PGGANSpec make_pggan_spec(const std::string& cfg);

// Throws gf::Error naming the first field out of range.
void check_pggan_spec(const PGGANSpec& s);

nlohmann::json to_json(const PGGANSpec& s);
PGGANSpec pggan_spec_from_json(const nlohmann::json& j);

}  // namespace gf
