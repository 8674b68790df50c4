#include "train/pggan/checkpoint.h"

#include <algorithm>

#include "engine/error.h"
#include "models/pggan/network_file.h"
#include "train/checkpoint_state.h"

namespace gf {
namespace {

io::TensorMap networks_of(PGGANTrainer& t) {
  io::TensorMap out = add_prefix(t.G().state_dict(), "G.");
  out.merge(add_prefix(t.D().state_dict(), "D."));
  out.merge(add_prefix(t.Gs().state_dict(), "G_ema."));
  return out;
}

io::Metadata metadata_of(PGGANTrainer& t) {
  io::Metadata m = pggan::bundle_metadata(t.setup().G_kwargs, t.setup().D_kwargs);
  m["kimg"] = std::to_string(t.cur_nimg() / 1000.0);
  return m;
}

}  // namespace

void save_pggan_snapshot(const std::string& path, PGGANTrainer& t) {
  io::save_safetensors(path, networks_of(t), metadata_of(t));
}

void save_pggan_checkpoint(const std::string& path, PGGANTrainer& t) {
  io::TensorMap all = networks_of(t);
  all.merge(add_prefix(t.G_opt().state_dict(), "G_opt."));
  all.merge(add_prefix(t.D_opt().state_dict(), "D_opt."));
  all.merge(t.sampler().state_dict("sampler."));
  all["state.cur_nimg"] = f64_scalar(double(t.cur_nimg()));
  all["state.prev_lod"] = f64_scalar(t.prev_lod());
  all["state.rng_seed"] = u64_tensor({t.rng().seed});
  all["state.rng_offset"] = u64_tensor({t.rng().offset});
  io::Metadata meta = metadata_of(t);
  meta["format"] = kPGGANCheckpointFormat;
  meta["spec"] = to_json(t.setup().spec).dump();
  meta["seed"] = std::to_string(t.setup().seed);
  add_dataset_metadata(meta, t.dataset());
  io::save_safetensors(path, all, meta);
}

bool is_pggan_checkpoint(const io::SafetensorsFile& file) { return has_format(file, kPGGANCheckpointFormat); }

PGGANSetup pggan_bundle_setup(const io::SafetensorsFile& file, const std::string& path, PGGANSetup base) {
  pggan::check_family(file, path);
  auto net = file.metadata.find("network");
  if (net != file.metadata.end() && net->second == "D")
    throw Error(path + ": holds only a discriminator; --resume needs a generator (a snapshot, checkpoint or G file)");
  try {
    base.G_kwargs = pggan::generator_config_from_json(metadata_json(file, path, "G_kwargs"));
    if (file.metadata.count("D_kwargs"))
      base.D_kwargs = pggan::discriminator_config_from_json(metadata_json(file, path, "D_kwargs"));
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  return base;
}

PGGANSetup pggan_checkpoint_setup(const io::SafetensorsFile& file, const std::string& path, Device device) {
  if (!is_pggan_checkpoint(file))
    throw Error(path + ": not a ganforge PGGAN checkpoint (metadata format is not " + kPGGANCheckpointFormat + ")");
  PGGANSetup s;
  try {
    s.spec = pggan_spec_from_json(metadata_json(file, path, "spec"));
    s.seed = metadata_json(file, path, "seed").get<uint64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": bad seed in the metadata (" + e.what() + ")");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  s.device = device;
  return pggan_bundle_setup(file, path, s);
}

void load_pggan_checkpoint(PGGANTrainer& t, const io::SafetensorsFile& file, const std::string& path) {
  const io::TensorMap& all = file.tensors;
  const double cur_nimg = whole_number(all, "state.cur_nimg", 1, 0, k2to53, path);
  const double prev_lod = finite_number(all, "state.prev_lod", 1, 0, path);
  if (prev_lod < -1) throw Error(path + ": 'state.prev_lod' is below -1");
  check_same_dataset(file, path, t.dataset());
  if (u64_of(all, "state.rng_seed", 1, 0, path) != t.rng().seed) throw Error(path + ": random seed does not match the run's");
  const uint64_t offset = u64_of(all, "state.rng_offset", 1, 0, path);
  load_module(t.G(), select_prefix(all, "G."), path, "G");
  load_module(t.D(), select_prefix(all, "D."), path, "D");
  load_module(t.Gs(), select_prefix(all, "G_ema."), path, "G_ema");
  try {
    t.G_opt().load_state_dict(select_prefix(all, "G_opt."));
    t.D_opt().load_state_dict(select_prefix(all, "D_opt."));
    t.sampler().load_state_dict(all, "sampler.");
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
  t.rng().offset = offset;
  t.set_progress(static_cast<int64_t>(cur_nimg), prev_lod);
}

void load_pggan_networks(PGGANTrainer& t, const io::SafetensorsFile& file, const std::string& path) {
  pggan::check_family(file, path);
  if (file.metadata.count("network")) {  // a standalone generator (pggan_bundle_setup refuses a lone D)
    load_module(t.G(), file.tensors, path, networks_in(file).front());
    t.Gs().copy_from(t.G());
    return;
  }
  const std::vector<std::string> nets = networks_in(file);
  auto has = [&](const char* n) { return std::find(nets.begin(), nets.end(), n) != nets.end(); };
  if (!has("G") && !has("G_ema")) throw Error(path + ": holds no generator (no 'G.*' or 'G_ema.*' tensors)");
  load_module(t.G(), select_prefix(file.tensors, has("G") ? "G." : "G_ema."), path, "G");
  load_module(t.Gs(), select_prefix(file.tensors, has("G_ema") ? "G_ema." : "G."), path, "G_ema");
  if (has("D")) load_module(t.D(), select_prefix(file.tensors, "D."), path, "D");
}

}  // namespace gf
