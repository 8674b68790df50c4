// One StyleGAN (v1) training run's state and its step, as NVlabs/stylegan's
// training_loop.py and loss.py define them: G, D and Gs (G_ema: the
// exponential average with a half-life of G_smoothing_kimg), Adam (0, 0.99,
// 1e-8, TensorFlow's epsilon placement, reset when the lod enters or leaves
// a fade), the progressive schedule (train/progressive.h) with StyleGAN's
// presets, one Philox stream for every random draw, and the data sampler.
//
// Losses (official loss.py): G_logistic_nonsaturating, softplus(-D(G(z)));
// D_logistic_simplegp, softplus(D(G(z))) + softplus(-D(x)) + R1 with
// r1_gamma / 2 * |dD(x)/dx|^2, every D step (no lazy regularization in v1).
// G runs in training mode in both: dlatent_avg updated from the minibatch's
// w (beta 0.995), style mixing with probability style_mixing_prob and a
// crossover drawn in [1, num_layers - 2 floor(lod)), random noise, no
// truncation. One step is the official round: with the schedule at the
// current image count, minibatch_repeats times: D_repeats times (a D step,
// Gs updated, images counted), then a G step. A step whose gradients hold a
// NaN or an infinity is skipped, as the official optimizer (dnnlib.tflib)
// skips it. Gs takes G's buffers (dlatent_avg) after the D step's update:
// the official session runs D_train_op and Gs_update_op together, in no set
// order; we take the later value.
// Random draws per D step, in order: the real items (the sampler), mirror
// flips, latents, the mixing draw (uniform, second latents, crossover
// uniform), the noise; per G step: latents, labels, mixing, noise.
// set_draw_log records or replays them.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/ops.h"
#include "models/stylegan/networks.h"
#include "train/adam.h"
#include "data/dataset.h"
#include "data/infinite_sampler.h"
#include "train/draw_log.h"
#include "train/progressive.h"

namespace gf {

struct StyleGANSpec {
  std::string cfg;            // the preset it came from (names the run folder; kept by a checkpoint)
  double total_kimg = 25000;  // the run's length, unless --kimg says otherwise
  ScheduleSpec sched;  // StyleGAN's presets: see stylegan_v1_schedule()
  double G_smoothing_kimg = 10;
  int D_repeats = 1;
  int minibatch_repeats = 4;
  bool reset_opt_for_new_lod = true;
  double r1_gamma = 10;
  bool mirror_augment = false;
  double adam_beta1 = 0, adam_beta2 = 0.99, adam_epsilon = 1e-8;
  stylegan::GeneratorConfig G_kwargs;      // resolution, channels, labels: from the dataset
  stylegan::DiscriminatorConfig D_kwargs;
};

// The official train.py schedule for one GPU: start at 8x8, learning rate
// 0.0015 at 128, 0.002 at 256, 0.003 from 512; minibatch 128 up to 16x16,
// then 64, 32, 16, 8, 4 (sched.minibatch_dict of '-1gpu').
ScheduleSpec stylegan_v1_schedule();

// The spec's training options (not the networks' configs) as JSON and back;
// reading throws gf::Error naming an unknown key.
nlohmann::json to_json(const StyleGANSpec& s);
StyleGANSpec stylegan_spec_from_json(const nlohmann::json& j);
// Throws gf::Error ("StyleGAN spec: ...") for values no run can train with:
// repeats < 1, Adam betas outside [0, 1) or epsilon <= 0, a negative or
// non-finite length, smoothing or R1 weight, and check_schedule_spec's.
void check_stylegan_spec(const StyleGANSpec& s);

struct StyleGANStats {
  double G_loss = 0, D_loss = 0, r1_penalty = 0, scores_real = 0, scores_fake = 0;
  int64_t G_steps = 0, D_steps = 0;
  int64_t G_skipped = 0, D_skipped = 0;  // steps skipped for non-finite gradients
};

class StyleGANTrainer {
 public:
  StyleGANTrainer(const StyleGANSpec& spec, const Dataset& ds, uint64_t seed, Device device);
  ~StyleGANTrainer();

  void step();  // one round (see above)

  Schedule schedule() const;
  // The schedule the last round ran with; schedule() before the first round.
  Schedule last_schedule() const { return ran_ ? last_ : schedule(); }
  int64_t cur_nimg() const { return cur_nimg_; }
  StyleGANStats take_stats();

  stylegan::Generator& G() { return *G_; }
  stylegan::Generator& Gs() { return *Gs_; }
  stylegan::Discriminator& D() { return *D_; }
  const StyleGANSpec& spec() const { return spec_; }
  const Dataset& dataset() const { return ds_; }
  Device device() const { return device_; }
  uint64_t seed() const { return seed_; }
  double prev_lod() const { return prev_lod_; }
  double lod() const;  // the network lod (float32) of the last round, or of the next before the first
  Adam& G_opt() { return *G_opt_; }
  Adam& D_opt() { return *D_opt_; }
  Generator& rng() { return rng_; }
  InfiniteSampler& sampler() { return sampler_; }
  // Restores the progress (a checkpoint): the image count and the last round's lod.
  void set_progress(int64_t cur_nimg, double prev_lod);

  // Records every random draw of the following rounds, or replays them from a
  // log (train/draw_log.h); null turns it off (the default). A round is one
  // step(); its names start "mb<K>/" with K the image count at its start,
  // then "rep<i>/" for minibatch repeat i and "D<k>/" for its D step k or "G/":
  //   D<k>/real_index [mb]      dataset items (f64; the sampler's draw)
  //   D<k>/mirror_u [mb]        with mirror_augment: uniforms, flipped where >= 0.5 (f64)
  //   D<k>/real_pixels          the items' level floor(lod) images after the
  //                             mirror, 0..255 (f64 [mb, C, r, r]; derived)
  //   D<k>/real_c               labelled data: the items' one-hot labels (derived)
  //   G/c_item, G/c             labelled data: the items whose labels condition
  //                             G's fakes (f64), and those labels (derived)
  //   D<k>/ and G/ both:
  //     z [mb, latent_size]     the fakes' latents
  //     mix_u [1]               with style_mixing_prob > 0: mixing when < the probability (f64)
  //     mix_z [mb, latent_size] the second latents (drawn whether or not used)
  //     mix_v [1]               the crossover: 1 + floor(mix_v (cur_layers - 1)) (f64)
  //     noise/noise<i> [mb, 1, r, r]  the random noise of each synthesis layer that runs
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
  // G in training mode: ws with dlatent_avg updated and styles mixed, then the synthesis.
  Tensor g_train(const Tensor& z, const Tensor& labels);
  // name: "rep<i>/D<k>" or "rep<i>/G" (the draw log's, under the round's "mb<K>/").
  void d_step(const Schedule& s, const std::string& round, const std::string& name);
  void g_step(const Schedule& s, const std::string& round, const std::string& name);

  StyleGANSpec spec_;
  const Dataset& ds_;
  Device device_;
  uint64_t seed_;
  std::unique_ptr<stylegan::Generator> G_, Gs_;
  std::unique_ptr<stylegan::Discriminator> D_;
  std::unique_ptr<Adam> G_opt_, D_opt_;
  Generator rng_;
  InfiniteSampler sampler_;
  int64_t cur_nimg_ = 0;
  double prev_lod_ = -1, lod_ = 0;
  Schedule last_;
  bool ran_ = false;
  StyleGANStats stats_;
  std::unique_ptr<DrawLog> draws_;
  StepHook step_hook_;
};

}  // namespace gf
