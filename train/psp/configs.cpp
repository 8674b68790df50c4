#include "train/psp/configs.h"

#include <algorithm>
#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"

namespace gf::psp {

using json = nlohmann::json;

std::vector<std::string> psp_config_names() { return {"psp", "cpu"}; }

PspTrainSpec make_psp_train_spec(const std::string& cfg, const stylegan2::GeneratorConfig& g) {
  GF_CHECK(g.c_dim == 0, "config",
           "the generator is conditional (" << g.c_dim << " labels); pSp's decoder takes W+ codes only");
  PspTrainSpec s;
  s.cfg = cfg;
  s.net.input_nc = g.img_channels;
  s.net.n_styles = 2 * int(std::log2(g.img_resolution)) - 2;
  s.net.start_from_latent_avg = false;  // pSp's train options: off unless --start_from_latent_avg
  if (cfg == "psp") {
    s.net.depths.back() = g.w_dim;  // IR-SE50 ends at 512, StyleGAN2's w_dim; another w_dim widens the last stage
  } else if (cfg == "cpu") {
    GF_CHECK(g.w_dim >= 8 && g.w_dim % 2 == 0, "config",
             "the cpu config's encoder ends at depth w_dim; w_dim " << g.w_dim << " must be even and at least 8");
    s.net.units = {1, 2, 2, 1};
    s.net.depths = {g.w_dim / 2, g.w_dim / 2, g.w_dim, g.w_dim};
    s.net.se_reduction = 4;
    s.net.input_size = std::min(256, std::max(32, g.img_resolution));
    s.batch = 8;
    s.max_steps = 2000;
    s.lr = 1e-2;
    s.lambdas.lpips = 0;
  } else {
    throw Error("train_psp: unknown --cfg '" + cfg + "' (one of psp, cpu)");
  }
  return s;
}

void check_psp_train_spec(const PspTrainSpec& s) {
  s.net.validate();
  GF_CHECK(s.batch >= 2, "config", "batch must be at least 2 (the encoder's batch norms train on batch statistics)");
  GF_CHECK(s.max_steps >= 0, "config", "max_steps must be >= 0");
  GF_CHECK(s.optim == "ranger" || s.optim == "adam", "config", "optim must be ranger or adam, got '" << s.optim << "'");
  GF_CHECK(std::isfinite(s.lr) && s.lr > 0, "config", "lr must be > 0, got " << s.lr);
  const PspLambdas& l = s.lambdas;
  for (double v : {l.l2, l.lpips, l.id, l.w_norm, l.lpips_crop, l.l2_crop, l.moco})
    GF_CHECK(std::isfinite(v) && v >= 0, "config", "every lambda must be >= 0, got " << v);
  GF_CHECK(l.l2 + l.lpips + l.id + l.w_norm + l.lpips_crop + l.l2_crop + l.moco > 0, "config",
           "every lambda is 0: nothing to train");
  GF_CHECK(!(l.id > 0 && l.moco > 0), "config", moco_beside_id_message());
  const bool needs_256 = l.id > 0 || l.lpips_crop > 0 || l.l2_crop > 0;
  GF_CHECK(!needs_256 || s.net.input_size == 256, "config",
           "the id loss and the crop losses use pSp's face region [35:223, 32:220] of 256x256 images; the input size is "
               << s.net.input_size);
  GF_CHECK(!(l.lpips > 0 || l.lpips_crop > 0) || s.net.input_size >= 32, "config",
           "LPIPS needs images of at least 32x32 (AlexNet's feature stack)");
  GF_CHECK(s.val_images >= 1, "config", "val_images must be at least 1");
}

json to_json(const PspTrainSpec& s) {
  const PspLambdas& l = s.lambdas;
  return json{{"cfg", s.cfg},
              {"psp_kwargs", to_json(s.net)},
              {"batch", s.batch},
              {"max_steps", s.max_steps},
              {"optim", s.optim},
              {"lr", s.lr},
              {"lambdas", {{"l2", l.l2}, {"lpips", l.lpips}, {"id", l.id}, {"w_norm", l.w_norm},
                           {"lpips_crop", l.lpips_crop}, {"l2_crop", l.l2_crop}, {"moco", l.moco}}},
              {"train_decoder", s.train_decoder},
              {"val_images", s.val_images},
              {"lpips", s.lpips_path},
              {"arcface", s.arcface_path},
              {"lpips_key", s.lpips_key},
              {"arcface_key", s.arcface_key},
              {"moco", s.moco_path},
              {"moco_key", s.moco_key},
              {"generator", s.generator_path},
              {"generator_key", s.generator_key}};
}

PspTrainSpec psp_train_spec_from_json(const json& j) {
  PspTrainSpec s;
  try {
    s.cfg = j.at("cfg").get<std::string>();
    s.net = psp_config_from_json(j.at("psp_kwargs"));
    s.batch = io::json_int(j.at("batch"));
    s.max_steps = j.at("max_steps").get<int64_t>();
    s.optim = j.at("optim").get<std::string>();
    s.lr = j.at("lr").get<double>();
    const json& l = j.at("lambdas");
    s.lambdas = {l.at("l2").get<double>(),     l.at("lpips").get<double>(),      l.at("id").get<double>(),
                 l.at("w_norm").get<double>(), l.at("lpips_crop").get<double>(), l.at("l2_crop").get<double>(),
                 l.value("moco", 0.0)};  // absent before 2026-12-04
    s.train_decoder = j.at("train_decoder").get<bool>();
    s.val_images = io::json_int(j.at("val_images"));
    s.lpips_path = j.at("lpips").get<std::string>();
    s.arcface_path = j.at("arcface").get<std::string>();
    s.lpips_key = j.value("lpips_key", "");  // absent before 2026-12-03
    s.arcface_key = j.value("arcface_key", "");
    s.moco_path = j.value("moco", "");  // absent before 2026-12-04
    s.moco_key = j.value("moco_key", "");
    s.generator_path = j.value("generator", "");  // absent before 2026-12-02
    s.generator_key = j.value("generator_key", "");
  } catch (const json::exception& e) {
    throw Error(std::string("train_psp: training spec in the file is incomplete: ") + io::json_error_text(e));
  }
  check_psp_train_spec(s);
  return s;
}

}  // namespace gf::psp
