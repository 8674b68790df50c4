// LPIPS with AlexNet (Zhang et al. 2018, "The Unreasonable Effectiveness of
// Deep Features as a Perceptual Metric", v0.1), as pSp computes it in
// criteria/lpips/ (lpips.py, networks.py, utils.py):
//   - the input, in [-1, 1], shifted and scaled per channel:
//     (x - [-.030, -.088, -.188]) / [.458, .448, .450];
//   - torchvision's AlexNet feature stack (conv 11x11/4 pad 2, ReLU, max pool
//     3/2, conv 5x5 pad 2, ReLU, max pool 3/2, conv 3x3 pad 1, ReLU, conv 3x3,
//     ReLU, conv 3x3, ReLU), tapped after each of its five ReLUs (64, 192,
//     384, 256, 256 channels);
//   - each tap unit-normalized over its channels, x / (sqrt(sum_c x^2) + 1e-10);
//   - the squared difference of the two images' taps, a 1x1 "lin" conv to one
//     channel without bias (the learned LPIPS v0.1 weights), the mean over
//     the pixels;
//   - the sum over the taps and the batch, divided by the batch size.
// Module names are pSp's LPIPS module's: net.layers.{0,3,6,8,10}.{weight,bias}
// (torchvision's features.N) and lin.{0..4}.1.weight (LPIPS's linN.model.1).
// The channel counts are a setting, so tests run the same code on a small
// network; the defaults are AlexNet's.
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "models/torch_layers.h"

namespace gf::perceptual {

struct LpipsConfig {
  std::vector<int> channels = {64, 192, 384, 256, 256};  // the five conv layers' outputs
  void validate() const;                                  // throws gf::Error naming the problem
};
nlohmann::json to_json(const LpipsConfig& c);
LpipsConfig lpips_config_from_json(const nlohmann::json& j);  // throws gf::Error on unknown keys or bad values

class Lpips : public Module {
 public:
  // Parameters drawn from init (tests); real weights come from a converted file
  // (models/perceptual/network_file.h). The parameters do not require grad:
  // the loss network is fixed.
  Lpips(const LpipsConfig& cfg, ParamInit& init);

  // The five unit-normalized taps of x [N, 3, H, W] in [-1, 1]. H and W must be
  // at least 31 (the stack ends with 1x1 maps there).
  std::vector<Tensor> features(const Tensor& x) const;
  // The distance of x and y, [N, 3, H, W] in [-1, 1]: a scalar, the mean over
  // the batch of the per-image LPIPS. Differentiable in both.
  Tensor forward(const Tensor& x, const Tensor& y) const;
  const LpipsConfig& config() const { return cfg_; }

 private:
  LpipsConfig cfg_;
  std::vector<nn::Conv2d*> convs_;  // features 0, 3, 6, 8, 10
  std::vector<nn::Conv2d*> lins_;
};

}  // namespace gf::perceptual
