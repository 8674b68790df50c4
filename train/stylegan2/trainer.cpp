#include "train/stylegan2/trainer.h"

#include <cmath>

#include "engine/collective.h"
#include "engine/error.h"
#include "engine/profile.h"
#include "train/ema.h"

namespace gf {

using stylegan2::SynthesisOptions;

namespace {

// Every gradient of a module's parameters that the last backward formed.
std::vector<Tensor> grads_of(const Module& net) {
  std::vector<Tensor> g;
  net.for_each_tensor(true, [&g](Tensor& p) {
    if (p.grad().defined()) g.push_back(p.grad());
  });
  return g;
}

// Rows [k * pass, (k + 1) * pass) of x: x itself when that is all of it (or x is undefined).
Tensor rows(const Tensor& x, int64_t k, int64_t pass) {
  return x.defined() && x.size(0) != pass ? slice(x, 0, k * pass, (k + 1) * pass) : x;
}

const char* const kPhaseNames[] = {"Gmain", "Greg", "Dmain", "Dreg"};

}  // namespace

// One device's share of the run.
struct StyleGAN2Trainer::Replica {
  Device device;
  std::unique_ptr<stylegan2::Generator> G, G_ema;
  std::unique_ptr<stylegan2::Discriminator> D;
  std::unique_ptr<Adam> G_opt, D_opt;
  Generator rng;
  std::unique_ptr<StyleGAN2Loss> loss;
};

// One replica's inputs for a minibatch: its real images and labels, and per
// phase a z and gen_c, each batch / gpus rows.
struct StyleGAN2Trainer::PhaseData {
  Tensor real, real_c;
  Tensor z[4], c[4];
};

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
  // train.py's cifar config: D without residual skip connections.
  if (spec.cfg == "cifar") dc.architecture = stylegan2::DiscriminatorArchitecture::orig;
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

namespace {
// The devices of this process's replicas: those given, or consecutive ones from the setup's device.
std::vector<Device> replica_devices(const TrainerSetup& setup) {
  if (!setup.replica_devices.empty()) return setup.replica_devices;
  const int world = setup.comm ? setup.comm->world_size() : 1;
  std::vector<Device> devices;
  for (int r = 0; r < setup.spec.gpus / world; ++r)
    devices.push_back(setup.device.is_cuda() ? Device::cuda(setup.device.index + r) : setup.device);
  return devices;
}
}  // namespace

void StyleGAN2Trainer::check_setup(const TrainerSetup& setup, const Dataset& ds) {
  const TrainSpec& spec = setup.spec;
  const auto& gc = setup.G_kwargs;
  const auto& dc = setup.D_kwargs;
  const char* op = "StyleGAN2Trainer";
  GF_CHECK(gc.img_resolution == ds.resolution() && gc.img_channels == ds.channels() && gc.c_dim == ds.c_dim() &&
               dc.img_resolution == gc.img_resolution && dc.img_channels == gc.img_channels && dc.c_dim == gc.c_dim,
           op, "the networks (" << gc.img_resolution << "x" << gc.img_resolution << "x" << gc.img_channels << ", "
                                << gc.c_dim << " labels) do not match the dataset (" << ds.resolution() << "x"
                                << ds.resolution() << "x" << ds.channels() << ", " << ds.c_dim() << " labels)");
  check_train_spec(spec);
  const int pass = batch_per_pass(spec);
  const int group = dc.mbstd_group_size > 0 ? std::min(dc.mbstd_group_size, pass) : pass;
  GF_CHECK(pass % group == 0, op, "batch_gpu " << pass << " must be a multiple of the minibatch-stddev group " << group);
  // One process per device: this process holds replica `rank` alone.
  const int world = setup.comm ? setup.comm->world_size() : 1;
  GF_CHECK(world == 1 || spec.gpus == world, op,
           "the process group has " << world << " processes, the spec " << spec.gpus << " replicas (one each)");
  const int local = spec.gpus / world;
  if (setup.replica_devices.empty() && setup.device.is_cuda() && local > 1 &&
      setup.device.index + local > cuda_device_count())
    throw Error("--gpus " + std::to_string(spec.gpus) + " on " + setup.device.str() + " needs cuda:" +
                std::to_string(setup.device.index) + " to cuda:" + std::to_string(setup.device.index + spec.gpus - 1) +
                ", but " + std::to_string(cuda_device_count()) + " CUDA devices are present");
  GF_CHECK(setup.replica_devices.empty() || static_cast<int>(setup.replica_devices.size()) == local, op,
           setup.replica_devices.size() << " replica devices given for " << local << " replicas");
  for (const Device& d : replica_devices(setup)) check_device_usable(d);
}

StyleGAN2Trainer::StyleGAN2Trainer(const TrainerSetup& setup, const Dataset& ds)
    : setup_(setup), ds_(ds), sampler_(ds.size(), setup.seed) {
  check_setup(setup_, ds);
  const TrainSpec& spec = setup_.spec;
  const auto& gc = setup_.G_kwargs;
  const auto& dc = setup_.D_kwargs;
  const int world = setup_.comm ? setup_.comm->world_size() : 1;
  const int local = spec.gpus / world;
  first_ = world == 1 ? 0 : setup_.comm->rank();
  const std::vector<Device> devices = replica_devices(setup_);
  enable_peer_access(devices);
  // As the official loop: a pipe for "ada", and for "fixed" only with p > 0.
  if (spec.aug == "ada" || (spec.aug == "fixed" && spec.augment_p > 0)) {
    augment_ = std::make_unique<AugmentPipe>(augpipe_spec(spec.augpipe));
    augment_->p = static_cast<float>(spec.augment_p);
  }

  for (int r = 0; r < local; ++r) {
    auto rep = std::make_unique<Replica>();
    Replica& x = *rep;
    x.device = devices.at(static_cast<size_t>(r));
    x.rng = Generator(setup_.seed * static_cast<uint64_t>(spec.gpus) + static_cast<uint64_t>(first_ + r));
    x.G = std::make_unique<stylegan2::Generator>(gc, setup_.seed);
    x.G_ema = std::make_unique<stylegan2::Generator>(gc, setup_.seed);
    x.D = std::make_unique<stylegan2::Discriminator>(dc, setup_.seed + 1);
    x.G_ema->copy_from(*x.G);  // every replica starts from the seed's weights, as rank 0's broadcast makes it
    x.G->to(x.device);
    x.G_ema->to(x.device);
    x.D->to(x.device);
    x.G_ema->requires_grad_(false);
    x.G_opt = std::make_unique<Adam>(x.G->named_parameters(), lazy_adam(spec.lrate, spec.g_reg_interval));
    x.D_opt = std::make_unique<Adam>(x.D->named_parameters(), lazy_adam(spec.lrate, spec.d_reg_interval));

    LossOptions lopt;
    lopt.r1_gamma = spec.gamma;
    lopt.style_mixing_prob = spec.style_mixing;
    lopt.pl_weight = spec.pl_weight;
    lopt.ada_signs = spec.aug == "ada";
    LossNetworks nets{
        [&x](const Tensor& z, const Tensor& c, bool update) { return x.G->mapping.forward(z, c, 1, std::nullopt, update); },
        [this, &x](const Tensor& ws) {
          SynthesisOptions so;
          so.noise_mode = NoiseMode::random;
          so.noise_gen = &x.rng;
          // Every training pass of G (Gmain, Greg, and G inside Dmain, on every
          // replica and process) runs the modulated convs unfused, as official
          // training/networks.py does (SynthesisBlock: fused_modconv = not
          // self.training and ...). The same values either way, but unfused
          // each conv runs once over the batch with the shared weight instead
          // of as N groups of per-sample weights, so the backward (and Greg's
          // double backward) forms one weight gradient and no per-sample ones.
          // Inference (G_ema's grids, generate, pSp) keeps the fused default.
          // This is the one place the trainer decides it.
          so.fused_modconv = false;
          if (draws_)
            so.noise_source = [this, &x](const std::string& layer, const Shape& shape) {
              return draws_->draw("noise/" + layer, shape, DType::f32, x.device,
                                  [&] { return randn(shape, x.rng, DType::f32, x.device); });
            };
          return x.G->synthesis.forward(ws, so);
        },
        [&x](const Tensor& img, const Tensor& c) { return x.D->forward(img, c); },
        nullptr};
    if (augment_)
      nets.augment = [this, &x](const Tensor& img, const std::string& prefix) {
        return (*augment_)(img, x.rng, draws_.get(), prefix);
      };
    x.loss = std::make_unique<StyleGAN2Loss>(nets, lopt, x.rng);
    replicas_.push_back(std::move(rep));
  }
}

StyleGAN2Trainer::~StyleGAN2Trainer() = default;

Device StyleGAN2Trainer::device(int r) const { return replicas_.at(static_cast<size_t>(r))->device; }
stylegan2::Generator& StyleGAN2Trainer::G(int r) { return *replicas_.at(static_cast<size_t>(r))->G; }
stylegan2::Generator& StyleGAN2Trainer::G_ema(int r) { return *replicas_.at(static_cast<size_t>(r))->G_ema; }
stylegan2::Discriminator& StyleGAN2Trainer::D(int r) { return *replicas_.at(static_cast<size_t>(r))->D; }
Adam& StyleGAN2Trainer::G_opt(int r) { return *replicas_.at(static_cast<size_t>(r))->G_opt; }
Adam& StyleGAN2Trainer::D_opt(int r) { return *replicas_.at(static_cast<size_t>(r))->D_opt; }
Generator& StyleGAN2Trainer::rng(int r) { return replicas_.at(static_cast<size_t>(r))->rng; }

LossStats StyleGAN2Trainer::take_stats(int replica) { return replicas_.at(static_cast<size_t>(replica))->loss->take_stats(); }

LossStats StyleGAN2Trainer::take_stats() {
  std::vector<LossStats> all;
  for (int r = 0; r < num_replicas(); ++r) all.push_back(take_stats(r));
  if (Communicator* comm = dist()) {  // every rank's, in rank order
    const LossStats& m = all.front();
    const std::vector<std::vector<double>> ranks =
        all_gather(*comm, {m.g_loss, m.d_loss_fake, m.d_loss_real, m.r1_penalty, m.pl_penalty, m.scores_fake,
                           m.scores_real, double(m.r1_calls), double(m.pl_calls), m.signs_real});
    all.clear();
    for (const auto& v : ranks)
      all.push_back({v[0], v[1], v[2], v[3], v[4], v[5], v[6], static_cast<int64_t>(v[7]), static_cast<int64_t>(v[8]), v[9]});
  }
  LossStats mean;
  const double w = 1.0 / static_cast<double>(all.size());
  for (const LossStats& s : all) {
    mean.g_loss += s.g_loss * w;
    mean.d_loss_fake += s.d_loss_fake * w;
    mean.d_loss_real += s.d_loss_real * w;
    mean.r1_penalty += s.r1_penalty * w;
    mean.pl_penalty += s.pl_penalty * w;
    mean.scores_fake += s.scores_fake * w;
    mean.scores_real += s.scores_real * w;
    mean.signs_real += s.signs_real * w;
    mean.r1_calls += s.r1_calls;
    mean.pl_calls += s.pl_calls;
  }
  return mean;
}

double StyleGAN2Trainer::pl_mean() const { return replicas_.front()->loss->pl_mean(); }

void StyleGAN2Trainer::set_draw_log(std::unique_ptr<DrawLog> log) {
  draws_ = std::move(log);
  if (setup_.comm && setup_.comm->world_size() > 1) draws_->set_process(setup_.comm->rank(), first_, num_replicas());
  for (auto& x : replicas_) x->loss->set_draw_log(draws_.get());
}

std::vector<int64_t> StyleGAN2Trainer::real_items() {
  const int64_t n = setup_.spec.batch;
  std::vector<int64_t> items = logged_items(draws_.get(), "real_index", n, ds_.size(), [&] { return sampler_.next_batch(n); });
  if (!draws_) return items;
  std::vector<double> flips;
  for (int64_t i : items) flips.push_back(ds_.xflipped(i) ? 1 : 0);
  draws_->derived("real_xflip", Tensor::from_vector(flips, {n}, DType::f64));
  return items;
}

Tensor StyleGAN2Trainer::gen_c(Replica& x, int64_t n) {
  return logged_labels(draws_.get(), ds_, n, x.rng, x.device);
}

void StyleGAN2Trainer::run_phase(Phase phase, const std::vector<PhaseData>& data) {
  const TrainSpec& spec = setup_.spec;
  const bool g_side = phase == Phase::Gmain || phase == Phase::Greg;
  static const char* const kProfilePhases[] = {"Gmain", "Greg", "Dmain", "Dreg"};
  const profile::Phase prof(kProfilePhases[static_cast<int>(phase)]);  // bench/profile_step.cpp
  const int64_t pass = batch_per_pass(spec), passes = spec.batch / spec.gpus / pass;
  std::vector<std::vector<Tensor>> grads;
  for (size_t r = 0; r < replicas_.size(); ++r) {
    Replica& x = *replicas_[r];
    const PhaseData& in = data[r];
    // The other network's weights get no gradient.
    x.D->requires_grad_(!g_side);
    x.G->requires_grad_(g_side);
    Module& net = g_side ? static_cast<Module&>(*x.G) : static_cast<Module&>(*x.D);
    net.zero_grad();
    const int i = static_cast<int>(phase);
    for (int64_t k = 0; k < passes; ++k) {  // backward adds to the gradients of the passes before
      if (draws_)
        draws_->set_scope("mb" + std::to_string(batch_idx_) + "/r" + std::to_string(first_ + static_cast<int>(r)) + "/" + kPhaseNames[i] +
                          "/pass" + std::to_string(k) + "/");
      const Tensor z = rows(in.z[i], k, pass), c = rows(in.c[i], k, pass);
      const Tensor real = rows(in.real, k, pass), real_c = rows(in.real_c, k, pass);
      switch (phase) {
        case Phase::Gmain: backward(x.loss->g_main(z, c, 1.0)); break;
        case Phase::Greg: backward(x.loss->g_pl(z, c, spec.g_reg_interval)); break;
        case Phase::Dmain: backward(x.loss->d_main(real, real_c, z, c, 1.0)); break;
        case Phase::Dreg: backward(x.loss->d_r1(real, real_c, spec.d_reg_interval)); break;
      }
    }
    grads.push_back(grads_of(net));
  }
  const profile::Phase prof_opt("Adam");
  all_reduce_mean(grads);
  if (dist()) all_reduce_mean(*dist(), grads.front());
  if (phase_hook_)
    for (size_t r = 0; r < replicas_.size(); ++r)
      phase_hook_(kPhaseNames[static_cast<int>(phase)], static_cast<int>(r),
                  g_side ? static_cast<Module&>(*replicas_[r]->G) : static_cast<Module&>(*replicas_[r]->D));
  for (size_t r = 0; r < replicas_.size(); ++r) {
    // As the official loop, nan_to_num on every gradient, so one bad
    // minibatch cannot poison the weights, Adam's moments and G_ema for good.
    for (const Tensor& g : grads[r]) nan_to_num_(g);
    (g_side ? replicas_[r]->G_opt : replicas_[r]->D_opt)->step();
  }
}

void StyleGAN2Trainer::step() {
  const TrainSpec& spec = setup_.spec;
  const int n = spec.gpus;
  const int64_t per_gpu = spec.batch / n;
  std::optional<profile::Phase> prof_data(std::in_place, "data");
  const std::string mb = draws_ ? "mb" + std::to_string(batch_idx_) + "/" : std::string();
  if (draws_) draws_->set_scope(mb);
  const std::vector<int64_t> batch = real_items();
  std::vector<PhaseData> data(replicas_.size());
  for (int r = 0; r < num_replicas(); ++r) {
    Replica& x = *replicas_[static_cast<size_t>(r)];
    PhaseData& d = data[static_cast<size_t>(r)];
    const std::string rep = draws_ ? mb + "r" + std::to_string(first_ + r) + "/" : std::string();
    std::vector<int64_t> mine;  // as the official sampler: minibatch positions g, g + n, ... of global replica g
    for (size_t i = static_cast<size_t>(first_ + r); i < batch.size(); i += static_cast<size_t>(n)) mine.push_back(batch[i]);
    const Dataset::Batch real = ds_.batch(mine, x.device);
    d.real = real.images;
    if (ds_.c_dim() > 0) d.real_c = real.labels;
    if (draws_) {
      draws_->set_scope(rep);
      draws_->derived("real_img", d.real);
      if (d.real_c.defined()) draws_->derived("real_c", d.real_c);
    }
    // As the official loop: a fresh z and gen_c for each of the four phases,
    // drawn whether or not a regularization phase runs this minibatch.
    for (int p = 0; p < 4; ++p) {
      if (draws_) draws_->set_scope(rep + kPhaseNames[p] + "/");
      d.z[p] = logged_draw(draws_.get(), "z", {per_gpu, setup_.G_kwargs.z_dim}, DType::f32, x.device,
                           [&] { return randn({per_gpu, setup_.G_kwargs.z_dim}, x.rng, DType::f32, x.device); });
      d.c[p] = gen_c(x, per_gpu);
    }
  }
  prof_data.reset();

  run_phase(Phase::Gmain, data);
  const bool greg = spec.pl_weight > 0 && batch_idx_ % spec.g_reg_interval == 0;
  if (greg) run_phase(Phase::Greg, data);
  run_phase(Phase::Dmain, data);
  if (spec.gamma > 0 && batch_idx_ % spec.d_reg_interval == 0) run_phase(Phase::Dreg, data);

  // One state for all replicas: the tracked w_avg and the path-length mean
  // (each moved by its own replica's latents) become their mean. Only when
  // they moved: the mean of N equal values need not be that value (N = 3),
  // and a resumed run must not differ by an extra averaging.
  std::vector<std::vector<Tensor>> shared;
  for (auto& x : replicas_) {
    x->D->zero_grad();
    x->G->zero_grad();
    if (n == 1) continue;
    std::vector<Tensor> s;
    if (x->G->mapping.w_avg) s.push_back(*x->G->mapping.w_avg);
    if (greg) s.push_back(x->loss->pl_mean_tensor());
    shared.push_back(std::move(s));
  }
  if (!shared.empty()) all_reduce_mean(shared);
  if (!shared.empty() && dist()) all_reduce_mean(*dist(), shared.front());

  // The official loop updates G_ema before counting this minibatch's images.
  const std::optional<double> rampup = spec.ema_rampup > 0 ? std::optional<double>(spec.ema_rampup) : std::nullopt;
  const double beta = ema_beta(spec.ema_kimg, rampup, cur_nimg_, spec.batch);
  const profile::Phase prof_ema("EMA");
  for (auto& x : replicas_) ema_update(*x->G_ema, *x->G, beta);
  if (draws_) draws_->end_minibatch(batch_idx_);
  cur_nimg_ += spec.batch;
  ++batch_idx_;
  if (spec.aug == "ada" && batch_idx_ % spec.ada_interval == 0) adjust_augment_p();
}

std::pair<double, int64_t> StyleGAN2Trainer::take_real_signs() {
  double sum = 0;
  int64_t count = 0;
  for (auto& x : replicas_) {
    const auto [s, n] = x->loss->take_real_signs();
    sum += s;
    count += n;
  }
  if (Communicator* comm = dist()) {  // every rank's, added in rank order
    const std::vector<std::vector<double>> ranks = all_gather(*comm, {sum, static_cast<double>(count)});
    sum = 0;
    count = 0;
    for (const auto& v : ranks) {
      sum += v[0];
      count += static_cast<int64_t>(v[1]);
    }
  }
  return {sum, count};
}

void StyleGAN2Trainer::adjust_augment_p() {
  const TrainSpec& spec = setup_.spec;
  const auto [sum, count] = take_real_signs();
  // The official 'Loss/signs/real' mean over the interval: every real logit
  // of the Dmain and Dreg phases of every replica.
  const double mean_sign = count > 0 ? sum / static_cast<double>(count) : 0.0;
  const double direction = mean_sign > spec.ada_target ? 1.0 : mean_sign < spec.ada_target ? -1.0 : 0.0;
  const double adjust = direction * (spec.batch * spec.ada_interval) / (spec.ada_kimg * 1000);
  // float32 arithmetic, as the official p buffer: p + adjust, then max(., 0).
  const float p = augment_->p + static_cast<float>(adjust);
  augment_->p = std::max(p, 0.0f);
}

void StyleGAN2Trainer::set_augment_p(float p) {
  GF_CHECK(std::isfinite(p) && p >= 0, "StyleGAN2Trainer", "augment p must be finite and >= 0, got " << p);
  if (augment_) augment_->p = p;
}

std::pair<double, int64_t> StyleGAN2Trainer::pending_real_signs() {
  const std::pair<double, int64_t> all = take_real_signs();
  add_pending_real_signs(all.first, all.second);
  return all;
}

void StyleGAN2Trainer::add_pending_real_signs(double sum, int64_t count) {
  if (first_ == 0) replicas_.front()->loss->add_real_signs(sum, count);
}

void StyleGAN2Trainer::set_progress(int64_t cur_nimg, int64_t batch_idx, double pl_mean) {
  GF_CHECK(cur_nimg >= 0 && batch_idx >= 0, "StyleGAN2Trainer", "negative progress");
  cur_nimg_ = cur_nimg;
  batch_idx_ = batch_idx;
  for (auto& x : replicas_) x->loss->set_pl_mean(pl_mean);
}

std::vector<uint64_t> StyleGAN2Trainer::rng_offsets() {
  std::vector<uint64_t> mine;
  for (auto& x : replicas_) mine.push_back(x->rng.offset);
  Communicator* comm = dist();
  if (!comm) return mine;
  std::vector<uint64_t> all(static_cast<size_t>(comm->world_size()));
  comm->gather(mine.data(), sizeof(uint64_t), comm->rank() == 0 ? all.data() : nullptr);
  comm->broadcast(all.data(), all.size() * sizeof(uint64_t));
  return all;
}

void StyleGAN2Trainer::set_rng_offsets(const std::vector<uint64_t>& offsets) {
  GF_CHECK(static_cast<int>(offsets.size()) == setup_.spec.gpus, "StyleGAN2Trainer",
           offsets.size() << " random-stream offsets for " << setup_.spec.gpus << " replicas");
  for (size_t r = 0; r < replicas_.size(); ++r) replicas_[r]->rng.offset = offsets[static_cast<size_t>(first_) + r];
}

void StyleGAN2Trainer::replicate_first() {
  if (Communicator* comm = dist()) {  // rank 0's networks, as the official broadcast at the start
    std::vector<Tensor> t;
    for (const Module* m : {static_cast<const Module*>(&G()), static_cast<const Module*>(&G_ema()),
                            static_cast<const Module*>(&D())}) {
      for (const auto& [name, p] : m->named_parameters()) t.push_back(p);
      for (const auto& [name, b] : m->named_buffers()) t.push_back(b);
    }
    broadcast_from_first(*comm, t);
    return;
  }
  if (replicas_.size() == 1) return;
  std::vector<std::vector<Tensor>> all;
  for (auto& x : replicas_) {
    std::vector<Tensor> t;
    for (const Module* m : {static_cast<const Module*>(x->G.get()), static_cast<const Module*>(x->G_ema.get()),
                            static_cast<const Module*>(x->D.get())}) {
      for (const auto& [name, p] : m->named_parameters()) t.push_back(p);
      for (const auto& [name, b] : m->named_buffers()) t.push_back(b);
    }
    all.push_back(std::move(t));
  }
  broadcast_from_first(all);
  for (size_t r = 1; r < replicas_.size(); ++r) {
    replicas_[r]->G_opt->load_state_dict(replicas_[0]->G_opt->state_dict());
    replicas_[r]->D_opt->load_state_dict(replicas_[0]->D_opt->state_dict());
  }
}

}  // namespace gf
