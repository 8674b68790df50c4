// The 40 CelebA-HQ attribute classifiers of StyleGAN's linear separability
// metric (NVlabs/stylegan metrics/linear_separability.py: the files
// celebahq-classifier-00-male.pkl .. celebahq-classifier-39-wearing-necktie.pkl),
// converted into one file by tools/convert_weights.py --format
// celebahq-classifiers. Each is PGGAN's D_paper (models/pggan/networks.h)
// of 3 channels at 256x256 without labels or minibatch-stddev layer; its
// score is the attribute's logit (the official softmax([l, -l]) makes the
// two classes' probabilities).
// File layout: tensors "classifier_NN.<D_paper variable>", metadata
// "perceptual" = "celebahq-classifiers", "classifiers" = the JSON list of
// their names in index order ("00-male", ...), "classifier_NN_kwargs" = each
// one's D_kwargs (models/pggan/config.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/pggan/networks.h"

namespace gf::perceptual {

class AttributeClassifiers {
 public:
  // gf::Error naming the file for anything but a converted set of 40:
  // another kind of file, a classifier missing or misshapen, not RGB, with
  // labels or a minibatch-stddev layer (its logits would depend on the
  // batch), or the classifiers at different sides.
  static AttributeClassifiers load(const std::string& path);

  // images [N, 3, side, side] in [-1, 1] -> logits [N, count()] on the
  // networks' device.
  Tensor logits(const Tensor& images) const;
  void to(Device d);

  int64_t side() const { return side_; }
  int64_t count() const { return int64_t(nets_.size()); }
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::shared_ptr<pggan::Discriminator>> nets_;
  std::vector<std::string> names_;
  int64_t side_ = 0;
};

}  // namespace gf::perceptual
