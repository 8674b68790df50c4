// Projecting an image into a StyleGAN2 generator's W space, as StyleGAN2-ADA's
// projector.py (its project()): the w that, repeated over every layer, makes
// G.synthesis (noise mode const) reproduce the target under the LPIPS (VGG16)
// distance, optimized together with G's noise_const buffers by Adam, with a
// cosine learning-rate schedule, a decaying noise added to w, and a penalty
// on the noise buffers' autocorrelation at every scale. It sits in train/
// because it is an optimization (train's Adam, the draw log), not a network.
//
// Every random draw goes through the optional draw log (train/draw_log.h), so
// tools/reference/projector_reference.py can take the same step in PyTorch: "mb0/z"
// (the w_avg samples [w_avg_samples, z_dim]), "mb0/noise/<buffer>" (the
// initial noise_const, [res, res], buffer names as G.synthesis names them,
// e.g. "b8.conv0.noise_const") and "mb<k>/w_noise" (step k's unit normal
// [1, 1, w_dim], before the schedule's scale); minibatch k is step k.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/tensor.h"
#include "models/perceptual/vgg16.h"
#include "models/stylegan2/generator.h"
#include "train/draw_log.h"

namespace gf::stylegan2 {

// project()'s keyword arguments, with the official defaults.
struct ProjectorOptions {
  int num_steps = 1000;
  int w_avg_samples = 10000;
  double initial_learning_rate = 0.1;
  double initial_noise_factor = 0.05;
  double lr_rampdown_length = 0.25;
  double lr_rampup_length = 0.05;
  double noise_ramp_length = 0.75;
  double regularize_noise_weight = 1e5;
  uint64_t seed = 303;  // the noise buffers' start and the per-step w noise (official: torch.manual_seed)
  void validate() const;  // throws gf::Error naming the bad value
};

// The z samples of w_avg and w_std are numpy's RandomState(123).randn draws
// (engine/numpy_random_state.h) whatever the projection seed, as the
// official code's.
constexpr uint64_t kWAvgSeed = 123;

// Step k's learning rate and the standard deviation of the noise added to w:
// t = k / num_steps, lr = initial * (0.5 - 0.5 cos(pi min(1, (1 - t) /
// rampdown))) * min(1, t / rampup), noise = w_std * initial_noise_factor *
// max(0, 1 - t / noise_ramp)^2.
struct ProjectorStep {
  double lr, w_noise_scale;
};
ProjectorStep projector_schedule(const ProjectorOptions& opt, int step, double w_std);

// The mean and spread of w over w_avg_samples draws of z through the mapping
// (no labels, no truncation; the first of the num_ws rows): w_avg [1, 1,
// w_dim] float32 on G's device, and w_std = sqrt(sum((w - w_avg)^2) / N) over
// all entries. Formed in float64 (the official code in float32).
struct WStats {
  Tensor w_avg;
  double w_std = 0;
};
WStats w_stats(Generator& G, int samples, DrawLog* log = nullptr);

// The noise regularization of one buffer [H, W] (square, a power of two):
// at each scale, the squared means of the buffer times itself rolled by one
// pixel along each axis, then a 2x2 average pool, until the size is 8 or less.
// Differentiable in the buffer.
Tensor noise_regularization(const Tensor& buffer);

// What a projection gives: one w per step (the official w_out, before its
// repeat over num_ws) and the step's LPIPS distance and loss (before the
// step's update), the noise buffers at the end, and the w spread used.
struct Projection {
  Tensor w_steps;  // [num_steps, w_dim], float32, CPU
  std::vector<double> dist, loss;
  std::vector<std::pair<std::string, Tensor>> noise;  // name -> [res, res] float32 CPU, after the last renormalization
  double w_std = 0;
};

// target: [img_channels, res, res], res = G's img_resolution, values 0..255
// (float32, any device; it moves to G's device). A 1-channel G's images and
// target are repeated to 3 channels for the VGG (an extension: the official
// projector takes RGB networks only). Images larger than 256 are area-pooled
// to 256 before the VGG, as the official code does. G and vgg must be on one
// device. G's parameters are left not requiring grad (a frozen copy in the
// official code); its noise_const buffers are optimized in replacements and
// the originals are back in place when project returns or throws, so G
// renders the result as the official deep copy's caller does. on_step (may
// be empty) sees each step's index and its dist and loss. Throws gf::Error
// for a conditional G, a target of the wrong shape, or bad options.
Projection project(Generator& G, const perceptual::Vgg16& vgg, const Tensor& target, const ProjectorOptions& opt,
                   DrawLog* log = nullptr, const std::function<void(int, double, double)>& on_step = {});

// ws [1, num_ws, w_dim] of step k's w, for rendering: w_steps row k repeated.
Tensor projected_ws(const Projection& p, int step, int num_ws);

}  // namespace gf::stylegan2
