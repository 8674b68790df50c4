#include "models/network_file.h"

#include <cstdio>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/io/npy.h"
#include "engine/strings.h"

namespace gf {

io::TensorMap select_prefix(const io::TensorMap& all, const std::string& prefix) {
  io::TensorMap out;
  for (const auto& [name, t] : all)
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) out.emplace(name.substr(prefix.size()), t);
  return out;
}

io::TensorMap add_prefix(const io::TensorMap& tensors, const std::string& prefix) {
  io::TensorMap out;
  for (const auto& [name, t] : tensors) out.emplace(prefix + name, t);
  return out;
}

nlohmann::json metadata_json(const io::SafetensorsFile& file, const std::string& path, const std::string& key) {
  auto meta = file.metadata.find(key);
  if (meta == file.metadata.end()) throw Error(path + ": no " + key + " in its metadata");
  return io::parse_json(meta->second, path + ": metadata " + key);
}

uint64_t metadata_seed(const io::SafetensorsFile& file, const std::string& path) {
  return metadata_value(file, path, "seed", [](const nlohmann::json& j) {
    if (!j.is_number_unsigned()) throw Error("must be a whole number >= 0, got " + io::json_excerpt(j));
    return j.get<uint64_t>();
  });
}

std::string network_family(const io::SafetensorsFile& file) {
  auto it = file.metadata.find("family");
  return it == file.metadata.end() ? "stylegan2" : it->second;
}

std::vector<std::string> networks_in(const io::SafetensorsFile& file) {
  auto it = file.metadata.find("network");
  if (it != file.metadata.end()) return {it->second};
  std::vector<std::string> out;
  for (const char* n : {"G", "D", "G_ema"})
    if (!select_prefix(file.tensors, std::string(n) + ".").empty()) out.push_back(n);
  return out;
}

io::TensorMap network_state(const io::SafetensorsFile& file, const std::string& path, const std::string& which) {
  const bool generator = which != "D";
  auto it = file.metadata.find("network");
  if (it != file.metadata.end()) {
    const bool is_gen = it->second == "G" || it->second == "G_ema";
    if (generator ? !is_gen : it->second != "D")
      throw Error(path + ": holds network '" + it->second + "', not " + (generator ? "a generator" : "a discriminator"));
    return file.tensors;
  }
  io::TensorMap state = select_prefix(file.tensors, which + ".");
  if (state.empty()) {
    // A bundle of G alone (a state dict of {'G': ...} converted): the way to
    // its generator, since the programs take G_ema, as the official ones do.
    const bool has_G = which == "G_ema" && !select_prefix(file.tensors, "G.").empty();
    // A state dict saved with safetensors' own tools: official names, and none
    // of ganforge's metadata (other tools may add theirs, {"format": "pt"}).
    bool ours = false;
    for (const auto& [key, value] : file.metadata)
      ours = ours || key == "network" || key == "family" ||
             (key.size() > 7 && key.compare(key.size() - 7, 7, "_kwargs") == 0);
    const bool bare = !ours && !select_prefix(file.tensors, generator ? "synthesis." : "b4.").empty();
    throw Error(path + ": holds no " + which + " network (no tensor named '" + which + ".*')" +
                (has_G ? "; it holds G: export_weights --in " + path + " --net G --out G.bin makes a file of it that this takes"
                 : bare ? "; its tensors are an official state dict without ganforge's metadata: import it with "
                          "tools/convert_weights.py import " + path + " net.bin"
                        : std::string()));
  }
  return state;
}

namespace {

bool floating_on_cpu(const Tensor& t) {
  return t.device().is_cpu() && (t.dtype() == DType::f32 || t.dtype() == DType::f64);
}

// What a diverging run overflows while its weights stay finite: the tracked
// means of W, and in a checkpoint Adam's second moments (+inf only: its
// first moments follow cleaned gradients, and Ranger's slow weights are
// weights) and the path-length mean.
// (An Adam second moment a gradient above 1.8e19 overflowed is +inf; a
// NaN or -inf there is damage.)
bool may_be_nonfinite(const std::string& name, const Tensor& t, bool training_state) {
  if (is_tracked_mean_of_w(name)) return true;
  if (!training_state) return false;
  return name == "state.pl_mean" || (ends_with(name, ".exp_avg_sq") && io::first_nan_or_minus_inf(t) < 0);
}

}  // namespace

