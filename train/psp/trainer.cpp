#include "train/psp/trainer.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/ops/pool2d.h"
#include "engine/strings.h"
#include "train/adam.h"
#include "train/cli.h"
#include "train/psp/data.h"
#include "train/ranger.h"

namespace gf::psp {
namespace {

std::vector<std::pair<std::string, Tensor>> prefixed(const Module& m, const std::string& prefix) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [n, p] : m.named_parameters()) out.emplace_back(prefix + n, p);
  return out;
}

}  // namespace

bool psp_decoder_unit_leading_dim(const std::string& name) {
  // pSp's decoder is rosinality's: ModulatedConv2d weights (1, out, in, k, k)
  // (the styled convs and to_rgb), ConstantInput (1, C, 4, 4), ToRGB's bias
  // (1, 3, 1, 1). Their ADA counterparts here: synthesis.b*.conv*.weight,
  // .torgb.weight, .const, .torgb.bias. The affine (modulation) weights are
  // [out, in] in both; biases and noise strengths have one dim or none.
  const auto ends = [&](const char* tail) { return ends_with(name, tail); };
  if (name.rfind("decoder.synthesis.", 0) != 0) return false;
  return ends(".const") || ends(".torgb.bias") || ends(".torgb.weight") ||
         (ends(".weight") && !ends(".affine.weight") && name.find(".conv") != std::string::npos);
}

PspTrainer::PspTrainer(const PspTrainSpec& spec, uint64_t seed, Device device, const Dataset& ds,
                       std::unique_ptr<Psp> net, std::unique_ptr<perceptual::Lpips> lpips,
                       std::unique_ptr<perceptual::ArcFace> arcface, std::unique_ptr<perceptual::ResNet> moco)
    : spec_(spec), seed_(seed), device_(device), ds_(ds), net_(std::move(net)), lpips_(std::move(lpips)),
      arcface_(std::move(arcface)), moco_(std::move(moco)),
      sampler_(std::max<int64_t>(ds.size() - spec.val_images, 1), seed), rng_(seed) {
  check_psp_train_spec(spec_);
  GF_CHECK(net_, "PspTrainer", "no network");
  GF_CHECK(net_->config().input_size == spec_.net.input_size && net_->config().n_styles == spec_.net.n_styles,
           "PspTrainer", "the network's encoder (input_size " << net_->config().input_size << ", n_styles "
                             << net_->config().n_styles << ") is not the training spec's (input_size "
                             << spec_.net.input_size << ", n_styles " << spec_.net.n_styles
                             << "): a checkpoint's metadata psp_kwargs and spec disagree (edited by hand?)");
  GF_CHECK(ds.size() - spec_.val_images >= spec_.batch, ds.name(),
           "has " << cli::count_text(ds.size(), "image") << ": holding out " << spec_.val_images << " leaves fewer than a batch of "
                           << spec_.batch << " to train on (lower --val-images or --batch)");
  const int c = net_->decoder->config().img_channels;
  GF_CHECK(ds.channels() == c || (ds.channels() == 1 && c == 3), ds.name(),
           "its images have " << ds.channels() << " channels but the generator makes " << c
                                     << (ds.channels() == 3 ? ": colour data for a grey generator" : ""));
  GF_CHECK(spec_.net.input_nc == c, "PspTrainer",
           "the encoder reads " << spec_.net.input_nc << " channels, the generator makes " << c);
  GF_CHECK(!spec_.net.start_from_latent_avg || net_->latent_avg.defined(), "network",
           "the network starts from latent_avg but has none");
  loss_ = std::make_unique<PspLoss>(spec_.lambdas, lpips_.get(), arcface_.get(), moco_.get());
  net_->to(device_);
  if (lpips_) lpips_->to(device_);
  if (arcface_) arcface_->to(device_);
  if (moco_) moco_->to(device_);
  // Only the encoder trains unless --train-decoder (coach.configure_optimizers).
  net_->decoder->requires_grad_(spec_.train_decoder);
  std::vector<std::pair<std::string, Tensor>> params = prefixed(*net_->encoder, "encoder.");
  if (spec_.train_decoder)
    for (auto& p : prefixed(*net_->decoder, "decoder.")) params.push_back(std::move(p));
  if (spec_.optim == "ranger") {
    RangerOptions o;
    o.lr = spec_.lr;
    opt_ = std::make_unique<Ranger>(params, o, psp_decoder_unit_leading_dim);
  } else {
    AdamOptions o;  // torch.optim.Adam's defaults
    o.lr = spec_.lr;
    opt_ = std::make_unique<Adam>(params, o);
  }
}

