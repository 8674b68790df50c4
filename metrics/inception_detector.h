// The Inception network of models/perceptual/inception.h as the metrics'
// detector: loaded from its converted .bin onto the device the metrics run
// on, with a key naming its weights for the real-statistics cache.
#pragma once
#include <memory>
#include <string>

#include "metrics/metric_main.h"

namespace gf::perceptual {
class InceptionV3;
}

namespace gf::metrics {

struct InceptionDetector {
  std::shared_ptr<perceptual::InceptionV3> net;
  std::string key;  // "inception-2015-12-05:<hash of the file's bytes>"
  // Sets ctx.features, ctx.probabilities and ctx.detector_key.
  void attach(MetricContext& ctx) const;
};

// Throws gf::Error naming the file when it is not the converted detector.
InceptionDetector load_inception_detector(const std::string& path, Device device);

}  // namespace gf::metrics
