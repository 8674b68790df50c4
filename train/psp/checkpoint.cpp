#include "train/psp/checkpoint.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/psp/network_file.h"
#include "models/stylegan2/network_file.h"
#include "train/checkpoint_state.h"

namespace gf::psp {
namespace {

using stylegan2::add_prefix;
using stylegan2::select_prefix;

constexpr double k2to32 = 4294967296.0, k2to53 = 9007199254740992.0;

Tensor f64(double v) { return Tensor::from_vector({v}, {1}, DType::f64); }

// A whole number in [0, limit) from a one-value tensor.
double whole(const io::TensorMap& m, const std::string& name, double limit, const std::string& path, size_t i = 0,
             int64_t numel = 1) {
  auto it = m.find(name);
  if (it == m.end()) throw Error(path + ": checkpoint has no tensor '" + name + "'");
  if (it->second.numel() != numel)
    throw Error(path + ": '" + name + "' has " + std::to_string(it->second.numel()) + " values, expected " +
                std::to_string(numel));
  const double v = it->second.to_vector()[i];
  if (!(v >= 0 && v < limit && v == std::floor(v)))
    throw Error(path + ": '" + name + "' must hold whole numbers below " + std::to_string(limit));
  return v;
}

// 64-bit values as two exact float64 halves.
Tensor u64_tensor(uint64_t x) {
  return Tensor::from_vector({double(x >> 32), double(x & 0xFFFFFFFFu)}, {2}, DType::f64);
}
uint64_t u64_of(const io::TensorMap& m, const std::string& name, const std::string& path) {
  return (uint64_t(whole(m, name, k2to32, path, 0, 2)) << 32) | uint64_t(whole(m, name, k2to32, path, 1, 2));
}

io::TensorMap network_tensors(const Psp& net) {
  io::TensorMap t = add_prefix(net.encoder->state_dict(), "encoder.");
  t.merge(add_prefix(net.decoder->state_dict(), "G_ema."));
  if (net.latent_avg.defined()) t["latent_avg"] = net.latent_avg.to(Device::cpu());
  return t;
}

io::Metadata network_metadata(const Psp& net) {
  return {{"psp_kwargs", io::json_text(to_json(net.config()))}, {"G_kwargs", io::json_text(stylegan2::to_json(net.decoder->config()))}};
}

}  // namespace

void save_snapshot(const std::string& path, const PspTrainer& t) {
  io::save_safetensors(path, network_tensors(t.net()), network_metadata(t.net()));
}

void save_checkpoint(const std::string& path, PspTrainer& t) {
  io::TensorMap all = network_tensors(t.net());
  all.merge(add_prefix(t.optimizer().state_dict(), "opt."));
  all.merge(t.sampler().state_dict("sampler."));
  all["state.step"] = f64(double(t.cur_step()));
  all["state.rng_seed"] = u64_tensor(t.rng().seed);
  all["state.rng_offset"] = u64_tensor(t.rng().offset);
  io::Metadata meta = network_metadata(t.net());
  meta["format"] = kPspCheckpointFormat;
  meta["spec"] = io::json_text(to_json(t.spec()));
  meta["seed"] = std::to_string(t.seed());
  add_dataset_metadata(meta, t.dataset());
  io::save_safetensors(path, all, meta);
}

bool is_psp_checkpoint(const io::SafetensorsFile& file) {
  auto it = file.metadata.find("format");
  return it != file.metadata.end() && it->second == kPspCheckpointFormat;
}

PspTrainSpec checkpoint_spec(const io::SafetensorsFile& file, const std::string& path, uint64_t* seed) {
  if (!is_psp_checkpoint(file))
    throw Error(path + ": not a train_psp checkpoint (metadata format is not " + kPspCheckpointFormat + ")");
  *seed = stylegan2::metadata_seed(file, path);
  return stylegan2::metadata_value(file, path, "spec", psp_train_spec_from_json);
}

std::unique_ptr<Psp> checkpoint_network(const io::SafetensorsFile& file, const std::string& path) {
  // load_psp reads the network's tensors; the training state beside them is not its business.
  io::SafetensorsFile net;
  net.metadata = file.metadata;
  for (const auto& [name, t] : file.tensors)
    if (name.rfind("encoder.", 0) == 0 || name.rfind("G_ema.", 0) == 0 || name == "latent_avg") net.tensors.emplace(name, t);
  return load_psp(net, path);
}

void load_checkpoint_state(PspTrainer& t, const io::SafetensorsFile& file, const std::string& path) {
  const io::TensorMap& all = file.tensors;
  check_finite_tensors(all, path, /*training_state=*/true);
  const double step = whole(all, "state.step", k2to53, path);
  const uint64_t rng_seed = u64_of(all, "state.rng_seed", path), rng_offset = u64_of(all, "state.rng_offset", path);
  if (rng_seed != t.rng().seed) throw Error(path + ": random seed does not match the run's");
  check_same_dataset(file, path, t.dataset(), "--data and --max-images");
  const io::TensorMap opt_state = select_prefix(all, "opt.");
  // Past step 0 the optimizer holds state (a parameter without a gradient
  // may have none, so slots are not counted): a checkpoint without any
  // resumed with a fresh optimizer, silently.
  if (step > 0 && opt_state.empty())
    throw Error(path + ": holds no optimizer state (opt.*) at step " + std::to_string(int64_t(step)) +
                ": a damaged or edited checkpoint");
  try {
    t.optimizer().load_state_dict(opt_state);
    t.sampler().load_state_dict(all, "sampler.");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  t.rng().offset = rng_offset;
  t.set_step(int64_t(step));
}

}  // namespace gf::psp
