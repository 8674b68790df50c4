// VGG16 of models/perceptual/vgg16.h (NVIDIA's vgg16.pt) as the metrics'
// second detector: its fc2 features for pr50k3 and pr50k3_full, its LPIPS
// embedding for the PPLs; loaded from its converted .bin onto the device
// the metrics run on, with a key naming its weights for the real-feature
// cache.
#pragma once
#include <memory>
#include <string>

#include "metrics/metric_main.h"

namespace gf::perceptual {
class Vgg16;
}

namespace gf::metrics {

struct Vgg16Detector {
  std::shared_ptr<perceptual::Vgg16> net;
  std::string key;  // "vgg16:<hash of the file's bytes>"
  // Sets ctx.vgg_features, ctx.lpips and ctx.vgg16_key.
  void attach(MetricContext& ctx) const;
};

// Throws gf::Error naming the file when it is not a converted VGG16.
Vgg16Detector load_vgg16_detector(const std::string& path, Device device);

}  // namespace gf::metrics
