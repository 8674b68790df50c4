// project() follows the official loop line by line; where it sets a value in
// place (the noise buffers' start, their renormalization), this code copies
// into the same tensors Adam holds.
#include "train/stylegan2/projector.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/numpy_random_state.h"
#include "engine/ops.h"
#include "engine/ops/noise.h"
#include "engine/ops/pool2d.h"
#include "train/adam.h"

namespace gf::stylegan2 {
namespace {

// torch.roll(x, shifts=1, dims=dim): the last slice first.
Tensor roll1(const Tensor& x, int64_t dim) {
  const int64_t n = x.size(dim);
  return concat({slice(x, dim, n - 1, n), slice(x, dim, 0, n - 1)}, dim);
}

// The noise_const buffers of G's synthesis layers, with their names.
std::vector<std::pair<std::string, Tensor*>> noise_buffers(Generator& G) {
  std::vector<std::pair<std::string, Tensor*>> out;
  for (size_t i = 0; i < G.synthesis.blocks.size(); ++i) {
    SynthesisBlock* b = G.synthesis.blocks[i];
    const std::string name = "b" + std::to_string(G.synthesis.block_resolutions()[i]);
    if (b->conv0 && b->conv0->noise_const) out.emplace_back(name + ".conv0.noise_const", b->conv0->noise_const);
    if (b->conv1.noise_const) out.emplace_back(name + ".conv1.noise_const", b->conv1.noise_const);
  }
  return out;
}

// Puts G's own noise buffers back however project() ends.
class RestoreNoise {
 public:
  explicit RestoreNoise(const std::vector<std::pair<std::string, Tensor*>>& bufs) {
    for (const auto& [name, slot] : bufs) saved_.emplace_back(slot, *slot);
  }
  ~RestoreNoise() {
    for (auto& [slot, t] : saved_) *slot = t;
  }
  RestoreNoise(const RestoreNoise&) = delete;
  RestoreNoise& operator=(const RestoreNoise&) = delete;

