#include "train/stylegan2/checkpoint.h"

#include <cmath>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/ops.h"
#include "engine/strings.h"
#include "models/stylegan2/network_file.h"
#include "train/checkpoint_state.h"
#include "train/cli.h"

namespace gf {

using stylegan2::add_prefix;
using stylegan2::load_module;
using stylegan2::select_prefix;

namespace {

io::TensorMap networks_of(StyleGAN2Trainer& t) {
  io::TensorMap out = add_prefix(t.G().state_dict(), "G.");
  out.merge(add_prefix(t.D().state_dict(), "D."));
  out.merge(add_prefix(t.G_ema().state_dict(), "G_ema."));
  return out;
}

io::Metadata configs_of(StyleGAN2Trainer& t) {
  io::Metadata meta{{"G_kwargs", io::json_text(stylegan2::to_json(t.setup().G_kwargs))},
                    {"D_kwargs", io::json_text(stylegan2::to_json(t.setup().D_kwargs))},
                    {"kimg", std::to_string(t.cur_nimg() / 1000.0)}};
  // What the official snapshot's augment_pipe holds: the pipe and its p.
  if (t.augment_pipe())
    meta["augment_pipe"] = io::json_text(nlohmann::json{{"augpipe", t.setup().spec.augpipe}, {"p", t.augment_p()}});
  return meta;
}

}  // namespace

void save_snapshot(const std::string& path, StyleGAN2Trainer& trainer) {
  io::save_safetensors(path, networks_of(trainer), configs_of(trainer));
}

void save_checkpoint(const std::string& path, StyleGAN2Trainer& t) {
  // Replica 0's seed (replica r's is that plus r) and every replica's offset,
  // gathered from every process (so every rank comes here; rank 0 writes).
  const std::vector<uint64_t> offsets = t.rng_offsets();
  const std::pair<double, int64_t> signs = t.pending_real_signs();  // collective too
  if (!t.is_main()) return;
  io::TensorMap all = networks_of(t);
  all.merge(add_prefix(t.G_opt().state_dict(), "G_opt."));
  all.merge(add_prefix(t.D_opt().state_dict(), "D_opt."));
  all.merge(t.sampler().state_dict("sampler."));
  all["state.cur_nimg"] = f64_scalar(double(t.cur_nimg()));
  all["state.batch_idx"] = f64_scalar(double(t.batch_idx()));
  all["state.pl_mean"] = f64_scalar(t.pl_mean());
  // ADA: p, and the real signs of the interval in progress (their sum and count).
  all["state.augment_p"] = f64_scalar(t.augment_p());
  all["state.ada_signs"] = Tensor::from_vector({signs.first, static_cast<double>(signs.second)}, {2}, DType::f64);
  all["state.rng_seed"] = u64_tensor({t.rng().seed - static_cast<uint64_t>(t.first_replica())});
  all["state.rng_offset"] = u64_tensor(offsets);
  io::Metadata meta = configs_of(t);
  meta["format"] = kCheckpointFormat;
  meta["spec"] = io::json_text(to_json(t.setup().spec));
  meta["seed"] = std::to_string(t.setup().seed);
  add_dataset_metadata(meta, t.dataset());
  io::save_safetensors(path, all, meta);
}

bool is_checkpoint(const io::SafetensorsFile& file) { return has_format(file, kCheckpointFormat); }

TrainerSetup bundle_setup(const io::SafetensorsFile& file, const std::string& path, TrainerSetup base) {
  // Another family's configs would otherwise fail as unknown keys, naming neither file nor family.
  check_network_family(file, path, "stylegan2", "StyleGAN2");
  auto net = file.metadata.find("network");
  if (net != file.metadata.end() && net->second == "D")
    throw Error(path + ": holds only a discriminator; --resume needs a generator (a snapshot, checkpoint or G file)");
  base.G_kwargs = stylegan2::metadata_value(file, path, "G_kwargs", stylegan2::generator_config_from_json);
  if (file.metadata.count("D_kwargs")) {
    base.D_kwargs = stylegan2::metadata_value(file, path, "D_kwargs", stylegan2::discriminator_config_from_json);
  } else {  // a generator alone: D for the generator's images, of its widths (as every official config pairs them)
    base.D_kwargs.img_resolution = base.G_kwargs.img_resolution;
    base.D_kwargs.img_channels = base.G_kwargs.img_channels;
    base.D_kwargs.c_dim = base.G_kwargs.c_dim;
    base.D_kwargs.channel_base = base.G_kwargs.channel_base;
    base.D_kwargs.channel_max = base.G_kwargs.channel_max;
    base.D_kwargs.conv_clamp = base.G_kwargs.conv_clamp;
  }
  // The spec's architecture as the file's networks have it, so that the run's
  // training_options.json records what trains, not --cfg's values (a
  // checkpoint's spec already agrees).
  const stylegan2::GeneratorConfig& g = base.G_kwargs;
  base.spec.z_dim = g.z_dim;
  base.spec.w_dim = g.w_dim;
  base.spec.mapping_layers = g.mapping_layers;
  base.spec.channel_base = g.channel_base;
  base.spec.channel_max = g.channel_max;
  base.spec.conv_clamp = g.conv_clamp ? int(*g.conv_clamp) : 0;
  // The minibatch-stddev group is --cfg's (or --batch's), not the file's
  // run's: no weight holds it, and the official resume builds D from the
  // config and copies the file's weights in.
  base.D_kwargs.mbstd_group_size = base.spec.mbstd_group;
  return base;
}

bool grey_networks_on_rgb_data(const TrainerSetup& setup, const Dataset& ds) {
  const stylegan2::GeneratorConfig& g = setup.G_kwargs;
  return g.img_channels == 1 && ds.channels() == 3 && g.img_resolution == ds.resolution() && g.c_dim == ds.c_dim();
}

io::SafetensorsFile grey_bundle_for_rgb(const io::SafetensorsFile& file, TrainerSetup* setup) {
  io::SafetensorsFile out = file;
  for (auto& [name, t] : out.tensors) {
    const bool d = name.rfind("D.", 0) == 0;
    Shape s = t.shape();
    if (!d && ends_with(name, ".torgb.weight") && s.size() == 4 && s[0] == 1)
      s[0] = 3;  // [out = image channels, in, k, k]
    else if (!d && ends_with(name, ".torgb.bias") && s.size() == 1 && s[0] == 1)
      s[0] = 3;
    else if (d && ends_with(name, ".fromrgb.weight") && s.size() == 4 && s[1] == 1)
      s[1] = 3;  // [out, in = image channels, k, k]
    else
      continue;
    t = expand(t, s);
  }
  setup->G_kwargs.img_channels = setup->D_kwargs.img_channels = 3;
  return out;
}

TrainerSetup checkpoint_setup(const io::SafetensorsFile& file, const std::string& path, Device device) {
  check_network_family(file, path, "stylegan2", "StyleGAN2");
  if (!is_checkpoint(file)) throw Error(path + ": not a ganforge checkpoint (metadata format is not " + kCheckpointFormat + ")");
  TrainerSetup s;
  // Checked as read, the file named: a gpus of 0 divided by zero below.
  s.spec = stylegan2::metadata_value(file, path, "spec", [](const nlohmann::json& j) {
    TrainSpec spec = train_spec_from_json(j);
    check_train_spec(spec);
    return spec;
  });
  s.seed = stylegan2::metadata_seed(file, path);
  s.device = device;
  return bundle_setup(file, path, s);
}

void load_checkpoint(StyleGAN2Trainer& t, const io::SafetensorsFile& file, const std::string& path) {
  const io::TensorMap& all = file.tensors;
  // Read and check the scalars first; module loads check their own tensors
  // before changing anything, in the order below.
  const double cur_nimg = whole_number(all, "state.cur_nimg", 1, 0, k2to53, path);
  const double batch_idx = whole_number(all, "state.batch_idx", 1, 0, k2to53, path);
  // A diverged run's path-length mean may be NaN or inf (the official keeps
  // it so and trains on): resumed as it is.
  const double pl_mean = need_tensor(all, "state.pl_mean", 1, path).to_vector()[0];
  if (pl_mean < 0) throw Error(path + ": 'state.pl_mean' is " + std::to_string(pl_mean) + ", but a mean of path lengths is >= 0");
  // Every step adds the spec's batch to cur_nimg and 1 to batch_idx, from 0.
  if (cur_nimg != batch_idx * t.setup().spec.batch)
    throw Error(path + ": 'state.cur_nimg' " + cli::number_text(cur_nimg) + " is not 'state.batch_idx' " +
                cli::number_text(batch_idx) + " times the batch " + std::to_string(t.setup().spec.batch) +
                ": the counters disagree (a damaged checkpoint?)");
  // After a minibatch both Adams hold state for every trainable parameter
  // (frozen D layers are buffers, not theirs), each with one step count:
  // every phase steps every parameter. A checkpoint without any resumed with
  // fresh Adams, one without a parameter's state with that slot fresh.
  for (const char* opt : {"G_opt.", "D_opt."}) {
    if (batch_idx == 0) break;
    const io::TensorMap state = select_prefix(all, opt);
    if (state.empty())
      throw Error(path + ": holds no optimizer state (" + opt + "*) after " + cli::number_text(batch_idx) +
                  " minibatches: a damaged or edited checkpoint");
    const std::string uneven = (opt[0] == 'G' ? t.G_opt() : t.D_opt()).uneven_state(state, opt);
    if (!uneven.empty())
      throw Error(path + ": " + uneven + " after " + cli::number_text(batch_idx) +
                  " minibatches: a damaged or edited checkpoint");
  }
  // Checkpoints from before augmentation have no ADA state (and trained without it).
  const bool has_ada = all.count("state.augment_p") > 0;
  if (!has_ada && t.setup().spec.aug != "noaug") throw Error(path + ": has no 'state.augment_p' for its augmented run");
  const double augment_p = has_ada ? finite_number(all, "state.augment_p", 1, 0, path) : 0.0;
  if (augment_p < 0 || static_cast<double>(static_cast<float>(augment_p)) != augment_p)
    throw Error(path + ": 'state.augment_p' is " + std::to_string(augment_p) + ", not a float32 >= 0");
  const double signs_sum = has_ada ? finite_number(all, "state.ada_signs", 2, 0, path) : 0.0;
  const double signs_count = has_ada ? whole_number(all, "state.ada_signs", 2, 1, k2to53, path) : 0.0;
  if (std::abs(signs_sum) > signs_count)
    throw Error(path + ": 'state.ada_signs' sums " + std::to_string(signs_sum) + " over " +
                std::to_string(signs_count) + " signs");
  // The sampler's state and the image count are only meaningful for the data they were made on.
  check_same_dataset(file, path, t.dataset());
  const uint64_t rng_seed = u64_of(all, "state.rng_seed", 1, 0, path);
  if (rng_seed + static_cast<uint64_t>(t.first_replica()) != t.rng().seed)
    throw Error(path + ": random seed does not match the run's");
  const int replicas = t.setup().spec.gpus;  // every process's
  std::vector<uint64_t> rng_offsets;
  for (int r = 0; r < replicas; ++r)
    rng_offsets.push_back(u64_of(all, "state.rng_offset", replicas, static_cast<size_t>(r), path));
  load_gan_state(all, path, t.G(), t.D(), t.G_ema(), t.G_opt(), t.D_opt(), t.sampler());
  t.replicate_first();
  t.set_rng_offsets(rng_offsets);
  t.set_progress(static_cast<int64_t>(cur_nimg), static_cast<int64_t>(batch_idx), pl_mean);
  t.set_augment_p(static_cast<float>(augment_p));
  t.add_pending_real_signs(signs_sum, static_cast<int64_t>(signs_count));
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
