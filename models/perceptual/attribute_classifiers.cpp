#include "models/perceptual/attribute_classifiers.h"

#include <set>

#include "engine/autograd.h"
#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/io/safetensors.h"
#include "models/network_file.h"
#include "models/pggan/config.h"

namespace gf::perceptual {
namespace {

constexpr const char* kKind = "celebahq-classifiers";
constexpr int kCount = 40;  // the official metric's attrib_indices, range(40)

// "classifier_07": the converter's names, as the official files' NN.
std::string classifier_name(size_t k) { return std::string("classifier_") + (k < 10 ? "0" : "") + std::to_string(k); }

}  // namespace

AttributeClassifiers AttributeClassifiers::load(const std::string& path) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  const auto kind = file.metadata.find("perceptual");
  if (kind == file.metadata.end() || kind->second != kKind)
    throw Error(path + ": not a converted set of attribute classifiers (metadata perceptual is '" +
                (kind == file.metadata.end() ? std::string() : kind->second) +
                "'; convert the 40 celebahq-classifier-NN-*.pkl of StyleGAN's linear separability metric with "
                "tools/convert_weights.py import FOLDER classifiers.bin --format celebahq-classifiers)");
  AttributeClassifiers c;
  c.names_ = metadata_value(file, path, "classifiers", [](const nlohmann::json& j) {
    GF_CHECK(j.is_array() && j.size() == size_t(kCount), "classifiers",
             "must list the " << kCount << " classifiers' names, got " << io::json_excerpt(j));
    return j.get<std::vector<std::string>>();
  });
  std::set<std::string> prefixes;
  for (size_t k = 0; k < c.names_.size(); ++k) {
    const std::string which = classifier_name(k), key = which + "_kwargs";
    prefixes.insert(which + ".");
    const pggan::DiscriminatorConfig cfg = metadata_value(file, path, key, pggan::discriminator_config_from_json);
    const std::string where = path + ": " + key;
    GF_CHECK(cfg.num_channels == 3 && cfg.label_size == 0 && cfg.mbstd_group_size <= 1, where,
             "classifier " << c.names_[k] << " takes " << cfg.num_channels << " channels, " << cfg.label_size
                           << " labels and minibatch-stddev groups of " << cfg.mbstd_group_size
                           << "; an attribute classifier takes RGB, no label and no minibatch-stddev layer");
    GF_CHECK(c.side_ == 0 || c.side_ == cfg.resolution, where,
             "classifier " << c.names_[k] << " takes " << cfg.resolution << "x" << cfg.resolution
                           << " images, the first one " << c.side_ << "x" << c.side_);
    c.side_ = cfg.resolution;
    const io::TensorMap state = select_prefix(file.tensors, which + ".");
    GF_CHECK(!state.empty(), path, "holds no tensor of classifier " << which << " (" << c.names_[k] << ")");
    auto net = std::make_shared<pggan::Discriminator>(cfg, 0);
    load_module(*net, state, path, which, /*built_from_metadata=*/true);
    c.nets_.push_back(std::move(net));
  }
  for (const auto& [name, t] : file.tensors) {
    const size_t dot = name.find('.');
    GF_CHECK(dot != std::string::npos && prefixes.count(name.substr(0, dot + 1)), path,
             "tensor '" << name << "' belongs to no classifier of the list (" << c.names_.size() << " names)");
  }
  return c;
}

Tensor AttributeClassifiers::logits(const Tensor& images) const {
  GF_CHECK(images.dim() == 4 && images.size(1) == 3 && images.size(2) == side_ && images.size(3) == side_,
           "attribute classifiers", "take [N, 3, " << side_ << ", " << side_ << "] images, got " << images.desc());
  NoGradGuard ng;
  std::vector<Tensor> columns;
  for (const auto& net : nets_) columns.push_back(pggan::scores(net->forward(images)));
  return concat(columns, 1);
}

void AttributeClassifiers::to(Device d) {
  for (auto& net : nets_) net->to(d);
}

}  // namespace gf::perceptual
