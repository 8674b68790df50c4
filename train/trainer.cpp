#include "train/trainer.h"

#include <cmath>

#include "engine/error.h"
#include "train/ema.h"

namespace gf {

using stylegan2::SynthesisOptions;

namespace {

// One phase's update: the gradient of `loss` (net's gradients cleared first),
// then, as the official loop, misc.nan_to_num on every gradient, so one bad
// minibatch cannot poison the weights, Adam's moments and G_ema for good,
// then the optimizer's step.
void update(Module& net, Adam& opt, const Tensor& loss) {
  net.zero_grad();
  backward(loss);
  for (const auto& [name, p] : net.named_parameters()) {
    Tensor g = p.grad();
    if (g.defined()) g.copy_(nan_to_num(g));
  }
  opt.step();
}

}  // namespace

TrainerSetup make_trainer_setup(const TrainSpec& spec, const Dataset& ds, uint64_t seed, Device device) {
  TrainerSetup s;
  s.spec = spec;
  s.seed = seed;
  s.device = device;
  auto& gc = s.G_kwargs;
  gc.z_dim = spec.z_dim;
  gc.w_dim = spec.w_dim;
  gc.c_dim = static_cast<int>(ds.c_dim());
  gc.img_resolution = ds.resolution();
  gc.img_channels = ds.channels();
  gc.mapping_layers = spec.mapping_layers;
  gc.channel_base = spec.channel_base;
  gc.channel_max = spec.channel_max;
  if (spec.conv_clamp > 0) gc.conv_clamp = spec.conv_clamp;
  auto& dc = s.D_kwargs;
  dc.c_dim = gc.c_dim;
  dc.img_resolution = gc.img_resolution;
  dc.img_channels = gc.img_channels;
  dc.channel_base = spec.channel_base;
  dc.channel_max = spec.channel_max;
  dc.conv_clamp = gc.conv_clamp;
  dc.mbstd_group_size = spec.mbstd_group;
  return s;
}

AdamOptions lazy_adam(double lr, int interval) {
  const double r = static_cast<double>(interval) / (interval + 1);
  AdamOptions o;
  o.lr = lr * r;
  o.beta1 = std::pow(0.0, r);
  o.beta2 = std::pow(0.99, r);
  o.eps = 1e-8;
  return o;
}

StyleGAN2Trainer::StyleGAN2Trainer(const TrainerSetup& setup, const Dataset& ds)
    : setup_(setup), ds_(ds), rng_(setup.seed), sampler_(ds.size(), setup.seed) {
  const TrainSpec& spec = setup_.spec;
  const auto& gc = setup_.G_kwargs;
  const auto& dc = setup_.D_kwargs;
  const char* op = "StyleGAN2Trainer";
  GF_CHECK(gc.img_resolution == ds.resolution() && gc.img_channels == ds.channels() && gc.c_dim == ds.c_dim() &&
               dc.img_resolution == gc.img_resolution && dc.img_channels == gc.img_channels && dc.c_dim == gc.c_dim,
           op, "the networks (" << gc.img_resolution << "x" << gc.img_resolution << "x" << gc.img_channels << ", "
                                << gc.c_dim << " labels) do not match the dataset (" << ds.resolution() << "x"
                                << ds.resolution() << "x" << ds.channels() << ", " << ds.c_dim() << " labels)");
  check_train_spec(spec);
  const int group = dc.mbstd_group_size > 0 ? dc.mbstd_group_size : spec.batch;
  GF_CHECK(spec.batch % std::min(group, spec.batch) == 0, op,
           "batch " << spec.batch << " must be a multiple of the minibatch-stddev group " << group);
  G_ = std::make_unique<stylegan2::Generator>(gc, setup_.seed);
  G_ema_ = std::make_unique<stylegan2::Generator>(gc, setup_.seed);
  D_ = std::make_unique<stylegan2::Discriminator>(dc, setup_.seed + 1);
  G_ema_->copy_from(*G_);
  G_->to(setup_.device);
  G_ema_->to(setup_.device);
  D_->to(setup_.device);
  G_ema_->requires_grad_(false);
  G_opt_ = std::make_unique<Adam>(G_->named_parameters(), lazy_adam(spec.lrate, spec.g_reg_interval));
  D_opt_ = std::make_unique<Adam>(D_->named_parameters(), lazy_adam(spec.lrate, spec.d_reg_interval));

  LossOptions lopt;
  lopt.r1_gamma = spec.gamma;
  lopt.style_mixing_prob = spec.style_mixing;
  lopt.pl_weight = spec.pl_weight;
  LossNetworks nets{
      [this](const Tensor& z, const Tensor& c, bool update) { return G_->mapping.forward(z, c, 1, std::nullopt, update); },
      [this](const Tensor& ws) {
        SynthesisOptions so;
        so.noise_mode = NoiseMode::random;
        so.noise_gen = &rng_;
        return G_->synthesis.forward(ws, so);
      },
      [this](const Tensor& img, const Tensor& c) { return D_->forward(img, c); }};
  loss_ = std::make_unique<StyleGAN2Loss>(nets, lopt, rng_);
}

Tensor StyleGAN2Trainer::sample_gen_c() {
  if (ds_.c_dim() == 0) return Tensor();
  const int64_t n = setup_.spec.batch;
  const std::vector<double> u = rand({n}, rng_, DType::f64).to_vector();
  std::vector<double> onehot(static_cast<size_t>(n * ds_.c_dim()), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t item = std::min(static_cast<int64_t>(u[static_cast<size_t>(i)] * ds_.size()), ds_.size() - 1);
    onehot[static_cast<size_t>(i * ds_.c_dim() + ds_.label(item))] = 1;
  }
  return Tensor::from_vector(onehot, {n, ds_.c_dim()}, DType::f32, setup_.device);
}

void StyleGAN2Trainer::step() {
  const TrainSpec& spec = setup_.spec;
  const Device dev = setup_.device;
  const Dataset::Batch real = ds_.batch(sampler_.next_batch(spec.batch), dev);
  const Tensor real_c = ds_.c_dim() > 0 ? real.labels : Tensor();
  // As the official loop: a fresh z and gen_c for each of the four phases,
  // drawn whether or not a regularization phase runs this minibatch.
  struct PhaseInput {
    Tensor z, c;
  } in[4];
  for (auto& p : in) {
    p.z = randn({spec.batch, setup_.G_kwargs.z_dim}, rng_, DType::f32, dev);
    p.c = sample_gen_c();
  }

  // G phases: D's weights get no gradient.
  D_->requires_grad_(false);
  G_->requires_grad_(true);
  update(*G_, *G_opt_, loss_->g_main(in[0].z, in[0].c, 1.0));
  if (spec.pl_weight > 0 && batch_idx_ % spec.g_reg_interval == 0)
    update(*G_, *G_opt_, loss_->g_pl(in[1].z, in[1].c, spec.g_reg_interval));
  // D phases.
  G_->requires_grad_(false);
  D_->requires_grad_(true);
  update(*D_, *D_opt_, loss_->d_main(real.images, real_c, in[2].z, in[2].c, 1.0));
  if (spec.gamma > 0 && batch_idx_ % spec.d_reg_interval == 0)
    update(*D_, *D_opt_, loss_->d_r1(real.images, real_c, spec.d_reg_interval));
  D_->zero_grad();
  G_->zero_grad();

  // The official loop updates G_ema before counting this minibatch's images.
  const std::optional<double> rampup = spec.ema_rampup > 0 ? std::optional<double>(spec.ema_rampup) : std::nullopt;
  ema_update(*G_ema_, *G_, ema_beta(spec.ema_kimg, rampup, cur_nimg_, spec.batch));
  cur_nimg_ += spec.batch;
  ++batch_idx_;
}

void StyleGAN2Trainer::set_progress(int64_t cur_nimg, int64_t batch_idx, double pl_mean) {
  GF_CHECK(cur_nimg >= 0 && batch_idx >= 0, "StyleGAN2Trainer", "negative progress");
  cur_nimg_ = cur_nimg;
  batch_idx_ = batch_idx;
  loss_->set_pl_mean(pl_mean);
}

}  // namespace gf
