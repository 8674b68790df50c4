#include "metrics/vgg16_detector.h"

#include "metrics/stats_cache.h"
#include "models/perceptual/vgg16.h"

namespace gf::metrics {

Vgg16Detector load_vgg16_detector(const std::string& path, Device device) {
  Vgg16Detector d;
  d.net = perceptual::load_vgg16(path);
  d.net->to(device);
  d.key = "vgg16:" + file_content_key(path);
  return d;
}

void Vgg16Detector::attach(MetricContext& ctx) const {
  std::shared_ptr<perceptual::Vgg16> n = net;
  ctx.vgg_features = [n](const Tensor& images) { return n->features(images); };
  ctx.lpips = [n](const Tensor& images) { return n->lpips_embedding(images); };
  ctx.lpips_min_side = perceptual::Vgg16::kMinLpipsSide;
  ctx.vgg16_key = key;
}

}  // namespace gf::metrics
