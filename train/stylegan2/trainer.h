// One StyleGAN2 training run's state and its minibatch step: G, D, G_ema, the
// two lazy-regularization Adams, the random stream, the data sampler and the
// loss, as the official StyleGAN2-ADA training_loop.py keeps them. The tick
// loop around it (logs, grids, snapshots) is train/training_loop.h; saving and
// restoring all of it is train/checkpoint.h.
//
// Data parallel, as the official multi-GPU loop: spec.gpus replicas, replica
// r on device index + r (CPU replicas all on the CPU, for tests), each with
// its own networks, optimizers, random stream (seed * gpus + r) and
// batch / gpus images (minibatch positions r, r + gpus, ...), run through the
// networks batch_gpu at a time with gradients accumulated over the passes.
// After each phase's backward the gradients are averaged over the replicas
// (engine/collective.h), so every replica takes the same optimizer step. One
// host thread drives all replicas; their devices work concurrently because
// launches do not wait. Unlike the official code, w_avg and the path-length
// mean are averaged over the replicas after each minibatch too, so all
// replicas hold one state (the whole-batch update) and any one of them is
// the run.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/ops.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/generator.h"
#include "train/adam.h"
#include "train/stylegan2/configs.h"
#include "train/dataset.h"
#include "train/stylegan2/loss.h"

namespace gf {

struct TrainerSetup {
  TrainSpec spec;
  stylegan2::GeneratorConfig G_kwargs;
  stylegan2::DiscriminatorConfig D_kwargs;
  uint64_t seed = 0;
  Device device = Device::cpu();  // replica 0's; replica r is on device.index + r
  // Where the spec.gpus replicas live, when not as above (tests put several on one device).
  std::vector<Device> replica_devices;
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

  ~StyleGAN2Trainer();

  const TrainerSetup& setup() const { return setup_; }
  const Dataset& dataset() const { return ds_; }
  int64_t cur_nimg() const { return cur_nimg_; }
  int64_t batch_idx() const { return batch_idx_; }
  // The loss statistics' means over the passes, minibatches and replicas
  // since the last take (StyleGAN2Loss::take_stats), the regularizers' call
  // counts summed over the replicas; waits for the devices.
  LossStats take_stats();
  LossStats take_stats(int replica);  // one replica's
  double pl_mean() const;

  // Replica r's state; replica 0 (the default) is what snapshots hold.
  int num_replicas() const { return static_cast<int>(replicas_.size()); }
  Device device(int replica = 0) const;
  stylegan2::Generator& G(int replica = 0);
  stylegan2::Generator& G_ema(int replica = 0);
  stylegan2::Discriminator& D(int replica = 0);
  Adam& G_opt(int replica = 0);
  Adam& D_opt(int replica = 0);
  Generator& rng(int replica = 0);  // z, gen_c, noise, style mixing: Philox, the same on CPU and GPU
  InfiniteSampler& sampler() { return sampler_; }

  // Restores the counters and the path-length mean (train/checkpoint.cpp).
  void set_progress(int64_t cur_nimg, int64_t batch_idx, double pl_mean);
  // Copies replica 0's networks and optimizer state into the others, after
  // something was loaded into replica 0 (the official broadcast from rank 0).
  void replicate_first();

 private:
  struct Replica;
  enum class Phase { Gmain, Greg, Dmain, Dreg };
  // Forward and backward of one phase on every replica, pass by pass, then the
  // averaged, cleaned gradients and each replica's optimizer step.
  struct PhaseData;
  void run_phase(Phase phase, const std::vector<PhaseData>& data);

  TrainerSetup setup_;
  const Dataset& ds_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  InfiniteSampler sampler_;  // one for the run: replica r takes minibatch positions r, r + gpus, ...
  int64_t cur_nimg_ = 0, batch_idx_ = 0;
};

}  // namespace gf
