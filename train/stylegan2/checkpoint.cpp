#include "train/stylegan2/checkpoint.h"

#include <algorithm>
#include <cctype>
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

// A tensor's block and layer for the run log: the block is the name up to
// its resolution's part ("synthesis.b64" of
// "synthesis.b64.conv0.affine.weight", "b32"; "" outside the blocks), the
// layer one part more ("synthesis.b64.conv0", "b32.fromrgb"), or the first
// two parts outside the blocks ("mapping.embed"); never the tensor's own
// last part.
struct Place {
  std::string block, layer;
};
Place place_of(const std::string& name) {
  std::vector<size_t> dots;
  for (size_t i = 0; i < name.size(); ++i)
    if (name[i] == '.') dots.push_back(i);
  if (dots.empty()) return {"", name};
  size_t parts = 2, start = 0;
  std::string block;
  for (size_t k = 0; k < dots.size(); ++k) {
    const size_t end = dots[k];
    if (end - start >= 2 && name[start] == 'b' && name.find_first_not_of("0123456789", start + 1) >= end) {  // b4, b64
      block = name.substr(0, end);
      parts = k + 2;
      break;
    }
    start = end + 1;
  }
  return {block, name.substr(0, dots[std::min(parts, dots.size()) - 1])};
}

// Whether a comes before b with their numbers compared by value ("b8" before "b16").
bool natural_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    if (std::isdigit(static_cast<unsigned char>(a[i])) && std::isdigit(static_cast<unsigned char>(b[j]))) {
      const size_t i0 = i, j0 = j;
      while (i < a.size() && std::isdigit(static_cast<unsigned char>(a[i]))) ++i;
      while (j < b.size() && std::isdigit(static_cast<unsigned char>(b[j]))) ++j;
      const std::string x = a.substr(i0, i - i0), y = b.substr(j0, j - j0);
      if (x.size() != y.size()) return x.size() < y.size();  // (no leading zeros in layer names)
      if (x != y) return x < y;
    } else {
      if (a[i] != b[j]) return a[i] < b[j];
      ++i, ++j;
    }
  }
  return a.size() - i < b.size() - j;
}

// "N (place, place, ...)" of the names, in natural order: a block whose
// tensors in `all` (the side they come from: the network's, or the file's)
// are every one among them, else the names' layers.
std::string count_and_layers(const std::vector<std::string>& names, const io::TensorMap& all) {
  auto listed = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  std::vector<std::string> layers;
  for (const std::string& n : names) {
    const Place p = place_of(n);
    bool whole = !p.block.empty();
    for (auto it = all.lower_bound(p.block + "."); whole && it != all.end() && it->first.rfind(p.block + ".", 0) == 0; ++it)
      whole = listed(it->first);
    const std::string& shown = whole ? p.block : p.layer;
    if (std::find(layers.begin(), layers.end(), shown) == layers.end()) layers.push_back(shown);
  }
  std::sort(layers.begin(), layers.end(), natural_less);
  std::string text = std::to_string(names.size()) + " (";
  for (size_t i = 0; i < layers.size(); ++i) text += (i ? ", " : "") + layers[i];
  return text + ")";
}

// What load_what_fits of `state` into a network did, for the run log: how
// many tensors were copied, which broadcast, which slots kept their
// initialization (`kept`), which of the file's tensors went unused.
// `before` is the network's state before the load (for the shapes).
std::string fit_text(const io::TensorMap& before, const io::TensorMap& state, const std::vector<std::string>& kept) {
  std::vector<std::string> broadcast, unused;
  size_t copied = 0;
  for (const auto& [name, t] : state) {
    auto it = before.find(name);
    if (it == before.end())
      unused.push_back(name);
    else if (it->second.shape() != t.shape())
      broadcast.push_back(name);
    else
      ++copied;
  }
  std::string text = std::to_string(copied) + " tensors copied";
  if (!broadcast.empty()) text += ", " + count_and_layers(broadcast, before) + " broadcast";
  if (!kept.empty()) text += "; " + count_and_layers(kept, before) + " at their initialization";
  if (!unused.empty()) text += "; " + count_and_layers(unused, state) + " of the file's unused";
  return text;
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

bool networks_fit_data(const TrainerSetup& setup, const Dataset& ds) {
  const stylegan2::GeneratorConfig& g = setup.G_kwargs;
  return g.img_resolution == ds.resolution() && g.img_channels == ds.channels() && g.c_dim == ds.c_dim();
}

void build_for_data(TrainerSetup* setup, const std::string& path, const Dataset& ds) {
  stylegan2::GeneratorConfig& g = setup->G_kwargs;
  if (g.c_dim > 0 && ds.c_dim() == 0)
    throw Error(path + ": its networks are conditional (" + cli::count_text(g.c_dim, "label") + "), but " + ds.name() +
                " has no labels: add --cond (with labelled data); the official resume fails there too (mapping.fc0 "
                "takes the label embedding beside z)");
  if (g.c_dim == 0 && ds.c_dim() > 0)
    throw Error(path + ": its networks are not conditional, but " + ds.name() + " has " +
                cli::count_text(ds.c_dim(), "label") + ": leave --cond out; the official resume fails there too "
                "(mapping.fc0 takes the label embedding beside z)");
  stylegan2::DiscriminatorConfig& d = setup->D_kwargs;
  g.img_resolution = d.img_resolution = ds.resolution();
  g.img_channels = d.img_channels = ds.channels();
  g.c_dim = d.c_dim = ds.c_dim();
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

std::string load_networks(StyleGAN2Trainer& t, const io::SafetensorsFile& file, const std::string& path,
                          const std::string& built_for) {
  const std::vector<std::string> nets = stylegan2::networks_in(file);
  auto has = [&](const char* n) { return std::find(nets.begin(), nets.end(), n) != nets.end(); };
  std::vector<std::pair<std::string, std::string>> said;  // (networks, what the load did) by name
  auto load = [&](Module& net, const io::TensorMap& state, const std::string& what, const std::string& told) {
    if (built_for.empty()) return load_module(net, state, path, what);
    const io::TensorMap before = net.state_dict();
    said.emplace_back(told, fit_text(before, state, load_module_what_fits(net, state, path, what, built_for)));
  };
  if (file.metadata.count("network")) {  // a standalone generator (bundle_setup refuses a lone D)
    load(t.G(), file.tensors, nets.front(), "G and G_ema");
    t.G_ema().copy_from(t.G());
  } else {
    if (!has("G") && !has("G_ema")) throw Error(path + ": holds no generator (no 'G.*' or 'G_ema.*' tensors)");
    load(t.G(), select_prefix(file.tensors, has("G") ? "G." : "G_ema."), "G", "G");
    load(t.G_ema(), select_prefix(file.tensors, has("G_ema") ? "G_ema." : "G."), "G_ema", "G_ema");
    if (has("D")) load(t.D(), select_prefix(file.tensors, "D."), "D", "D");
    if (said.size() >= 2 && said[0].second == said[1].second) {  // G_ema took what G took: one line
      said[0].first = "G and G_ema";
      said.erase(said.begin() + 1);
    }
  }
  t.replicate_first();
  std::string lines;
  for (const auto& [nets_told, did] : said) lines += (lines.empty() ? "" : "\n") + nets_told + ": " + did;
  return lines;
}

}  // namespace gf
