#include "metrics/inception_detector.h"

#include <cstdio>
#include <fstream>

#include "engine/autograd.h"
#include "engine/error.h"
#include "models/perceptual/network_file.h"

namespace gf::metrics {
namespace {

// FNV-1a 64 of the file's bytes: the cache key names the weights, not the path.
std::string file_hash(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  GF_CHECK(f, "load_inception_detector", "cannot read " << path);
  uint64_t h = 1469598103934665603ull;
  std::vector<char> buf(1 << 20);
  while (f) {
    f.read(buf.data(), std::streamsize(buf.size()));
    for (std::streamsize i = 0; i < f.gcount(); ++i) h = (h ^ uint8_t(buf[size_t(i)])) * 1099511628211ull;
  }
  char b[24];
  std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(h));
  return b;
}

}  // namespace

InceptionDetector load_inception_detector(const std::string& path, Device device) {
  InceptionDetector d;
  d.net = perceptual::load_inception(path);
  d.net->to(device);
  d.key = "inception-2015-12-05:" + file_hash(path);
  return d;
}

void InceptionDetector::attach(MetricContext& ctx) const {
  std::shared_ptr<perceptual::InceptionV3> n = net;
  ctx.features = [n](const Tensor& images) { return n->features(images); };
  ctx.probabilities = [n](const Tensor& images) { return n->probabilities(images); };
  ctx.detector_key = key;
}

}  // namespace gf::metrics
