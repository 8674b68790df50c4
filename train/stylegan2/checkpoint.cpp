#include "train/stylegan2/checkpoint.h"

#include <cmath>

#include "engine/error.h"
#include "models/stylegan2/network_file.h"

namespace gf {

using stylegan2::add_prefix;
using stylegan2::load_module;
using stylegan2::select_prefix;

namespace {

// 64-bit values as two exact float64 halves each (float64 holds 53 bits).
Tensor u64_tensor(const std::vector<uint64_t>& v) {
  std::vector<double> halves;
  for (uint64_t x : v) {
    halves.push_back(double(x >> 32));
    halves.push_back(double(x & 0xFFFFFFFFu));
  }
  return Tensor::from_vector(halves, {static_cast<int64_t>(halves.size())}, DType::f64);
}

const Tensor& need(const io::TensorMap& m, const std::string& name, int64_t numel, const std::string& path) {
  auto it = m.find(name);
  if (it == m.end()) throw Error(path + ": checkpoint has no tensor '" + name + "'");
  if (it->second.numel() != numel)
    throw Error(path + ": '" + name + "' has " + std::to_string(it->second.numel()) + " values, expected " +
                std::to_string(numel));
  return it->second;
}

// A whole number in [0, limit): what every counter of the state must be.
double whole(const io::TensorMap& m, const std::string& name, int64_t numel, size_t i, double limit,
             const std::string& path) {
  const double v = need(m, name, numel, path).to_vector()[i];
  if (!(v >= 0 && v < limit && v == std::floor(v)))
    throw Error(path + ": '" + name + "' must hold whole numbers in [0, " + std::to_string(limit) + "), got " +
                std::to_string(v));
  return v;
}

// The i-th of `count` 64-bit values.
uint64_t u64_of(const io::TensorMap& m, const std::string& name, int64_t count, size_t i, const std::string& path) {
  constexpr double k2to32 = 4294967296.0;
  return (static_cast<uint64_t>(whole(m, name, 2 * count, 2 * i, k2to32, path)) << 32) |
         static_cast<uint64_t>(whole(m, name, 2 * count, 2 * i + 1, k2to32, path));
}

io::TensorMap networks_of(StyleGAN2Trainer& t) {
  io::TensorMap out = add_prefix(t.G().state_dict(), "G.");
  out.merge(add_prefix(t.D().state_dict(), "D."));
  out.merge(add_prefix(t.G_ema().state_dict(), "G_ema."));
  return out;
}

io::Metadata configs_of(StyleGAN2Trainer& t) {
  return {{"G_kwargs", stylegan2::to_json(t.setup().G_kwargs).dump()},
          {"D_kwargs", stylegan2::to_json(t.setup().D_kwargs).dump()},
          {"kimg", std::to_string(t.cur_nimg() / 1000.0)}};
}

}  // namespace

void save_snapshot(const std::string& path, StyleGAN2Trainer& trainer) {
  io::save_safetensors(path, networks_of(trainer), configs_of(trainer));
}

void save_checkpoint(const std::string& path, StyleGAN2Trainer& t) {
  // Replica 0's seed (replica r's is that plus r) and every replica's offset,
  // gathered from every process (so every rank comes here; rank 0 writes).
  const std::vector<uint64_t> offsets = t.rng_offsets();
  if (!t.is_main()) return;
  io::TensorMap all = networks_of(t);
  all.merge(add_prefix(t.G_opt().state_dict(), "G_opt."));
  all.merge(add_prefix(t.D_opt().state_dict(), "D_opt."));
  all.merge(t.sampler().state_dict("sampler."));
  all["state.cur_nimg"] = Tensor::from_vector({double(t.cur_nimg())}, {1}, DType::f64);
  all["state.batch_idx"] = Tensor::from_vector({double(t.batch_idx())}, {1}, DType::f64);
  all["state.pl_mean"] = Tensor::from_vector({t.pl_mean()}, {1}, DType::f64);
  all["state.rng_seed"] = u64_tensor({t.rng().seed - static_cast<uint64_t>(t.first_replica())});
  all["state.rng_offset"] = u64_tensor(offsets);
  io::Metadata meta = configs_of(t);
  meta["format"] = kCheckpointFormat;
  meta["spec"] = to_json(t.setup().spec).dump();
  meta["seed"] = std::to_string(t.setup().seed);
  meta["dataset"] = t.dataset().name();
  meta["dataset_size"] = std::to_string(t.dataset().size());
  io::save_safetensors(path, all, meta);
}

bool is_checkpoint(const io::SafetensorsFile& file) {
  auto it = file.metadata.find("format");
  return it != file.metadata.end() && it->second == kCheckpointFormat;
}

TrainerSetup bundle_setup(const io::SafetensorsFile& file, const std::string& path, TrainerSetup base) {
  auto net = file.metadata.find("network");
  if (net != file.metadata.end() && net->second == "D")
    throw Error(path + ": holds only a discriminator; --resume needs a generator (a snapshot, checkpoint or G file)");
  base.G_kwargs = stylegan2::generator_config_from_json(stylegan2::metadata_json(file, path, "G_kwargs"));
  if (file.metadata.count("D_kwargs")) {
    base.D_kwargs = stylegan2::discriminator_config_from_json(stylegan2::metadata_json(file, path, "D_kwargs"));
  } else {  // a generator alone: D as the spec builds it, for the generator's images
    base.D_kwargs.img_resolution = base.G_kwargs.img_resolution;
    base.D_kwargs.img_channels = base.G_kwargs.img_channels;
    base.D_kwargs.c_dim = base.G_kwargs.c_dim;
  }
  return base;
}

TrainerSetup checkpoint_setup(const io::SafetensorsFile& file, const std::string& path, Device device) {
  if (!is_checkpoint(file)) throw Error(path + ": not a ganforge checkpoint (metadata format is not " + kCheckpointFormat + ")");
  TrainerSetup s;
  s.spec = train_spec_from_json(stylegan2::metadata_json(file, path, "spec"));
  s.seed = stylegan2::metadata_json(file, path, "seed").get<uint64_t>();
  s.device = device;
  return bundle_setup(file, path, s);
}

void load_checkpoint(StyleGAN2Trainer& t, const io::SafetensorsFile& file, const std::string& path) {
  const io::TensorMap& all = file.tensors;
  // Read and check the scalars first; module loads check their own tensors
  // before changing anything, in the order below.
  constexpr double k2to53 = 9007199254740992.0;  // counters beyond this are not exact in float64
  const double cur_nimg = whole(all, "state.cur_nimg", 1, 0, k2to53, path);
  const double batch_idx = whole(all, "state.batch_idx", 1, 0, k2to53, path);
  const double pl_mean = need(all, "state.pl_mean", 1, path).item();
  if (!std::isfinite(pl_mean)) throw Error(path + ": 'state.pl_mean' is not finite");
  // The sampler's state and the image count are only meaningful for the data they were made on.
  const std::string ds_name = file.metadata.count("dataset") ? file.metadata.at("dataset") : "?";
  const std::string ds_size = file.metadata.count("dataset_size") ? file.metadata.at("dataset_size") : "?";
  if (ds_name != t.dataset().name() || ds_size != std::to_string(t.dataset().size()))
    throw Error(path + ": made on dataset '" + ds_name + "' (" + ds_size + " images), but this run has '" +
                t.dataset().name() + "' (" + std::to_string(t.dataset().size()) +
                " images): --data, --mirror and --max-images must be those of the checkpoint's run");
  const uint64_t rng_seed = u64_of(all, "state.rng_seed", 1, 0, path);
  if (rng_seed + static_cast<uint64_t>(t.first_replica()) != t.rng().seed)
    throw Error(path + ": random seed does not match the run's");
  const int replicas = t.setup().spec.gpus;  // every process's
  std::vector<uint64_t> rng_offsets;
  for (int r = 0; r < replicas; ++r)
    rng_offsets.push_back(u64_of(all, "state.rng_offset", replicas, static_cast<size_t>(r), path));
  load_module(t.G(), select_prefix(all, "G."), path, "G");
  load_module(t.D(), select_prefix(all, "D."), path, "D");
  load_module(t.G_ema(), select_prefix(all, "G_ema."), path, "G_ema");
  try {
    t.G_opt().load_state_dict(select_prefix(all, "G_opt."));
    t.D_opt().load_state_dict(select_prefix(all, "D_opt."));
    t.sampler().load_state_dict(all, "sampler.");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  t.replicate_first();
  t.set_rng_offsets(rng_offsets);
  t.set_progress(static_cast<int64_t>(cur_nimg), static_cast<int64_t>(batch_idx), pl_mean);
}

void load_networks(StyleGAN2Trainer& t, const io::SafetensorsFile& file, const std::string& path) {
  const std::vector<std::string> nets = stylegan2::networks_in(file);
  auto has = [&](const char* n) { return std::find(nets.begin(), nets.end(), n) != nets.end(); };
  if (file.metadata.count("network")) {  // a standalone generator (bundle_setup refuses a lone D)
    load_module(t.G(), file.tensors, path, nets.front());
    t.G_ema().copy_from(t.G());
    t.replicate_first();
    return;
  }
  if (!has("G") && !has("G_ema")) throw Error(path + ": holds no generator (no 'G.*' or 'G_ema.*' tensors)");
  load_module(t.G(), select_prefix(file.tensors, has("G") ? "G." : "G_ema."), path, "G");
  load_module(t.G_ema(), select_prefix(file.tensors, has("G_ema") ? "G_ema." : "G."), path, "G_ema");
  if (has("D")) load_module(t.D(), select_prefix(file.tensors, "D."), path, "D");
  t.replicate_first();
}

}  // namespace gf
