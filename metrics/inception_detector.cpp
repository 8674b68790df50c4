#include "metrics/inception_detector.h"

#include "metrics/stats_cache.h"
#include "models/perceptual/network_file.h"

namespace gf::metrics {

InceptionDetector load_inception_detector(const std::string& path, Device device) {
  InceptionDetector d;
  d.net = perceptual::load_inception(path);
  d.net->to(device);
  d.key = "inception-2015-12-05:" + file_content_key(path);
  return d;
}

void InceptionDetector::attach(MetricContext& ctx) const {
  std::shared_ptr<perceptual::InceptionV3> n = net;
  ctx.features = [n](const Tensor& images) { return n->features(images); };
  ctx.probabilities = [n](const Tensor& images) { return n->probabilities(images); };
  ctx.detector_key = key;
}

}  // namespace gf::metrics
