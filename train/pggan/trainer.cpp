#include "train/pggan/trainer.h"

#include <cmath>

#include "engine/error.h"
#include "train/ema.h"
#include "train/progressive.h"

namespace gf {
PGGANSetup make_pggan_setup(const PGGANSpec& spec, const Dataset& ds, uint64_t seed, Device device) {
  PGGANSetup s;
  s.spec = spec;
  s.seed = seed;
  s.device = device;
  auto& g = s.G_kwargs;
  g.num_channels = ds.channels();
  g.resolution = ds.resolution();
  g.label_size = static_cast<int>(ds.c_dim());
  g.fmap_base = spec.fmap_base;
  g.fmap_decay = spec.fmap_decay;
  g.fmap_max = spec.fmap_max;
  g.latent_size = spec.latent_size;
  g.fused_scale = spec.fused_scale;
  auto& d = s.D_kwargs;
  d.num_channels = g.num_channels;
  d.resolution = g.resolution;
  d.label_size = g.label_size;
  d.fmap_base = spec.fmap_base;
  d.fmap_decay = spec.fmap_decay;
  d.fmap_max = spec.fmap_max;
  d.mbstd_group_size = spec.mbstd_group_size;
  d.fused_scale = spec.fused_scale;
  return s;
}

PGGANTrainer::PGGANTrainer(const PGGANSetup& setup, const Dataset& ds)
    : setup_(setup), ds_(ds), rng_(setup.seed), sampler_(ds.size(), setup.seed) {
  const char* op = "PGGANTrainer";
  const auto& g = setup_.G_kwargs;
  const auto& d = setup_.D_kwargs;
  GF_CHECK(g.resolution == ds.resolution() && g.num_channels == ds.channels() && g.label_size == ds.c_dim() &&
               d.resolution == g.resolution && d.num_channels == g.num_channels && d.label_size == g.label_size,
           op, "the networks (" << g.resolution << "x" << g.resolution << "x" << g.num_channels << ", " << g.label_size
                                << " labels) do not match the dataset (" << ds.resolution() << "x" << ds.resolution()
                                << "x" << ds.channels() << ", " << ds.c_dim() << " labels)");
  check_pggan_spec(setup_.spec);
  check_device_usable(setup_.device);
  pggan::resolution_log2(g.resolution, op);
  GF_CHECK(setup_.spec.sched.lod_initial_resolution <= g.resolution, op,
           "lod_initial_resolution " << setup_.spec.sched.lod_initial_resolution << " exceeds the dataset's "
                                     << g.resolution);
  // Every minibatch the schedule can choose must fill whole minibatch-stddev groups.
  for (int r = 4; r <= g.resolution; r *= 2) {
    const int mb = schedule_minibatch(setup_.spec.sched, r);
    const int group = d.mbstd_group_size > 1 ? std::min(d.mbstd_group_size, mb) : 1;
    GF_CHECK(mb >= 1 && mb % group == 0, op,
             "minibatch " << mb << " at " << r << "x" << r << " is not a multiple of the minibatch-stddev group " << group);
  }
  G_ = std::make_unique<pggan::Generator>(g, setup_.seed);
  Gs_ = std::make_unique<pggan::Generator>(g, setup_.seed);
  D_ = std::make_unique<pggan::Discriminator>(d, setup_.seed + 1);
  Gs_->copy_from(*G_);
  G_->to(setup_.device);
  Gs_->to(setup_.device);
  D_->to(setup_.device);
  Gs_->requires_grad_(false);
  const AdamOptions adam = tf_adam_options(setup_.spec.adam_beta1, setup_.spec.adam_beta2, setup_.spec.adam_epsilon);
  G_opt_ = std::make_unique<Adam>(G_->named_parameters(), adam);
  D_opt_ = std::make_unique<Adam>(D_->named_parameters(), adam);
  PGGANLossOptions lo;
  lo.wgan_lambda = setup_.spec.wgan_lambda;
  lo.wgan_epsilon = setup_.spec.wgan_epsilon;
  lo.wgan_target = setup_.spec.wgan_target;
  lo.cond_weight = setup_.spec.cond_weight;
  loss_ = std::make_unique<PGGANLoss>(
      PGGANLossNetworks{[this](const Tensor& z, const Tensor& c) { return G_->forward(z, c, lod_); },
                        [this](const Tensor& img) { return D_->forward(img, lod_); }},
      lo);
}

PGGANTrainer::~PGGANTrainer() = default;

Schedule PGGANTrainer::schedule() const {
  return training_schedule(cur_nimg_, pggan::resolution_log2(setup_.G_kwargs.resolution, "PGGANTrainer"),
                           setup_.spec.sched);
}

PGGANStats PGGANTrainer::take_stats() {
  PGGANStats s;
  s.loss = loss_->take_stats();
  s.G_skipped = G_skipped_;
  s.D_skipped = D_skipped_;
  G_skipped_ = D_skipped_ = 0;
  return s;
}

void PGGANTrainer::set_progress(int64_t cur_nimg, double prev_lod) {
  GF_CHECK(cur_nimg >= 0 && std::isfinite(prev_lod) && prev_lod >= -1, "PGGANTrainer", "bad progress");
  cur_nimg_ = cur_nimg;
  prev_lod_ = prev_lod;
}

void PGGANTrainer::d_step(const Schedule& s, double lod, const std::string& round, const std::string& name) {
  const Device dev = setup_.device;
  const int64_t mb = s.minibatch;
  DrawLog* log = draws_.get();
  if (log) log->set_scope(round + name + "/");
  const std::vector<int64_t> items = logged_items(log, "real_index", mb, ds_.size(), [&] { return sampler_.next_batch(mb); });
  std::vector<bool> flip;
  if (setup_.spec.mirror_augment) {
    const Tensor u = logged_uniform(log, "mirror_u", {mb}, DType::f64, Device::cpu(), rng_);
    for (double v : u.to_vector()) flip.push_back(v >= 0.5);  // official: keep where u < 0.5
  }
  const Tensor reals = progressive_reals(ds_, items, lod, flip, dev);
  const Tensor labels = progressive_labels(ds_, items, dev);
  if (log) {
    log->derived("real_pixels", level_pixels(ds_, items, static_cast<int>(std::floor(lod)), flip));
    if (labels.defined()) log->derived("real_c", labels.to(Device::cpu()));
  }
  const Tensor latents = logged_draw(log, "z", {mb, G_->latent_size()}, DType::f32, dev,
                                     [&] { return randn({mb, G_->latent_size()}, rng_, DType::f32, dev); });
  const Tensor mixing = logged_uniform(log, "gp_eps", {mb, 1, 1, 1}, DType::f32, dev, rng_);
  G_->requires_grad_(false);
  D_->requires_grad_(true);
  D_->zero_grad();
  backward(loss_->d_loss(reals, labels, latents, mixing));
  if (step_hook_) step_hook_(name, *D_);
  if (finite_grads(*D_))
    D_opt_->step();
  else
    ++D_skipped_;
  D_->zero_grad();
}

void PGGANTrainer::g_step(const Schedule& s, const std::string& round, const std::string& name) {
  const Device dev = setup_.device;
  const int64_t mb = s.minibatch;
  DrawLog* log = draws_.get();
  if (log) log->set_scope(round + name + "/");
  const Tensor latents = logged_draw(log, "z", {mb, G_->latent_size()}, DType::f32, dev,
                                     [&] { return randn({mb, G_->latent_size()}, rng_, DType::f32, dev); });
  const Tensor labels = logged_labels(log, ds_, mb, rng_, dev);
  D_->requires_grad_(false);
  G_->requires_grad_(true);
  G_->zero_grad();
  backward(loss_->g_loss(latents, labels));
  if (step_hook_) step_hook_(name, *G_);
  if (finite_grads(*G_))
    G_opt_->step();
  else
    ++G_skipped_;
  G_->zero_grad();
}

void PGGANTrainer::step() {
  const PGGANSpec& spec = setup_.spec;
  const Schedule s = schedule();
  const int64_t round = cur_nimg_;  // the draw log's "mb<K>"
  // New layers come in (or finish fading in): the optimizers start afresh.
  if (spec.reset_opt_for_new_lod &&
      (std::floor(s.lod) != std::floor(prev_lod_) || std::ceil(s.lod) != std::ceil(prev_lod_))) {
    G_opt_->reset();
    D_opt_->reset();
  }
  prev_lod_ = s.lod;
  last_ = s;
  ran_ = true;
  lod_ = network_lod(s);
  G_->set_lod(lod_);
  D_->set_lod(lod_);
  G_opt_->options().lr = s.G_lrate;
  D_opt_->options().lr = s.D_lrate;
  const std::string mb = "mb" + std::to_string(round) + "/";
  for (int r = 0; r < spec.minibatch_repeats; ++r) {
    const std::string rep = "rep" + std::to_string(r) + "/";
    for (int k = 0; k < spec.D_repeats; ++k) {
      d_step(s, lod_, mb, rep + "D" + std::to_string(k));
      ema_update(*Gs_, *G_, spec.G_smoothing);
      cur_nimg_ += s.minibatch;
    }
    g_step(s, mb, rep + "G");
  }
  if (draws_) draws_->end_minibatch(round);
}

}  // namespace gf