Tensor PspTrainer::w_norm_center() const {
  return spec_.net.start_from_latent_avg ? net_->latent_avg : Tensor();
}

std::pair<Tensor, Tensor> PspTrainer::forward(const Tensor& x, const stylegan2::SynthesisOptions& so) const {
  const Tensor codes = net_->encode(x);
  Tensor y_hat = net_->decode(codes, false, so);
  const int s = spec_.net.input_size;
  if (y_hat.size(2) != s) y_hat = adaptive_avg_pool2d(y_hat, s, s);  // pSp's face_pool, to the input size
  return {codes, y_hat};
}

void PspTrainer::step() {
  const std::vector<int64_t> idx = sampler_.next_batch(spec_.batch);
  // RandomHorizontalFlip(0.5): one uniform per image, drawn on the CPU so every device flips the same images.
  const std::vector<double> u = rand({spec_.batch}, rng_, DType::f64).to_vector();
  std::vector<bool> flips;
  for (double v : u) flips.push_back(v < 0.5);
  // The input is the target (ImagesDataset without a source transform).
  const Tensor x = transform_batch(ds_, idx, spec_.net.input_size, spec_.net.input_nc, flips, device_);
  opt_->zero_grad();
  net_->encoder->train(true);
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::random;  // pSp's forward: randomize_noise=True
  so.noise_gen = &rng_;
  const auto [codes, y_hat] = forward(x, so);
  const PspLoss::Result r = (*loss_)(y_hat, x, codes, w_norm_center());
  backward(r.loss);
  opt_->step();
  for (const auto& term : r.terms) {  // a structured binding cannot be captured in C++17 (clang refuses)
    const auto& [name, t] = term;
    auto it = std::find_if(stat_sums_.begin(), stat_sums_.end(), [&](const auto& e) { return e.first == term.first; });
    if (it == stat_sums_.end()) stat_sums_.emplace_back(name, t.clone());
    else it->second = it->second + t;
  }
  ++stat_count_;
  ++step_;
}

std::vector<std::pair<std::string, double>> PspTrainer::take_stats() {
  if (stat_count_ == 0) return last_stats_;
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [name, t] : stat_sums_) out.emplace_back(name, t.item() / double(stat_count_));
  stat_sums_.clear();
  stat_count_ = 0;
  last_stats_ = out;
  return out;
}

std::vector<std::pair<std::string, double>> PspTrainer::validate() {
  NoGradGuard ng;
  net_->encoder->train(false);
  // coach.validate calls the net's forward with its default
  // randomize_noise=True, as training does. Its noise comes from a stream of
  // its own, fixed by the seed and the step: the training stream (and so an
  // exact resume) is untouched, and a validation repeated at a step gives
  // the same losses.
  Generator noise(seed_ ^ (0x9E3779B97F4A7C15ull * (static_cast<uint64_t>(cur_step()) + 1)));
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::random;
  so.noise_gen = &noise;
  std::vector<std::pair<std::string, double>> sums;
  int64_t batches = 0;
  const int64_t first = train_size();
  // coach's test loader drops a short last batch (drop_last=True): full
  // batches only, unless the held-out images fill none (pSp then has no loss
  // at all): then the one short batch.
  const int64_t n = spec_.val_images >= spec_.batch ? spec_.val_images / spec_.batch * spec_.batch : spec_.val_images;
  for (int64_t i = 0; i < n; i += spec_.batch) {
    std::vector<int64_t> idx;
    for (int64_t k = i; k < std::min<int64_t>(i + spec_.batch, n); ++k) idx.push_back(first + k);
    const Tensor x = transform_batch(ds_, idx, spec_.net.input_size, spec_.net.input_nc, {}, device_);
    const auto [codes, y_hat] = forward(x, so);
    const PspLoss::Result r = (*loss_)(y_hat, x, codes, w_norm_center());
    for (size_t k = 0; k < r.terms.size(); ++k) {
      if (sums.size() <= k) sums.emplace_back("val_" + r.terms[k].first, 0.0);
      sums[k].second += r.terms[k].second.item();  // coach.validate: the mean over batches of each term
    }
    ++batches;
  }
  for (auto& [name, v] : sums) v /= double(batches);
  return sums;
}

