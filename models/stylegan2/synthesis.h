// The StyleGAN2-ADA synthesis network, 'skip' architecture: a learned 4x4
// constant, then per resolution a block of modulated 3x3 convolutions with
// noise, and a ToRGB whose images are upsampled and summed across blocks.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/ops/noise.h"
#include "models/stylegan2/config.h"
#include "models/stylegan2/layers.h"

namespace gf::stylegan2 {

// How a synthesis pass draws its noise and runs its convolutions.
struct SynthesisOptions {
  NoiseMode noise_mode = NoiseMode::random;
  gf::Generator* noise_gen = nullptr;  // required for NoiseMode::random; drawn layer by layer
  // With NoiseMode::random: when set, each layer takes its noise [N, 1, res, res]
  // from here instead of noise_gen, given its official name ("b8.conv0"); a
  // training step records or replays its draws through it (train/draw_log.h).
  std::function<Tensor(const std::string& layer, const Shape& shape)> noise_source;
  // One grouped conv with per-sample weights, or activations scaled around a
  // shared conv; the same values either way. The official code fuses outside
  // training only (training/networks.py, SynthesisBlock.forward): inference
  // keeps this default, and the StyleGAN2 trainer's G passes turn it off
  // (train/stylegan2/trainer.cpp).
  bool fused_modconv = true;
};

// Modulated 3x3 conv (demodulated), noise, bias and lrelu with conv_clamp.
class SynthesisLayer : public Module {
 public:
  SynthesisLayer(int in_channels, int out_channels, int w_dim, int resolution, int up,
                 std::optional<double> conv_clamp, bool use_noise, ParamInit& init);
  // x [N, in, res/up, res/up], w [N, w_dim] -> [N, out, res, res].
  Tensor forward(const Tensor& x, const Tensor& w, const SynthesisOptions& opt, double gain = 1) const;

  Tensor& resample_filter;     // buffer [4, 4]
  FullyConnectedLayer& affine;  // w -> styles [N, in], bias initialized to 1
  Tensor& weight;              // [out, in, 3, 3]
  Tensor* noise_const;         // buffer [res, res], with noise
  Tensor* noise_strength;      // scalar, with noise
  Tensor& bias;                // [out]

 private:
  int resolution_, up_;
  std::string name_;  // "b<res>.conv0" (upsampling) or "b<res>.conv1", for SynthesisOptions::noise_source
  BiasActSpec act_;
};

// Modulated 1x1 conv without demodulation, plus bias, linear.
class ToRGBLayer : public Module {
 public:
  ToRGBLayer(int in_channels, int out_channels, int w_dim, std::optional<double> conv_clamp, ParamInit& init);
  Tensor forward(const Tensor& x, const Tensor& w, bool fused_modconv = true) const;

  FullyConnectedLayer& affine;
  Tensor& weight;  // [out, in, 1, 1]
  Tensor& bias;    // [out]

 private:
  double weight_gain_;
  BiasActSpec act_;
};

class SynthesisBlock : public Module {
 public:
  // in_channels 0: the first block, which starts from the learned constant.
  SynthesisBlock(int in_channels, int out_channels, int w_dim, int resolution, int img_channels,
                 std::optional<double> conv_clamp, bool use_noise, ParamInit& init);
  // ws [N, num_conv + num_torgb, w_dim]; x and img from the previous block
  // (undefined for the first) -> {x, img} at this resolution.
  std::pair<Tensor, Tensor> forward(const Tensor& x, const Tensor& img, const Tensor& ws,
                                    const SynthesisOptions& opt) const;

  int num_conv() const { return conv0 ? 2 : 1; }
  int num_torgb() const { return 1; }

  Tensor& resample_filter;  // buffer [4, 4]
  Tensor* const_input;      // "const" [out, 4, 4], first block only
  SynthesisLayer* conv0;    // up = 2, all but the first block
  SynthesisLayer& conv1;
  ToRGBLayer& torgb;

 private:
  int in_channels_, resolution_, w_dim_;
};

class SynthesisNetwork : public Module {
 public:
  SynthesisNetwork(int w_dim, int img_resolution, int img_channels, int channel_base, int channel_max,
                   std::optional<double> conv_clamp, bool use_noise, ParamInit& init);
  // ws [N, num_ws, w_dim] -> img [N, img_channels, res, res].
  Tensor forward(const Tensor& ws, const SynthesisOptions& opt = {}) const;

  int num_ws() const { return num_ws_; }
  int w_dim() const { return w_dim_; }
  const std::vector<int>& block_resolutions() const { return resolutions_; }
  std::vector<SynthesisBlock*> blocks;  // b4, b8, ..., b<img_resolution>

 private:
  int w_dim_, num_ws_ = 0;
  std::vector<int> resolutions_;
};

}  // namespace gf::stylegan2
