// What every family's network files share: ganforge .bin bundles hold
// networks under the prefixes "G.", "D.", "G_ema." with their configs as JSON
// in the metadata ("G_kwargs", "D_kwargs"); a standalone network file holds
// one network unprefixed with metadata "network" = G_ema | G | D. A family's
// own network_file.h builds its networks from those configs.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/allocator.h"
#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/io/safetensors.h"
#include "engine/module.h"

namespace gf {

// The tensors named "<prefix>..." with the prefix removed.
io::TensorMap select_prefix(const io::TensorMap& all, const std::string& prefix);
// Every name given the prefix.
io::TensorMap add_prefix(const io::TensorMap& tensors, const std::string& prefix);

// Metadata `key` parsed as JSON; throws gf::Error naming the file when it is
// absent or not JSON.
nlohmann::json metadata_json(const io::SafetensorsFile& file, const std::string& path, const std::string& key);

// Metadata `key` turned into a value by `convert` (a config's or spec's
// from_json, or a typed read): every failure, a gf::Error or a JSON type error
// (a string where a number belongs), is one gf::Error "<path>: metadata
// <key>: ...". Every reader of a .bin's metadata goes through here, so none
// lets an error out without naming its file.
template <class Convert>
auto metadata_value(const io::SafetensorsFile& file, const std::string& path, const std::string& key, Convert convert)
    -> decltype(convert(std::declval<const nlohmann::json&>())) {
  const nlohmann::json j = metadata_json(file, path, key);
  try {
    return convert(j);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": metadata " + key + ": " + io::json_error_text(e));
  } catch (const Error& e) {
    throw Error(path + ": metadata " + key + ": " + e.what());
  }
}

// Metadata "seed": a whole number in [0, 2^64) (a negative or fractional one
// was converted silently).
uint64_t metadata_seed(const io::SafetensorsFile& file, const std::string& path);

// The network family a file holds: its metadata "family" ("pggan", ...);
// files without one (written before there was a second family) are "stylegan2".
std::string network_family(const io::SafetensorsFile& file);

// Which networks a file holds: "G", "D", "G_ema" for a bundle (those present),
// or the single metadata "network" of a standalone file.
std::vector<std::string> networks_in(const io::SafetensorsFile& file);

// The state of network `which` ("G_ema", "G" or "D"): a standalone file must
// hold a generator (G_ema and G both accept it) or a discriminator as asked;
// a bundle must have tensors under "<which>.". Throws gf::Error naming the file.
io::TensorMap network_state(const io::SafetensorsFile& file, const std::string& path, const std::string& which);

// Throws gf::Error "<path>: tensor '<name>': element [...] is nan ..." for
// the first tensor of a file's that holds a NaN or an infinity: weights are
// finite, and a damaged file (8 bytes of 0xff in a weight) otherwise gave
// NaN images or a NaN run without a word. Passed over: the tracked means of
// W (w_avg, v1's dlatent_avg), which a diverging run overflows while its
// weights stay finite and which the official code uses only to truncate
// (a NaN one gives NaN images at psi != 1, which the programs refuse); and,
// with training_state, an optimizer's second moments holding +inf (*.exp_avg_sq:
// Adam's of a finite gradient above 1.8e19 is inf, after which the official
// Adam goes on with steps of 0; a NaN there, or anything not finite in the
// first moments or Ranger's slow weights, is damage) and state.pl_mean, so
// that a diverged run's checkpoint resumes as the run would have gone on.
void check_finite_tensors(const io::TensorMap& tensors, const std::string& path, bool training_state = false);
// Whether a tensor name is a tracked mean of W: StyleGAN2's mapping.w_avg,
// v1's dlatent_avg (which truncation uses, and a diverging run overflows).
bool is_tracked_mean_of_w(const std::string& name);
// The first tensor of `tensors` that holds a NaN or an infinity, "" when none.
std::string first_nonfinite_tensor(const io::TensorMap& tensors);

// net.load_state_dict(state), with an error prefixed by "<path>: <what>: ";
// every tensor of state must be finite (check_finite_tensors), and every
// batch norm's running_var >= 0. When net was
// built from the same file's metadata, a mismatch says the two disagree.
void load_module(Module& net, const io::TensorMap& state, const std::string& path, const std::string& what,
                 bool built_from_metadata = false);
// The same checks around net.load_what_fits(state) (engine/module.h: the
// official StyleGAN2-ADA resume onto networks built for other data, which
// `built_for` says: "built for ds's 16x16x3 images", added to the line of a
// tensor that does not broadcast). Returns the names of net's tensors that
// state lacks (left as they were).
std::vector<std::string> load_module_what_fits(Module& net, const io::TensorMap& state, const std::string& path,
                                               const std::string& what, const std::string& built_for);

// Throws gf::Error naming the file unless network_family(file) is `family`
// ("<path>: holds <found> networks, not <display> ones").
void check_network_family(const io::SafetensorsFile& file, const std::string& path, const std::string& family,
                          const std::string& display);

// Runs `build` (a network's construction from a file's config) under a
// CpuGrowthCap of twice the bytes of `state`, the file's tensors for it,
// plus 64 MiB: a network holds its parameters and buffers, which its file
// holds, and a config describing far more (a damaged or hostile one: z_dim
// 2^24 beside tensors of one element) is refused before it fills memory.
// The error: "the network it describes needs over N MiB ...".
template <class Build>
auto build_within_file(const io::TensorMap& state, const std::string& which, Build build) -> decltype(build()) {
  uint64_t held = 0;
  for (const auto& [name, t] : state) held += static_cast<uint64_t>(t.nbytes());
  const uint64_t growth = 2 * held + (uint64_t(64) << 20);
  CpuGrowthCap cap(static_cast<size_t>(growth), "the network it describes needs over " + std::to_string(growth >> 20) +
                                                    " MiB (twice the " + std::to_string(held) + " bytes of the file's " +
                                                    which + " tensors, plus 64 MiB): a damaged or edited config?");
  return build();
}

// Network `which` of a file: built from the metadata JSON `kwargs_key` by
// `config_from_json`, as `Net(config, 0)` (build_within_file), then loaded
// with network_state. A bad config is named "<path>: <kwargs_key>: ...".
// The family is the caller's to check.
template <class Net, class ConfigFromJson>
std::unique_ptr<Net> load_network(const io::SafetensorsFile& file, const std::string& path, const std::string& which,
                                  const std::string& kwargs_key, ConfigFromJson config_from_json) {
  const io::TensorMap state = network_state(file, path, which);
  const auto config = metadata_value(file, path, kwargs_key, config_from_json);
  std::unique_ptr<Net> net;
  try {
    net = build_within_file(state, which, [&] { return std::make_unique<Net>(config, 0); });
  } catch (const Error& e) {
    throw Error(path + ": " + kwargs_key + ": " + e.what());
  }
  load_module(*net, state, path, which, /*built_from_metadata=*/true);
  return net;
}

// A standalone network file: the module's state dict unprefixed, with its
// config under G_kwargs or D_kwargs. `network` is "G_ema", "G" or "D".
void save_network(const std::string& path, const Module& net, const std::string& network,
                  const nlohmann::json& kwargs, io::Metadata extra = {});

}  // namespace gf
