#include "models/psp/network_file.h"

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/stylegan2/network_file.h"

namespace gf::psp {

std::unique_ptr<Psp> load_psp(const io::SafetensorsFile& file, const std::string& path) {
  if (!file.metadata.count("psp_kwargs"))
    throw Error(path + ": not a pSp network (no psp_kwargs in its metadata; convert a pSp checkpoint with "
                       "tools/convert_weights.py import)");
  PspConfig cfg;
  stylegan2::GeneratorConfig gcfg;
  cfg = stylegan2::metadata_value(file, path, "psp_kwargs", psp_config_from_json);
  gcfg = stylegan2::metadata_value(file, path, "G_kwargs", stylegan2::generator_config_from_json);
  std::unique_ptr<Psp> net;
  try {
    net = build_within_file(file.tensors, "encoder and G_ema", [&] {
      return std::make_unique<Psp>(cfg, gcfg, 0, DType::f32, /*skip_draws=*/true);
    });
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  stylegan2::load_module(*net->encoder, stylegan2::select_prefix(file.tensors, "encoder."), path, "encoder", /*built_from_metadata=*/true);
  const io::TensorMap dec = stylegan2::select_prefix(file.tensors, "G_ema.");
  if (dec.empty()) throw Error(path + ": holds no decoder (no tensor named 'G_ema.*')");
  stylegan2::load_module(*net->decoder, dec, path, "decoder", /*built_from_metadata=*/true);
  // A train_psp checkpoint.bin holds the snapshot's tensors and the training
  // state beside them (train/psp/checkpoint.h): its network is read, as
  // generate reads a train_stylegan checkpoint's.
  const auto format = file.metadata.find("format");
  const bool checkpoint = format != file.metadata.end() && format->second.rfind("ganforge-psp-checkpoint/", 0) == 0;
  auto training_state = [&](const std::string& name) {
    return checkpoint && (name.rfind("opt.", 0) == 0 || name.rfind("sampler.", 0) == 0 || name.rfind("state.", 0) == 0);
  };
  for (const auto& [name, t] : file.tensors)
    if (name.rfind("encoder.", 0) != 0 && name.rfind("G_ema.", 0) != 0 && name != "latent_avg" && !training_state(name))
      throw Error(path + ": unexpected tensor '" + name + "'");
  auto it = file.tensors.find("latent_avg");
  if (it != file.tensors.end()) {
    const Tensor& la = it->second;
    const int64_t w = cfg.style_dim();
    // One w for a W encoder; else one per style, or one for all.
    const bool ok = (la.dim() == 1 && la.size(0) == w) ||
                    (la.dim() == 2 && la.size(1) == w && (la.size(0) == 1 || (!cfg.learn_in_w && la.size(0) == cfg.n_styles)));
    if (!ok)
      throw Error(path + ": latent_avg has shape " + shape_str(la.shape()) + ", expected [" + std::to_string(w) +
                  "], [1, " + std::to_string(w) + "] or [" + std::to_string(cfg.n_styles) + ", " +
                  std::to_string(w) + "]");
    net->latent_avg = la.to(DType::f32).clone();
  } else if (cfg.start_from_latent_avg) {
    throw Error(path + ": the network starts from latent_avg (start_from_latent_avg) but the file holds none");
  }
  return net;
}

std::unique_ptr<Psp> load_psp(const std::string& path) { return load_psp(io::read_safetensors(path), path); }

void save_psp(const std::string& path, const Psp& net) {
  io::TensorMap t = stylegan2::add_prefix(net.encoder->state_dict(), "encoder.");
  for (auto& [name, v] : stylegan2::add_prefix(net.decoder->state_dict(), "G_ema.")) t.emplace(name, v);
  if (net.latent_avg.defined()) t.emplace("latent_avg", net.latent_avg);
  io::Metadata meta;
  meta["psp_kwargs"] = io::json_text(to_json(net.config()));
  meta["G_kwargs"] = io::json_text(stylegan2::to_json(net.decoder->config()));
  io::save_safetensors(path, t, meta);
}

}  // namespace gf::psp
