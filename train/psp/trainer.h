// One pSp training run's state and its step, as pSp's training/coach.py
// keeps them: the pSp network (encoder, decoder, latent_avg), the optimizer
// over the encoder (and the decoder with train_decoder), the loss and its
// networks, the data sampler and one random stream (Philox) for the flips
// and the decoder's noise. train/psp/checkpoint.h saves and restores all of
// it; train/psp/training_loop.h runs the ticks around step().
//
// The data's last spec.val_images images are held out (pSp trains on one
// folder and validates on another): they never train, and validate() and the
// image grids use them.
#pragma once
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "models/perceptual/arcface.h"
#include "models/perceptual/lpips.h"
#include "models/psp/psp.h"
#include "data/dataset.h"
#include "data/infinite_sampler.h"
#include "train/optimizer.h"
#include "train/psp/configs.h"
#include "train/psp/losses.h"

namespace gf::psp {

// Whether the trained parameter `name` ("decoder.synthesis.b8.conv0.weight")
// is one pSp's rosinality decoder stores with a leading dim of 1, which
// Ranger's gradient centralization then takes over every dim (Ranger's
// unit_leading_dim).
bool psp_decoder_unit_leading_dim(const std::string& name);

class PspTrainer {
 public:
  // net holds the decoder's weights and, when the spec starts from it,
  // latent_avg; lpips, arcface and moco may be null where their lambdas are 0. The
  // dataset must outlive the trainer. Throws gf::Error for a dataset too
  // small to hold out val_images and still fill a batch, or whose channels
  // do not fit the network.
  PspTrainer(const PspTrainSpec& spec, uint64_t seed, Device device, const Dataset& ds, std::unique_ptr<Psp> net,
             std::unique_ptr<perceptual::Lpips> lpips, std::unique_ptr<perceptual::ArcFace> arcface,
             std::unique_ptr<perceptual::ResNet> moco = nullptr);

  // One minibatch as coach.train does it: the encoder in training mode (batch
  // statistics), flipped inputs, the decoder with random noise, its output
  // pooled to the input size (pSp's face_pool), the loss, backward, the
  // optimizer's step.
  void step();

  // Loss means over the steps since the last take ("loss_l2", ..., "loss").
  std::vector<std::pair<std::string, double>> take_stats();
  // The loss terms' means over the held-out images (coach.validate: eval
  // mode, random noise as its forward's default, from a stream fixed by the
  // seed and the step), keys prefixed "val_".
  std::vector<std::pair<std::string, double>> validate();
  // The batches validate() runs: full batches of the held-out images (coach's
  // test loader drops a short last one), or the one short batch when they
  // fill none.
  int64_t validation_batches() const {
    return spec_.val_images >= spec_.batch ? spec_.val_images / spec_.batch : 1;
  }
  // The first n held-out images and their reconstructions (eval mode, stored
  // noise), float32 [n, C, S, S] each, on the CPU.
  std::pair<Tensor, Tensor> held_out_pairs(int64_t n);

  const PspTrainSpec& spec() const { return spec_; }
  uint64_t seed() const { return seed_; }
  Device device() const { return device_; }
  const Dataset& dataset() const { return ds_; }
  int64_t train_size() const { return ds_.size() - spec_.val_images; }
  int64_t cur_step() const { return step_; }
  int64_t cur_nimg() const { return step_ * spec_.batch; }
  Psp& net() { return *net_; }
  const Psp& net() const { return *net_; }
  Optimizer& optimizer() { return *opt_; }
  InfiniteSampler& sampler() { return sampler_; }
  Generator& rng() { return rng_; }
  void set_step(int64_t step) { step_ = step; }
  // The lowest held-out loss (validate()'s val_loss) of this run so far and
  // its step, as pSp's coach keeps best_val_loss for best_model.pt (from
  // None at every start, a resumed one too); infinity and -1 before the
  // first validation (None: the first loss is kept, even a NaN).
  double best_val_loss() const { return best_val_loss_; }
  int64_t best_step() const { return best_step_; }
  void set_best(double val_loss, int64_t step) {
    best_val_loss_ = val_loss;
    best_step_ = step;
  }
  // The tensors W+ codes are measured from in w_norm: latent_avg when the network starts from it.
  Tensor w_norm_center() const;

 private:
  // The codes and the output at the input size for inputs x.
  std::pair<Tensor, Tensor> forward(const Tensor& x, const stylegan2::SynthesisOptions& so) const;

  PspTrainSpec spec_;
  uint64_t seed_;
  Device device_;
  const Dataset& ds_;
  std::unique_ptr<Psp> net_;
  std::unique_ptr<perceptual::Lpips> lpips_;
  std::unique_ptr<perceptual::ArcFace> arcface_;
  std::unique_ptr<perceptual::ResNet> moco_;
  std::unique_ptr<PspLoss> loss_;
  std::unique_ptr<Optimizer> opt_;
  InfiniteSampler sampler_;
  Generator rng_;
  int64_t step_ = 0;
  double best_val_loss_ = std::numeric_limits<double>::infinity();
  int64_t best_step_ = -1;
  // Sums of the detached loss terms since the last take, on the device.
  std::vector<std::pair<std::string, Tensor>> stat_sums_;
  int64_t stat_count_ = 0;
  std::vector<std::pair<std::string, double>> last_stats_;
};

}  // namespace gf::psp

namespace gf::psp {

// A pSp network to train: the spec's encoder drawn from seed (torch's
// default initialization) over a copy of the generator G as the decoder, and
// latent_avg from G's w_avg, repeated per style (one row for a W encoder), as
// pSp loads it from its StyleGAN checkpoint; a generator without w_avg (or
// with one of zeros: never trained) gets the mean mapping output over 100000
// latents instead, pSp's mean_latent(1e5). `note` (optional) says which.
std::unique_ptr<Psp> make_psp_to_train(const PspTrainSpec& spec, const stylegan2::Generator& G, uint64_t seed,
                                       std::string* note = nullptr);

// pSp starts its encoder from the ArcFace IR-SE50 weights (model_ir_se50.pth
// loaded with strict=False: the input layer and the body, where a shape that
// differs raises). Loads all of them when the encoder's body is ArcFace's
// (an IR-SE50 encoder; the first conv is kept for another input channel
// count, as pSp drops the input layer for label inputs), none otherwise
// (--cfg cpu's small body), and returns a line saying which.
std::string init_encoder_from_arcface(Encoder& encoder, const perceptual::ArcFace& arcface);

}  // namespace gf::psp
