// One StyleGAN2 training run's state and its minibatch step: G, D, G_ema, the
// two lazy-regularization Adams, the random stream, the data sampler and the
// loss, as the official StyleGAN2-ADA training_loop.py keeps them. The tick
// loop around it (logs, grids, snapshots) is train/training_loop.h; saving and
// restoring all of it is train/checkpoint.h.
#pragma once
#include <cstdint>
#include <memory>

#include "engine/ops.h"
#include "models/discriminator.h"
#include "models/generator.h"
#include "train/adam.h"
#include "train/configs.h"
#include "train/dataset.h"
#include "train/loss.h"

namespace gf {

struct TrainerSetup {
  TrainSpec spec;
  stylegan2::GeneratorConfig G_kwargs;
  stylegan2::DiscriminatorConfig D_kwargs;
  uint64_t seed = 0;
  Device device = Device::cpu();
};

// The network configs the spec gives for a dataset (resolution, channels, labels).
TrainerSetup make_trainer_setup(const TrainSpec& spec, const Dataset& ds, uint64_t seed, Device device);

// Adam with the official lazy-regularization adjustment: lr * r, betas ** r,
// r = interval / (interval + 1).
AdamOptions lazy_adam(double lr, int interval);

class StyleGAN2Trainer {
 public:
  // Networks initialized from the seed; the dataset must outlive the trainer
  // and match the configs (resolution, channels, label count).
  StyleGAN2Trainer(const TrainerSetup& setup, const Dataset& ds);

  // One minibatch through the phases Gmain, Greg (every g_reg_interval),
  // Dmain, Dreg (every d_reg_interval), then the EMA update.
  void step();

  const TrainerSetup& setup() const { return setup_; }
  const Dataset& dataset() const { return ds_; }
  int64_t cur_nimg() const { return cur_nimg_; }
  int64_t batch_idx() const { return batch_idx_; }
  LossStats stats() const { return loss_->stats(); }  // waits for the device
  double pl_mean() const { return loss_->pl_mean(); }

  stylegan2::Generator& G() { return *G_; }
  stylegan2::Generator& G_ema() { return *G_ema_; }
  stylegan2::Discriminator& D() { return *D_; }
  Adam& G_opt() { return *G_opt_; }
  Adam& D_opt() { return *D_opt_; }
  InfiniteSampler& sampler() { return sampler_; }
  Generator& rng() { return rng_; }

  // Restores the counters and the loss's path-length mean (train/checkpoint.cpp).
  void set_progress(int64_t cur_nimg, int64_t batch_idx, double pl_mean);

 private:
  // Labels for generated images: those of random dataset items (the official
  // gen_c), or undefined for an unconditional run.
  Tensor sample_gen_c();

  TrainerSetup setup_;
  const Dataset& ds_;
  std::unique_ptr<stylegan2::Generator> G_, G_ema_;
  std::unique_ptr<stylegan2::Discriminator> D_;
  std::unique_ptr<Adam> G_opt_, D_opt_;
  Generator rng_;  // z, gen_c, noise, style mixing: Philox, the same on CPU and GPU
  InfiniteSampler sampler_;
  std::unique_ptr<StyleGAN2Loss> loss_;
  int64_t cur_nimg_ = 0, batch_idx_ = 0;
};

}  // namespace gf