std::pair<Tensor, Tensor> PspTrainer::held_out_pairs(int64_t n) {
  NoGradGuard ng;
  net_->encoder->train(false);
  n = std::min<int64_t>(n, spec_.val_images);
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  std::vector<Tensor> xs, ys;
  for (int64_t i = 0; i < n; i += spec_.batch) {
    std::vector<int64_t> idx;
    for (int64_t k = i; k < std::min<int64_t>(i + spec_.batch, n); ++k) idx.push_back(train_size() + k);
    const Tensor x = transform_batch(ds_, idx, spec_.net.input_size, spec_.net.input_nc, {}, device_);
    xs.push_back(x.to(Device::cpu()));
    ys.push_back(forward(x, so).second.to(Device::cpu()));
  }
  return {concat(xs, 0), concat(ys, 0)};
}

}  // namespace gf::psp

namespace gf::psp {

std::unique_ptr<Psp> make_psp_to_train(const PspTrainSpec& spec, const stylegan2::Generator& G, uint64_t seed,
                                       std::string* note) {
  auto net = std::make_unique<Psp>(spec.net, G.config(), seed);
  net->decoder->load_state_dict(G.state_dict());
  const int w = G.config().w_dim;
  Tensor avg;
  const Tensor* w_avg = G.mapping.w_avg;
  const bool has_avg = w_avg && max(abs(*w_avg)).item() > 0;
  if (has_avg) {
    avg = w_avg->to(Device::cpu()).reshape({1, w});
    if (note) *note = "latent_avg: the generator's w_avg";
  } else {
    // rosinality's mean_latent: the mean of the mapping over n z ~ N(0, I), here in batches from Philox.
    NoGradGuard ng;
    Generator rng(seed + 7);
    Tensor sum_w = zeros({w}, DType::f64);
    const int64_t n = 100000, chunk = 10000;
    auto& mapping = net->decoder->mapping;
    for (int64_t i = 0; i < n; i += chunk) {
      const Tensor ws = mapping.forward(randn({chunk, G.config().z_dim}, rng), Tensor());
      sum_w = sum_w + sum(slice(ws, 1, 0, 1).reshape({chunk, w}), {0}).to(DType::f64);
    }
    avg = (sum_w / double(n)).to(DType::f32).reshape({1, w});
    if (note) *note = "latent_avg: the mean mapping output over 100000 latents (the generator's w_avg is unset or zero)";
  }
  net->latent_avg = spec.net.learn_in_w ? avg : expand(avg, {spec.net.n_styles, w}).clone();
  return net;
}

std::string init_encoder_from_arcface(Encoder& encoder, const perceptual::ArcFace& arcface) {
  // state_dict() hands out the module's own tensors, so copying into them loads in place.
  const io::TensorMap mine = encoder.state_dict(), theirs = arcface.state_dict();
  auto in_body = [](const std::string& n) { return n.rfind("input_layer.", 0) == 0 || n.rfind("body.", 0) == 0; };
  // All or nothing, as pSp's load_state_dict(strict=False) raises on a shape
  // that differs: a body of other units or depths (--cfg cpu's small one) has
  // names that mean other layers there, so a partial copy was no start from
  // ArcFace. The first conv alone may differ in its input channels (a grey
  // encoder keeps its own, as pSp drops the input layer for non-RGB input).
  const std::string first_conv = "input_layer.0.weight";
  for (const auto& [name, t] : mine) {
    if (!in_body(name)) continue;
    const auto it = theirs.find(name);
    const bool fits = it != theirs.end() && (it->second.shape() == t.shape() ||
                                             (name == first_conv && t.dim() == 4 && it->second.dim() == 4 &&
                                              t.size(0) == it->second.size(0) && t.size(2) == it->second.size(2)));
    if (!fits)
      return "encoder initialized at random: its body is not ArcFace's (" + name + " is " + shape_str(t.shape()) +
             (it == theirs.end() ? std::string(", which ArcFace has not") : ", ArcFace's " + shape_str(it->second.shape())) +
             "), so no ArcFace weights are taken";
  }
  NoGradGuard ng;
  int64_t taken = 0;
  std::string kept;
  for (const auto& [name, t] : mine) {
    if (!in_body(name)) continue;
    const Tensor& src = theirs.at(name);
    if (src.shape() != t.shape()) {  // the first conv of another channel count
      kept = ", 1 left out (the first conv: input channels " + std::to_string(t.size(1)) + " here, " +
             std::to_string(src.size(1)) + " in ArcFace)";
      continue;
    }
    Tensor dst = t;
    dst.copy_(src.to(dst.device()).to(dst.dtype()));
    ++taken;
  }
  return "encoder initialized from ArcFace: " + std::to_string(taken) + " tensors of the input layer and body" + kept;
}

}  // namespace gf::psp
