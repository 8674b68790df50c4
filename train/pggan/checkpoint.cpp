#include "train/pggan/checkpoint.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "models/pggan/network_file.h"
#include "train/checkpoint_state.h"
#include "train/progressive_checkpoint.h"

namespace gf {
namespace {

io::Metadata pggan_run_metadata(PGGANTrainer& t) {
  io::Metadata m = pggan::bundle_metadata(t.setup().G_kwargs, t.setup().D_kwargs);
  m["kimg"] = std::to_string(t.cur_nimg() / 1000.0);
  return m;
}

}  // namespace

void save_pggan_snapshot(const std::string& path, PGGANTrainer& t) {
  io::save_safetensors(path, progressive_networks(t), pggan_run_metadata(t));
}

void save_pggan_checkpoint(const std::string& path, PGGANTrainer& t) {
  const io::TensorMap all = progressive_checkpoint_tensors(t);
  io::Metadata meta = pggan_run_metadata(t);
  meta["format"] = kPGGANCheckpointFormat;
  meta["spec"] = io::json_text(to_json(t.setup().spec));
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
  base.G_kwargs = metadata_value(file, path, "G_kwargs", pggan::generator_config_from_json);
  base.D_kwargs = progressive_d_kwargs(file, path, base.G_kwargs, base.D_kwargs, pggan::discriminator_config_from_json);
  // The spec's architecture as the file's networks have it, so that the run's
  // training_options.json records what trains, not --cfg's values.
  base.spec.fmap_base = base.G_kwargs.fmap_base;
  base.spec.fmap_decay = base.G_kwargs.fmap_decay;
  base.spec.fmap_max = base.G_kwargs.fmap_max;
  base.spec.latent_size = base.G_kwargs.latent_size;
  base.spec.fused_scale = base.G_kwargs.fused_scale;
  base.spec.mbstd_group_size = base.D_kwargs.mbstd_group_size;
  return base;
}

PGGANSetup pggan_checkpoint_setup(const io::SafetensorsFile& file, const std::string& path, Device device) {
  if (!is_pggan_checkpoint(file))
    throw Error(path + ": not a ganforge PGGAN checkpoint (metadata format is not " + kPGGANCheckpointFormat + ")");
  PGGANSetup s;
  s.spec = metadata_value(file, path, "spec", pggan_spec_from_json);
  s.seed = metadata_seed(file, path);
  s.device = device;
  return pggan_bundle_setup(file, path, s);
}

void load_pggan_checkpoint(PGGANTrainer& t, const io::SafetensorsFile& file, const std::string& path) {
  load_progressive_checkpoint(t, file, path);
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
