// One PGGAN training run's state and its step, as the official
// train_progressive_gan keeps them: G, D and Gs (stored as G_ema, its
// exponential average), the two Adams (TensorFlow's epsilon placement, reset
// whenever the lod enters or leaves a fade), the schedule state, one Philox
// stream for every random draw and the data sampler. The tick loop is
// train/training_loop.h (through PGGANRun, train/pggan/training_loop.h);
// saving and restoring all of it is train/pggan/checkpoint.h.
//
// One step is the official round between schedule evaluations: with the
// schedule at the current image count (lod, minibatch, learning rates), and
// the optimizers reset if floor(lod) or ceil(lod) changed since the last
// round, minibatch_repeats times: D_repeats times (a D step, then Gs updated
// from G, then the images counted), and a G step. A step whose gradients hold
// a NaN or an infinity is skipped, as the official optimizer does.
// Random draws per D step, in order: the real items (the sampler), the mirror
// flips (with mirror_augment), latents, mixing factors; per G step: latents,
// then labels (labelled data). set_draw_log records or replays them.
// Single device: the multi-GPU presets run their whole minibatch on it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/ops.h"
#include "models/pggan/networks.h"
#include "train/adam.h"
#include "data/dataset.h"
#include "data/infinite_sampler.h"
#include "train/draw_log.h"
#include "train/pggan/configs.h"
#include "train/pggan/loss.h"

namespace gf {

struct PGGANSetup {
  PGGANSpec spec;
  pggan::GeneratorConfig G_kwargs;
  pggan::DiscriminatorConfig D_kwargs;
  uint64_t seed = 0;
  Device device = Device::cpu();
};

// The network configs the spec gives for a dataset (resolution, channels, labels).
PGGANSetup make_pggan_setup(const PGGANSpec& spec, const Dataset& ds, uint64_t seed, Device device);

struct PGGANStats {
  PGGANLossStats loss;
  int64_t G_skipped = 0, D_skipped = 0;  // steps skipped for non-finite gradients since the last take
};

class PGGANTrainer {
 public:
  // Networks initialized from the seed (G from seed, D from seed + 1, Gs a
  // copy of G); the dataset must outlive the trainer and match the configs.
  PGGANTrainer(const PGGANSetup& setup, const Dataset& ds);
  ~PGGANTrainer();

  void step();  // one round (see above)

  // The schedule at the current image count, and the lod the networks run at
  // (the schedule's, rounded to float32 as the official lod variable holds it).
  Schedule schedule() const;
  // The schedule the last round ran with (the official loop reports it and
  // times its ticks by it); schedule() before the first round.
  Schedule last_schedule() const { return ran_ ? last_ : schedule(); }
  static double network_lod(const Schedule& s) { return static_cast<float>(s.lod); }

  const PGGANSetup& setup() const { return setup_; }
  const PGGANSpec& spec() const { return setup_.spec; }
  const Dataset& dataset() const { return ds_; }
  int64_t cur_nimg() const { return cur_nimg_; }
  double prev_lod() const { return prev_lod_; }  // the lod of the last round (-1 before the first)
  PGGANStats take_stats();

  pggan::Generator& G() { return *G_; }
  pggan::Generator& Gs() { return *Gs_; }
  pggan::Discriminator& D() { return *D_; }
  Adam& G_opt() { return *G_opt_; }
  Adam& D_opt() { return *D_opt_; }
  Generator& rng() { return rng_; }
  InfiniteSampler& sampler() { return sampler_; }

  // Restores the progress (train/pggan/checkpoint.cpp).
  void set_progress(int64_t cur_nimg, double prev_lod);

  // Records every random draw of the following rounds, or replays them from a
  // log (train/draw_log.h); null turns it off (the default). A round is one
  // step(); the official loop counts images, not minibatches, so its names
  // start "mb<K>/" with K the image count at the round's start (cur_nimg),
  // then "rep<i>/" for minibatch repeat i and "D<k>/" for its D step k or "G/":
  //   D<k>/real_index [mb]      dataset items (f64; the sampler's draw)
  //   D<k>/mirror_u [mb]        with mirror_augment: uniforms, flipped where >= 0.5 (f64)
  //   D<k>/real_pixels          the items' level floor(lod) images after the
  //                             mirror, 0..255 (f64 [mb, C, r, r]; derived)
  //   D<k>/real_c               labelled data: the items' one-hot labels (derived)
  //   D<k>/z [mb, latent_size]  the fakes' latents (they take the reals' labels)
  //   D<k>/gp_eps [mb, 1, 1, 1] WGAN-GP's per-sample interpolation weights
  //   G/z [mb, latent_size]
  //   G/c_item, G/c             labelled data: the items whose labels condition
  //                             the fakes (f64), and those labels (derived)
  // Replaying leaves the Philox stream and the sampler where they are.
  void set_draw_log(std::unique_ptr<DrawLog> log) { draws_ = std::move(log); }
  DrawLog* draw_log() { return draws_.get(); }

  // Called after each D and G step's backward pass, before the finite check
  // and Adam, with the step's name ("rep0/D0", "rep0/G": the draw log's) and
  // the network it trains. For tests: the hook may read the gradients or
  // change them in place. Unset by default.
  using StepHook = std::function<void(const std::string& step, Module& net)>;
  void set_step_hook(StepHook hook) { step_hook_ = std::move(hook); }

 private:
  // round: the draw log's "mb<K>/"; name: "rep<i>/D<k>" or "rep<i>/G".
  void d_step(const Schedule& s, double lod, const std::string& round, const std::string& name);
  void g_step(const Schedule& s, const std::string& round, const std::string& name);

  PGGANSetup setup_;
  const Dataset& ds_;
  std::unique_ptr<pggan::Generator> G_, Gs_;
  std::unique_ptr<pggan::Discriminator> D_;
  std::unique_ptr<Adam> G_opt_, D_opt_;
  std::unique_ptr<PGGANLoss> loss_;
  Generator rng_;
  InfiniteSampler sampler_;
  int64_t cur_nimg_ = 0;
  double prev_lod_ = -1;
  double lod_ = 0;  // the current round's network lod
  Schedule last_;
  bool ran_ = false;
  int64_t G_skipped_ = 0, D_skipped_ = 0;
  std::unique_ptr<DrawLog> draws_;
  StepHook step_hook_;
};

}  // namespace gf