bool is_tracked_mean_of_w(const std::string& name) { return ends_with(name, "w_avg") || ends_with(name, "dlatent_avg"); }

void check_finite_tensors(const io::TensorMap& tensors, const std::string& path, bool training_state) {
  for (const auto& [name, t] : tensors)
    if (floating_on_cpu(t) && !may_be_nonfinite(name, t, training_state)) io::check_finite(t, path + ": tensor '" + name + "'");
}

std::string first_nonfinite_tensor(const io::TensorMap& tensors) {
  for (const auto& [name, t] : tensors)
    if (floating_on_cpu(t) && io::first_nonfinite(t) >= 0) return name;
  return "";
}

namespace {

// A batch norm's running variance is a mean of squares: a negative one (a
// damaged file) made sqrt NaN, and pSp's latents NaN, without a word. Throws
// naming the tensor.
void check_running_variances(const Module& net, const std::string& path, const std::string& what) {
  for (const auto& [name, t] : net.named_buffers()) {
    if (!ends_with(name, "running_var")) continue;
    const Tensor c = t.to(Device::cpu());
    const int64_t i = io::first_negative(c);
    if (i >= 0) {
      char value[32];
      std::snprintf(value, sizeof value, "%g", c.to_vector()[size_t(i)]);
      throw Error(path + ": " + what + ": tensor '" + name + "' holds " + value + " at [" + std::to_string(i) +
                  "]: a running variance is >= 0 (a damaged file?)");
    }
  }
}

}  // namespace

void load_module(Module& net, const io::TensorMap& state, const std::string& path, const std::string& what,
                 bool built_from_metadata) {
  check_finite_tensors(state, path);
  try {
    net.load_state_dict(state);
  } catch (const Error& e) {
    // A network built from the file's own metadata that its tensors do not
    // fit means the two disagree (a hand-edited or damaged header).
    throw Error(path + ": " + what + ": " + e.what() +
                (built_from_metadata ? " (the tensors do not fit the network the file's metadata describes)" : ""));
  }
  check_running_variances(net, path, what);
}

std::vector<std::string> load_module_what_fits(Module& net, const io::TensorMap& state, const std::string& path,
                                               const std::string& what, const std::string& built_for) {
  // The tensors it takes must be finite; one it leaves unused is not read (as the official copy).
  io::TensorMap used;
  const io::TensorMap slots = net.state_dict();
  for (const auto& [name, t] : state)
    if (slots.count(name)) used.emplace(name, t);
  check_finite_tensors(used, path);
  std::vector<std::string> kept;
  try {
    kept = net.load_what_fits(state);
  } catch (const Error& e) {
    throw Error(path + ": " + what + " " + built_for + ": " + e.what());
  }
  check_running_variances(net, path, what);
  return kept;
}

void save_network(const std::string& path, const Module& net, const std::string& network, const nlohmann::json& kwargs,
                  io::Metadata extra) {
  GF_CHECK(network == "G_ema" || network == "G" || network == "D", "save_network",
           "network must be G_ema, G or D, got '" << network << "'");
  extra["network"] = network;
  extra[network == "D" ? "D_kwargs" : "G_kwargs"] = io::json_text(kwargs);
  io::save_safetensors(path, net.state_dict(), extra);
}

void check_network_family(const io::SafetensorsFile& file, const std::string& path, const std::string& family,
                          const std::string& display) {
  const std::string found = network_family(file);
  if (found == family) return;
  // A pSp network or a loss network (LPIPS, ArcFace, ...) carries no family
  // tag, which reads as StyleGAN2's: said by what it is.
  std::string what = found + " networks";
  if (file.metadata.count("psp_kwargs")) what = "a pSp network (an encoder with its StyleGAN2 decoder)";
  else if (file.metadata.count("perceptual")) what = "a converted " + file.metadata.at("perceptual") + " network";
  throw Error(path + ": holds " + what + ", not " + display + " ones");
}

}  // namespace gf
