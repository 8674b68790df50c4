#include "train/stylegan/trainer.h"

#include <cmath>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"
#include "models/pggan/config.h"
#include "train/ema.h"

namespace gf {
ScheduleSpec stylegan_v1_schedule() {
  ScheduleSpec s;
  s.lod_initial_resolution = 8;
  s.minibatch_base = 4;
  s.minibatch_dict = {{4, 128}, {8, 128}, {16, 128}, {32, 64}, {64, 32}, {128, 16}, {256, 8}, {512, 4}};
  s.G_lrate_dict = {{128, 0.0015}, {256, 0.002}, {512, 0.003}, {1024, 0.003}};
  s.D_lrate_dict = s.G_lrate_dict;
  s.tick_kimg_dict = {{4, 160}, {8, 140}, {16, 120}, {32, 100}, {64, 80}, {128, 60}, {256, 40}, {512, 30}, {1024, 20}};
  return s;
}

StyleGANTrainer::StyleGANTrainer(const StyleGANSpec& spec, const Dataset& ds, uint64_t seed, Device device)
    : spec_(spec), ds_(ds), device_(device), seed_(seed), rng_(seed), sampler_(ds.size(), seed) {
  const char* op = "StyleGANTrainer";
  auto& g = spec_.G_kwargs;
  auto& d = spec_.D_kwargs;
  g.resolution = d.resolution = ds.resolution();
  g.num_channels = d.num_channels = ds.channels();
  g.label_size = d.label_size = static_cast<int>(ds.c_dim());
  check_stylegan_spec(spec_);
  check_device_usable(device_);
  pggan::resolution_log2(g.resolution, op);
  GF_CHECK(spec_.sched.lod_initial_resolution <= g.resolution, op,
           "lod_initial_resolution " << spec_.sched.lod_initial_resolution << " exceeds the dataset's " << g.resolution);
  for (int r = 4; r <= g.resolution; r *= 2) {
    const int mb = schedule_minibatch(spec_.sched, r);
    const int group = d.mbstd_group_size > 1 ? std::min(d.mbstd_group_size, mb) : 1;
    GF_CHECK(mb >= 1 && mb % group == 0, op,
             "minibatch " << mb << " at " << r << "x" << r << " is not a multiple of the minibatch-stddev group " << group);
  }
  G_ = std::make_unique<stylegan::Generator>(g, seed);
  Gs_ = std::make_unique<stylegan::Generator>(g, seed);
  D_ = std::make_unique<stylegan::Discriminator>(d, seed + 1);
  Gs_->copy_from(*G_);
  G_->to(device_);
  Gs_->to(device_);
  D_->to(device_);
  Gs_->requires_grad_(false);
  const AdamOptions adam = tf_adam_options(spec_.adam_beta1, spec_.adam_beta2, spec_.adam_epsilon);
  G_opt_ = std::make_unique<Adam>(G_->named_parameters(), adam);
  D_opt_ = std::make_unique<Adam>(D_->named_parameters(), adam);
}

StyleGANTrainer::~StyleGANTrainer() = default;

double StyleGANTrainer::lod() const { return static_cast<float>(prev_lod_ >= 0 ? prev_lod_ : schedule().lod); }

void StyleGANTrainer::set_progress(int64_t cur_nimg, double prev_lod) {
  GF_CHECK(cur_nimg >= 0 && std::isfinite(prev_lod) && prev_lod >= -1, "StyleGANTrainer", "bad progress");
  cur_nimg_ = cur_nimg;
  prev_lod_ = prev_lod;
}

nlohmann::json to_json(const StyleGANSpec& s) {
  return {{"cfg", s.cfg},
          {"total_kimg", s.total_kimg},
          {"sched", to_json(s.sched)},
          {"G_smoothing_kimg", s.G_smoothing_kimg},
          {"D_repeats", s.D_repeats},
          {"minibatch_repeats", s.minibatch_repeats},
          {"reset_opt_for_new_lod", s.reset_opt_for_new_lod},
          {"r1_gamma", s.r1_gamma},
          {"mirror_augment", s.mirror_augment},
          {"adam_beta1", s.adam_beta1},
          {"adam_beta2", s.adam_beta2},
          {"adam_epsilon", s.adam_epsilon}};
}

StyleGANSpec stylegan_spec_from_json(const nlohmann::json& j) {
  StyleGANSpec s;
  using json = nlohmann::json;
  read_fields(j, "StyleGAN training spec",
              {{"cfg", [&](const json& v) { s.cfg = v.get<std::string>(); }},
               {"total_kimg", [&](const json& v) { s.total_kimg = v.get<double>(); }},
               {"sched", [&](const json& v) { s.sched = schedule_spec_from_json(v); }},
               {"G_smoothing_kimg", [&](const json& v) { s.G_smoothing_kimg = v.get<double>(); }},
               {"D_repeats", [&](const json& v) { s.D_repeats = io::json_int(v); }},
               {"minibatch_repeats", [&](const json& v) { s.minibatch_repeats = io::json_int(v); }},
               {"reset_opt_for_new_lod", [&](const json& v) { s.reset_opt_for_new_lod = v.get<bool>(); }},
               {"r1_gamma", [&](const json& v) { s.r1_gamma = v.get<double>(); }},
               {"mirror_augment", [&](const json& v) { s.mirror_augment = v.get<bool>(); }},
               {"adam_beta1", [&](const json& v) { s.adam_beta1 = v.get<double>(); }},
               {"adam_beta2", [&](const json& v) { s.adam_beta2 = v.get<double>(); }},
               {"adam_epsilon", [&](const json& v) { s.adam_epsilon = v.get<double>(); }}});
  check_stylegan_spec(s);  // a checkpoint's spec is checked as it is read, its file named by the caller
  return s;
}

void check_stylegan_spec(const StyleGANSpec& s) {
  // As check_pggan_spec: a D_repeats of 0 looped forever without a step, an
  // adam_beta2 of 1.5 trained NaN, both without a word.
  const char* op = "StyleGAN spec";
  GF_CHECK(std::isfinite(s.total_kimg) && s.total_kimg >= 0, op, "total_kimg must be finite and >= 0, got " << s.total_kimg);
  GF_CHECK(std::isfinite(s.G_smoothing_kimg) && s.G_smoothing_kimg >= 0, op,
           "G_smoothing_kimg must be finite and >= 0, got " << s.G_smoothing_kimg);
  GF_CHECK(s.D_repeats >= 1 && s.minibatch_repeats >= 1, op, "D_repeats and minibatch_repeats must be at least 1");
  GF_CHECK(std::isfinite(s.r1_gamma) && s.r1_gamma >= 0, op, "r1_gamma must be finite and >= 0, got " << s.r1_gamma);
  GF_CHECK(s.adam_beta1 >= 0 && s.adam_beta1 < 1 && s.adam_beta2 >= 0 && s.adam_beta2 < 1 && s.adam_epsilon > 0, op,
           "Adam betas must be in [0, 1) and epsilon > 0");
  check_schedule_spec(s.sched);
}

Schedule StyleGANTrainer::schedule() const {
  return training_schedule(cur_nimg_, pggan::resolution_log2(spec_.G_kwargs.resolution, "StyleGANTrainer"),
                           spec_.sched);
}

StyleGANStats StyleGANTrainer::take_stats() {
  StyleGANStats s = stats_;
  if (s.D_steps > 0) {
    s.D_loss /= s.D_steps;
    s.r1_penalty /= s.D_steps;
    s.scores_real /= s.D_steps;
    s.scores_fake /= s.D_steps;
  }
  if (s.G_steps > 0) s.G_loss /= s.G_steps;
  stats_ = StyleGANStats{};
  return s;
}

Tensor StyleGANTrainer::g_train(const Tensor& z, const Tensor& labels) {
  DrawLog* log = draws_.get();
  Tensor ws = G_->mapping(z, labels);
  if (spec_.G_kwargs.dlatent_avg_beta != 1) G_->update_dlatent_avg(ws);
  const int L = G_->num_layers();
  const int cur_layers = L - 2 * static_cast<int>(lod_);  // the official tf.cast(lod, int32): truncation
  if (spec_.G_kwargs.style_mixing_prob > 0) {
    auto uniform = [&](const char* name) {
      return logged_uniform(log, name, {1}, DType::f64, Device::cpu(), rng_).item();
    };
    const double u = uniform("mix_u");
    const Tensor z2 = logged_draw(log, "mix_z", z.shape(), z.dtype(), device_,
                                  [&] { return randn(z.shape(), rng_, z.dtype(), device_); });
    const double v = uniform("mix_v");
    if (u < spec_.G_kwargs.style_mixing_prob && cur_layers > 1) {
      const int cutoff = 1 + std::min(static_cast<int>(v * (cur_layers - 1)), cur_layers - 2);  // uniform in [1, cur_layers)
      ws = stylegan::mix_styles(ws, G_->mapping(z2, labels), cutoff);
    }
  }
  stylegan::SynthesisOptions so;
  so.noise_mode = NoiseMode::random;
  so.noise_gen = &rng_;
  if (log)
    so.noise_source = [this, log](const std::string& layer, const Shape& shape) {
      return log->draw("noise/" + layer, shape, DType::f32, device_,
                       [&] { return randn(shape, rng_, DType::f32, device_); });
    };
  return G_->synthesis(ws, lod_, so);
}

void StyleGANTrainer::d_step(const Schedule& s, const std::string& round, const std::string& name) {
  const int64_t mb = s.minibatch;
  DrawLog* log = draws_.get();
  if (log) log->set_scope(round + name + "/");
  const std::vector<int64_t> items = logged_items(log, "real_index", mb, ds_.size(), [&] { return sampler_.next_batch(mb); });
  std::vector<bool> flip;
  if (spec_.mirror_augment) {
    const Tensor u = logged_uniform(log, "mirror_u", {mb}, DType::f64, Device::cpu(), rng_);
    for (double v : u.to_vector()) flip.push_back(v >= 0.5);  // official: keep where u < 0.5
  }
  Tensor reals = progressive_reals(ds_, items, lod_, flip, device_);
  const Tensor labels = progressive_labels(ds_, items, device_);
  if (log) {
    log->derived("real_pixels", level_pixels(ds_, items, static_cast<int>(std::floor(lod_)), flip));
    if (labels.defined()) log->derived("real_c", labels.to(Device::cpu()));
  }
  const Tensor z = logged_draw(log, "z", {mb, spec_.G_kwargs.latent_size}, DType::f32, device_,
                               [&] { return randn({mb, spec_.G_kwargs.latent_size}, rng_, DType::f32, device_); });
  G_->requires_grad_(false);
  D_->requires_grad_(true);
  D_->zero_grad();
  Tensor fakes;
  {
    NoGradGuard ng;
    fakes = g_train(z, labels);
  }
  reals = reals.detach().requires_grad_();
  const Tensor real_scores = D_->forward(reals, labels, lod_);
  const Tensor fake_scores = D_->forward(fakes, labels, lod_);
  Tensor loss = add(softplus(fake_scores), softplus(neg(real_scores)));
  Tensor r1;
  if (spec_.r1_gamma != 0) {
    const Tensor g = grad({sum(real_scores)}, {reals}, {}, /*create_graph=*/true, /*retain_graph=*/true)[0];
    r1 = sum(square(g), {1, 2, 3});
    loss = add(loss.reshape({mb}), r1 * (spec_.r1_gamma * 0.5));
  }
  // The official loss is per sample; the optimizer takes the sum over the minibatch's mean.
  backward(mean(loss));
  if (step_hook_) step_hook_(name, *D_);
  if (finite_grads(*D_))
    D_opt_->step();
  else
    ++stats_.D_skipped;
  D_->zero_grad();
  NoGradGuard ng;
  stats_.D_loss += mean(loss).item();
  stats_.r1_penalty += r1.defined() ? mean(r1).item() : 0;
  stats_.scores_real += mean(real_scores).item();
  stats_.scores_fake += mean(fake_scores).item();
  ++stats_.D_steps;
}

void StyleGANTrainer::g_step(const Schedule& s, const std::string& round, const std::string& name) {
  const int64_t mb = s.minibatch;
  DrawLog* log = draws_.get();
  if (log) log->set_scope(round + name + "/");
  const Tensor z = logged_draw(log, "z", {mb, spec_.G_kwargs.latent_size}, DType::f32, device_,
                               [&] { return randn({mb, spec_.G_kwargs.latent_size}, rng_, DType::f32, device_); });
  const Tensor labels = logged_labels(log, ds_, mb, rng_, device_);
  D_->requires_grad_(false);
  G_->requires_grad_(true);
  G_->zero_grad();
  const Tensor loss = softplus(neg(D_->forward(g_train(z, labels), labels, lod_)));
  backward(mean(loss));
  if (step_hook_) step_hook_(name, *G_);
  if (finite_grads(*G_))
    G_opt_->step();
  else
    ++stats_.G_skipped;
  G_->zero_grad();
  NoGradGuard ng;
  stats_.G_loss += mean(loss).item();
  ++stats_.G_steps;
}

void StyleGANTrainer::step() {
  const Schedule s = schedule();
  const int64_t round = cur_nimg_;  // the draw log's "mb<K>"
  if (spec_.reset_opt_for_new_lod &&
      (std::floor(s.lod) != std::floor(prev_lod_) || std::ceil(s.lod) != std::ceil(prev_lod_))) {
    G_opt_->reset();
    D_opt_->reset();
  }
  prev_lod_ = s.lod;
  last_ = s;
  ran_ = true;
  lod_ = static_cast<float>(s.lod);  // the official float32 lod variable
  G_->set_lod(lod_);
  D_->set_lod(lod_);
  Gs_->set_lod(lod_);
  G_opt_->options().lr = s.G_lrate;
  D_opt_->options().lr = s.D_lrate;
  // The official Gs_beta: 0.5 ** (float32(minibatch) / (G_smoothing_kimg * 1000)), in float32.
  const float beta = spec_.G_smoothing_kimg > 0
                         ? std::pow(0.5f, static_cast<float>(s.minibatch) / static_cast<float>(spec_.G_smoothing_kimg * 1000.0))
                         : 0.0f;
  const std::string mb = "mb" + std::to_string(round) + "/";
  for (int r = 0; r < spec_.minibatch_repeats; ++r) {
    const std::string rep = "rep" + std::to_string(r) + "/";
    for (int k = 0; k < spec_.D_repeats; ++k) {
      d_step(s, mb, rep + "D" + std::to_string(k));
      ema_update(*Gs_, *G_, beta);
      cur_nimg_ += s.minibatch;
    }
    g_step(s, mb, rep + "G");
  }
  if (draws_) draws_->end_minibatch(round);
}

}  // namespace gf