 private:
  std::vector<std::pair<Tensor*, Tensor>> saved_;
};

// images [1, C, H, W] in 0..255 -> what the VGG sees: area-pooled to 256 when
// larger, grey repeated to RGB.
Tensor vgg_input(const Tensor& images) {
  Tensor x = images.size(2) > 256 ? adaptive_avg_pool2d(images, 256, 256) : images;
  return x.size(1) == 1 ? concat({x, x, x}, 1) : x;
}

}  // namespace

void ProjectorOptions::validate() const {
  GF_CHECK(num_steps >= 1, "projector", "num_steps must be at least 1, got " << num_steps);
  GF_CHECK(w_avg_samples >= 1, "projector", "w_avg_samples must be at least 1, got " << w_avg_samples);
  for (double v : {initial_learning_rate, initial_noise_factor, lr_rampdown_length, lr_rampup_length,
                   noise_ramp_length, regularize_noise_weight})
    GF_CHECK(std::isfinite(v) && v >= 0, "projector", "options must be finite and non-negative, got " << v);
  GF_CHECK(lr_rampdown_length > 0 && lr_rampup_length > 0 && noise_ramp_length > 0, "projector",
           "ramp lengths must be positive");
}

ProjectorStep projector_schedule(const ProjectorOptions& opt, int step, double w_std) {
  const double t = double(step) / opt.num_steps;
  const double decay = std::max(0.0, 1.0 - t / opt.noise_ramp_length);
  double ramp = std::min(1.0, (1.0 - t) / opt.lr_rampdown_length);
  ramp = 0.5 - 0.5 * std::cos(ramp * M_PI);
  ramp *= std::min(1.0, t / opt.lr_rampup_length);
  return {opt.initial_learning_rate * ramp, w_std * opt.initial_noise_factor * decay * decay};
}

WStats w_stats(Generator& G, int samples, DrawLog* log) {
  const GeneratorConfig& cfg = G.config();
  GF_CHECK(cfg.c_dim == 0, "projector",
           "the network is conditional (c_dim " << cfg.c_dim << "); the projector maps z without labels, as the official one");
  const Device dev = G.synthesis.blocks.front()->conv1.weight.device();
  NoGradGuard ng;
  const Tensor z = logged_draw(log, "z", {samples, cfg.z_dim}, DType::f32, dev, [&] {
    // The official np.random.RandomState(123).randn(w_avg_samples, z_dim),
    // float64 made float32 as the mapping makes it.
    const std::vector<double> v =
        NumpyRandomState(kWAvgSeed).randn(static_cast<size_t>(samples) * static_cast<size_t>(cfg.z_dim));
    return Tensor::from_vector(v, {samples, cfg.z_dim}, DType::f32, dev);
  });
  const Tensor ws = G.mapping.forward(z, Tensor());
  const Tensor w = slice(ws, 1, 0, 1).to(Device::cpu()).to(DType::f64);  // [N, 1, w_dim]
  const Tensor w_avg = mean(w, {0}, true);                                // [1, 1, w_dim]
  WStats s;
  s.w_std = std::sqrt(sum(square(w - w_avg)).item() / samples);
  s.w_avg = w_avg.to(DType::f32).to(dev);
  return s;
}

Tensor noise_regularization(const Tensor& buffer) {
  GF_CHECK(buffer.dim() == 2 && buffer.size(0) == buffer.size(1), "noise_regularization",
           "expects a square [H, W] buffer, got " << shape_str(buffer.shape()));
  Tensor noise = buffer.reshape({1, 1, buffer.size(0), buffer.size(1)});
  Tensor reg;
  while (true) {
    const Tensor a = square(mean(noise * roll1(noise, 3))) + square(mean(noise * roll1(noise, 2)));
    reg = reg.defined() ? reg + a : a;
    if (noise.size(2) <= 8) break;
    noise = adaptive_avg_pool2d(noise, noise.size(2) / 2, noise.size(3) / 2);
  }
  return reg;
}

Projection project(Generator& G, const perceptual::Vgg16& vgg, const Tensor& target, const ProjectorOptions& opt,
                   DrawLog* log, const std::function<void(int, double, double)>& on_step) {
  opt.validate();
  const GeneratorConfig& cfg = G.config();
  GF_CHECK(target.defined() && target.shape() == Shape({cfg.img_channels, cfg.img_resolution, cfg.img_resolution}),
           "projector",
           "the target must be [" << cfg.img_channels << ", " << cfg.img_resolution << ", " << cfg.img_resolution
                                  << "] (G's channels and resolution), got "
                                  << (target.defined() ? shape_str(target.shape()) : std::string("none")));
  G.requires_grad_(false);
  const Device dev = G.synthesis.blocks.front()->conv1.weight.device();
  if (log) log->set_scope("mb0/");
  const WStats stats = w_stats(G, opt.w_avg_samples, log);

  const auto bufs = noise_buffers(G);
  RestoreNoise restore(bufs);

  Tensor target_features;
  {
    NoGradGuard ng;
    target_features = vgg.lpips_embedding(vgg_input(target.to(dev).to(DType::f32).reshape(
        {1, cfg.img_channels, cfg.img_resolution, cfg.img_resolution})));
  }

  // The optimized tensors: w_opt [1, 1, w_dim] from w_avg, the noise buffers from randn.
  gf::Generator rng(opt.seed);
  Tensor w_opt = stats.w_avg.clone().requires_grad_(true);
  std::vector<std::pair<std::string, Tensor>> params{{"w", w_opt}};
  for (const auto& [name, slot] : bufs) {
    const Shape shape = slot->shape();
    Tensor n = logged_draw(log, ("noise/" + name).c_str(), shape, DType::f32, dev,
                           [&] { return randn(shape, rng, DType::f32, dev); });
    *slot = n.clone().requires_grad_(true);  // a fresh leaf, never the log's own copy
    params.emplace_back(name, *slot);
  }
  AdamOptions ao;
  ao.lr = opt.initial_learning_rate;
  ao.beta1 = 0.9;
  ao.beta2 = 0.999;
  ao.eps = 1e-8;
  Adam adam(params, ao);

  Projection out;
  out.w_std = stats.w_std;
  std::vector<Tensor> w_rows;
  SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  const int num_ws = G.num_ws();
  for (int step = 0; step < opt.num_steps; ++step) {
    if (log) log->set_scope("mb" + std::to_string(step) + "/");
    const ProjectorStep s = projector_schedule(opt, step, stats.w_std);
    adam.options().lr = s.lr;

    const Tensor unit = logged_draw(log, "w_noise", w_opt.shape(), DType::f32, dev,
                                    [&] { return randn(w_opt.shape(), rng, DType::f32, dev); });
    const Tensor ws = expand(w_opt + unit * s.w_noise_scale, {1, num_ws, cfg.w_dim});
    const Tensor synth = (G.synthesis.forward(ws, so) + 1.0) * (255.0 / 2);
    const Tensor dist = sum(square(target_features - vgg.lpips_embedding(vgg_input(synth))));
    Tensor reg;
    for (const auto& [name, slot] : bufs) {
      const Tensor r = noise_regularization(*slot);
      reg = reg.defined() ? reg + r : r;
    }
    const Tensor loss = reg.defined() ? dist + reg * opt.regularize_noise_weight : dist;

    adam.zero_grad();
    backward(loss);
    adam.step();
    // One transfer a step for the printout (the official script's print waits
    // on the device as well); w stays on the device until the end.
    NoGradGuard ng;
    const std::vector<double> dl = concat({dist.detach().reshape({1}), loss.detach().reshape({1})}, 0).to_vector();
    const double d = dl[0], l = dl[1];
    out.dist.push_back(d);
    out.loss.push_back(l);
    w_rows.push_back(w_opt.detach().clone().reshape({1, cfg.w_dim}));
    for (const auto& [name, slot] : bufs) {  // unit RMS, zero mean
      const Tensor centred = *slot - mean(*slot);
      slot->copy_(centred * rsqrt(mean(square(centred))));
    }
    if (log) log->end_minibatch(step);
    if (on_step) on_step(step, d, l);
  }
  out.w_steps = concat(w_rows, 0).to(Device::cpu());
  for (const auto& [name, slot] : bufs) out.noise.emplace_back(name, slot->detach().clone().to(Device::cpu()));
  return out;
}

Tensor projected_ws(const Projection& p, int step, int num_ws) {
  GF_CHECK(step >= 0 && step < p.w_steps.size(0), "projected_ws", "step " << step << " is outside the projection");
  const Tensor w = slice(p.w_steps, 0, step, step + 1);
  return expand(w.reshape({1, 1, w.size(1)}), {1, num_ws, w.size(1)});
}

}  // namespace gf::stylegan2
