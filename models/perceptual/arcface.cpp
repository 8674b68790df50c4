#include "models/perceptual/arcface.h"

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/config_json.h"

namespace gf::perceptual {

using json = nlohmann::json;

void ArcFaceConfig::validate() const {
  body.validate("arcface config");
  GF_CHECK(body.input_nc == 3, "arcface config", "ArcFace reads RGB images; input_nc is " << body.input_nc);
  GF_CHECK(embedding >= 1, "arcface config", "embedding must be positive, got " << embedding);
}

json to_json(const ArcFaceConfig& c) {
  return json{{"mode", c.body.mode},     {"units", c.body.units},   {"depths", c.body.depths},
              {"se_reduction", c.body.se_reduction}, {"embedding", c.embedding}, {"affine", c.affine},
              {"input_size", ArcFaceConfig::input_size}};
}

ArcFaceConfig arcface_config_from_json(const json& j) {
  ArcFaceConfig c;
  GF_CHECK(j.is_object(), "arcface_kwargs", "must be a JSON object, got " << io::json_excerpt(j));
  try {
    for (const auto& [key, v] : j.items()) {
      if (key == "mode") c.body.mode = v.get<std::string>();
      else if (key == "units") c.body.units = v.get<std::vector<int>>();
      else if (key == "depths") c.body.depths = v.get<std::vector<int>>();
      else if (key == "se_reduction") c.body.se_reduction = json_size(v);
      else if (key == "embedding") c.embedding = json_size(v);
      else if (key == "affine") c.affine = v.get<bool>();
      else if (key == "input_size")
        GF_CHECK(v == ArcFaceConfig::input_size, "arcface_kwargs", "input_size must be 112, got " << io::json_excerpt(v));
      else throw Error("arcface_kwargs: unknown key '" + key + "'");
    }
  } catch (const json::exception& e) {
    throw Error(std::string("arcface_kwargs: bad value (") + io::json_error_text(e) + ")");
  }
  c.validate();
  return c;
}

ArcFace::ArcFace(const ArcFaceConfig& cfg, ParamInit& init) : cfg_(cfg) {
  cfg.validate();
  // Backbone registers input_layer, output_layer, body in this order.
  child("input_layer", ir_.make_input_layer(cfg.body, init));
  nn::Sequential& out = child("output_layer", std::make_unique<nn::Sequential>());
  const int d = cfg.body.depths.back();
  out_bn2d_ = &out.add_named("0", std::make_unique<nn::BatchNorm>(d, init));
  out_linear_ = &out.add_named("3", std::make_unique<nn::Linear>(d * 7 * 7, cfg.embedding, init));
  out_bn1d_ = &out.add_named("4", std::make_unique<nn::BatchNorm>(cfg.embedding, init, cfg.affine));
  child("body", ir_.make_body(cfg.body, init));
  requires_grad_(false);
}

Tensor ArcFace::forward(const Tensor& x) const {
  const int s = ArcFaceConfig::input_size;
  GF_CHECK(x.dim() == 4 && x.size(1) == 3 && x.size(2) == s && x.size(3) == s, "arcface",
           "input must be [N, 3, 112, 112], got " << shape_str(x.shape()));
  Tensor h = ir_.input_layer(x);
  for (const nn::BottleneckIR* u : ir_.units()) h = u->forward(h);
  h = out_bn2d_->forward(h);  // then Dropout(0.6): the identity in eval mode
  h = out_linear_->forward(h.reshape({h.size(0), -1}));
  h = out_bn1d_->forward(h);
  return h / sqrt(sum(square(h), {1}, true));
}

}  // namespace gf::perceptual
