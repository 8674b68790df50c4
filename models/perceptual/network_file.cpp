#include "models/perceptual/network_file.h"

#include <sstream>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/stylegan2/network_file.h"

namespace gf::perceptual {
namespace {

// The file's kind must be `kind`; its config comes from metadata `key`
// (an empty object when `optional` and the file has none).
nlohmann::json checked_kwargs(const io::SafetensorsFile& file, const std::string& path, const std::string& kind,
                              const std::string& key, const std::string& convert_hint, bool optional) {
  auto it = file.metadata.find("perceptual");
  if (it == file.metadata.end() || it->second != kind)
    throw Error(path + ": not a converted " + kind + " network (metadata perceptual is '" +
                (it == file.metadata.end() ? std::string() : it->second) + "'; " + convert_hint + ")");
  if (optional && file.metadata.count(key) == 0) return nlohmann::json::object();
  return stylegan2::metadata_json(file, path, key);
}

// kwargs_optional: a file without metadata `key` gets the default config.
template <class Net, class Config>
std::unique_ptr<Net> load(const std::string& path, const std::string& kind, const std::string& key,
                          Config (*from_json)(const nlohmann::json&), const std::string& hint,
                          bool kwargs_optional = false) {
  const io::SafetensorsFile file = io::read_safetensors(path);
  Config cfg;
  try {
    cfg = from_json(checked_kwargs(file, path, kind, key, hint, kwargs_optional));
  } catch (const Error& e) {
    const std::string m = e.what();
    throw Error(m.rfind(path, 0) == 0 ? m : path + ": " + m);
  } catch (const nlohmann::json::exception& e) {  // a value of the wrong type
    throw Error(path + ": metadata " + key + ": " + io::json_error_text(e));
  }
  ParamInit init(0);
  init.skip_draws = true;
  std::unique_ptr<Net> net;
  if (!file.metadata.count(key)) {  // the official network, of a known size: a narrower file's tensors are named below
    net = std::make_unique<Net>(cfg, init);
  } else {
    try {
      net = build_within_file(file.tensors, kind, [&] { return std::make_unique<Net>(cfg, init); });
    } catch (const Error& e) {
      throw Error(path + ": " + key + ": " + e.what());
    }
  }
  stylegan2::load_module(*net, file.tensors, path, kind, /*built_from_metadata=*/true);
  return net;
}

}  // namespace

std::unique_ptr<Lpips> load_lpips(const std::string& path) {
  return load<Lpips, LpipsConfig>(path, "lpips", "lpips_kwargs", lpips_config_from_json,
                                  "convert torchvision's AlexNet and LPIPS's alex.pth with tools/convert_weights.py "
                                  "import alex.pth lpips.bin --alexnet alexnet-owt-7be5be79.pth");
}

std::unique_ptr<ArcFace> load_arcface(const std::string& path) {
  return load<ArcFace, ArcFaceConfig>(path, "arcface", "arcface_kwargs", arcface_config_from_json,
                                      "convert pSp's model_ir_se50.pth with tools/convert_weights.py import "
                                      "model_ir_se50.pth arcface.bin");
}

std::unique_ptr<ResNet> load_moco(const std::string& path) {
  return load<ResNet, ResNetConfig>(path, "moco", "moco_kwargs", resnet_config_from_json,
                                    "convert MoCo v2's moco_v2_800ep_pretrain.pth.tar (pSp's MoCo loss) with "
                                    "tools/convert_weights.py import moco_v2_800ep_pretrain.pth.tar moco.bin");
}

std::unique_ptr<InceptionV3> load_inception(const std::string& path) {
  return load<InceptionV3, InceptionConfig>(path, "inception", "inception_kwargs", inception_config_from_json,
                                            "convert the metrics' inception-2015-12-05.pt with "
                                            "tools/convert_weights.py",
                                            true);
}

std::unique_ptr<Vgg16> load_vgg16(const std::string& path) {
  auto net = load<Vgg16, Vgg16Config>(path, "vgg16", "vgg16_kwargs", vgg16_config_from_json,
                                      "convert torchvision's vgg16-397923af.pth and LPIPS's vgg.pth with "
                                      "tools/convert_weights.py --format vgg16",
                                      true);
  // The embedding scales by their square roots: a negative weight has none.
  for (int k = 0; k < 5; ++k) {
    const std::string name = "lin" + std::to_string(k) + ".model.1.weight";
    const std::vector<double> w = net->state_dict().at(name).to_vector();
    for (size_t i = 0; i < w.size(); ++i)
      if (!(w[i] >= 0)) {
        std::ostringstream m;
        m << path << ": " << name << "[0, " << i << ", 0, 0] is " << w[i]
          << ": LPIPS lin weights must be non-negative (the embedding takes their square roots)";
        throw Error(m.str());
      }
  }
  return net;
}

void save_lpips(const std::string& path, const Lpips& net) {
  io::save_safetensors(path, net.state_dict(), {{"perceptual", "lpips"}, {"lpips_kwargs", io::json_text(to_json(net.config()))}});
}

void save_arcface(const std::string& path, const ArcFace& net) {
  io::save_safetensors(path, net.state_dict(),
                       {{"perceptual", "arcface"}, {"arcface_kwargs", io::json_text(to_json(net.config()))}});
}

void save_moco(const std::string& path, const ResNet& net) {
  io::save_safetensors(path, net.state_dict(), {{"perceptual", "moco"}, {"moco_kwargs", io::json_text(to_json(net.config()))}});
}

void save_inception(const std::string& path, const InceptionV3& net) {
  io::save_safetensors(path, net.state_dict(),
                       {{"perceptual", "inception"}, {"inception_kwargs", io::json_text(to_json(net.config()))}});
}

void save_vgg16(const std::string& path, const Vgg16& net) {
  io::save_safetensors(path, net.state_dict(), {{"perceptual", "vgg16"}, {"vgg16_kwargs", io::json_text(to_json(net.config()))}});
}

}  // namespace gf::perceptual
