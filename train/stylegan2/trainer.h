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
//
// One process per device (engine/dist/communicator.h): with setup.comm of
// world size N (mpirun, or the torchrun-style launch), this process holds the
// one replica of index rank, and the collectives above go through the
// process group, in the same order, so N processes train as N in-process
// replicas do (bit for bit on the CPU). Collective members (step, take_stats,
// rng_offsets, replicate_first) must be called by every rank alike.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/dist/communicator.h"
#include "engine/ops.h"
#include "models/stylegan2/discriminator.h"
#include "models/stylegan2/generator.h"
#include "train/adam.h"
#include "train/augment_pipe.h"
#include "train/stylegan2/configs.h"
#include "data/dataset.h"
#include "data/infinite_sampler.h"
#include "train/draw_log.h"
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
  // This process's group when training one process per device (world size =
  // spec.gpus); null: every replica in this process.
  std::shared_ptr<Communicator> comm;
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
  // What the constructor checks before it builds anything (the configs
  // against the data, the spec's batch, passes and groups, the process
  // group, the devices), so a dry run refuses what the run would; throws
  // gf::Error.
  static void check_setup(const TrainerSetup& setup, const Dataset& ds);
  StyleGAN2Trainer(const StyleGAN2Trainer&) = delete;  // the replicas' loss functions point back here
  StyleGAN2Trainer& operator=(const StyleGAN2Trainer&) = delete;

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

  // The global index of this process's replica 0 (its rank with one process
  // per device, else 0); rank 0 alone writes the run's files.
  int first_replica() const { return first_; }
  bool is_main() const { return first_ == 0; }
  // Every replica's random-stream offset, spec.gpus of them in replica order
  // (gathered over the processes: collective); set_ takes such a list.
  std::vector<uint64_t> rng_offsets();
  void set_rng_offsets(const std::vector<uint64_t>& offsets);

  // Records every random draw of the following minibatches, or replays them
  // from a log (train/draw_log.h); null turns it off (the default). The
  // names, under "mb<batch_idx>/":
  //   real_index [batch]            dataset items of the minibatch (f64; the sampler's draw)
  //   real_xflip [batch]            1 where the item is a mirrored copy (derived)
  //   r<R>/real_img, r<R>/real_c    replica R's reals (minibatch positions R, R + gpus, ...; derived)
  //   r<R>/<phase>/z                [batch / gpus, z_dim], for each of Gmain, Greg, Dmain, Dreg
  //   r<R>/<phase>/c_item, c        conditional runs: the dataset items whose labels
  //                                 condition the fakes (f64), and those labels (derived)
  //   r<R>/<phase>/pass<P>/mix, mix_z, pl_noise, noise/<layer>
  //                                 the loss's draws in pass P (StyleGAN2Loss::run_mapping,
  //                                 g_pl) and the synthesis noise of each layer ("b8.conv0")
  // Replaying leaves the Philox generators and the sampler where they are.
  void set_draw_log(std::unique_ptr<DrawLog> log);
  DrawLog* draw_log() { return draws_.get(); }

  // Called for each phase that runs ("Gmain", "Greg", "Dmain", "Dreg") and
  // each replica, with the network the phase trains, once its gradients are
  // summed over the passes and averaged over the replicas and before they are
  // cleaned (nan_to_num) and Adam steps. For tests: the hook may read the
  // gradients or change them in place. Unset by default.
  using PhaseHook = std::function<void(const std::string& phase, int replica, Module& net)>;
  void set_phase_hook(PhaseHook hook) { phase_hook_ = std::move(hook); }

  // ADA (official training_loop.py): the augmentation pipe D's inputs go
  // through, or null without one (spec.aug "noaug", or "fixed" with p = 0,
  // as the official loop builds none then). Its p is the run's; with "ada"
  // it moves after every spec.ada_interval-th minibatch by
  // sign(mean real sign - ada_target) * batch * ada_interval / (ada_kimg *
  // 1000), floored at 0, in float32 as the official buffer.
  const AugmentPipe* augment_pipe() const { return augment_.get(); }
  float augment_p() const { return augment_ ? augment_->p : 0.0f; }
  void set_augment_p(float p);
  // The real signs gathered since the last adjustment, {sum, count} over all
  // replicas and processes (collective), for checkpoints; they stay counted.
  std::pair<double, int64_t> pending_real_signs();
  // A resumed interval's: counted once, in this process's first replica on rank 0.
  void add_pending_real_signs(double sum, int64_t count);

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
  // The minibatch's dataset items (the sampler's, or the log's).
  std::vector<int64_t> real_items();
  // The real signs of every replica and process since the last take: {sum, count} (collective).
  std::pair<double, int64_t> take_real_signs();
  // ADA's adjustment of p at the end of a minibatch (collective).
  void adjust_augment_p();
  // Labels for n generated images on replica x, or undefined when unconditional.
  Tensor gen_c(Replica& x, int64_t n);

  TrainerSetup setup_;
  const Dataset& ds_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  InfiniteSampler sampler_;  // one for the run: replica r takes minibatch positions r, r + gpus, ...
  int64_t cur_nimg_ = 0, batch_idx_ = 0;
  int first_ = 0;  // global index of replicas_[0]
  Communicator* dist() const { return setup_.comm && setup_.comm->world_size() > 1 ? setup_.comm.get() : nullptr; }
  std::unique_ptr<DrawLog> draws_;
  PhaseHook phase_hook_;
  std::unique_ptr<AugmentPipe> augment_;
};

}  // namespace gf
