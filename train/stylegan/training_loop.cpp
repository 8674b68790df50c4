#include "train/stylegan/training_loop.h"

#include <cstdio>

#include "engine/error.h"
#include "models/stylegan/network_file.h"
#include "train/checkpoint_state.h"
#include "train/progressive_checkpoint.h"
#include "data/images/image_io.h"
#include "engine/io/json_input.h"
#include "data/infinite_sampler.h"

namespace gf {
namespace {

io::Metadata stylegan_run_metadata(StyleGANTrainer& t) {
  io::Metadata m = stylegan::bundle_metadata(t.spec().G_kwargs, t.spec().D_kwargs);
  m["kimg"] = std::to_string(t.cur_nimg() / 1000.0);
  return m;
}

}  // namespace

TickStats StyleGANRun::take_stats() {
  const StyleGANStats st = t_.take_stats();
  const Schedule s = t_.last_schedule();  // the round that ran, as the official status line
  char progress[64];
  std::snprintf(progress, sizeof progress, "lod %-5.2f minibatch %-4d ", t_.lod(), s.minibatch);
  TickStats out;
  out.progress = progress;
  out.losses = "G " + status_fixed(st.G_loss, 4) + " D " + status_fixed(st.D_loss, 4) + " scores real " +
               status_fixed(st.scores_real, 3) + " fake " + status_fixed(st.scores_fake, 3) + " r1 " +
               status_general(st.r1_penalty);
  out.fields = {{"lod", t_.lod()},          {"minibatch", s.minibatch},     {"resolution", s.resolution},
                {"G_lrate", s.G_lrate},     {"D_lrate", s.D_lrate},         {"loss_G", st.G_loss},
                {"loss_D", st.D_loss},      {"scores_real", st.scores_real}, {"scores_fake", st.scores_fake},
                {"r1_penalty", st.r1_penalty}};
  return out;
}

// Fixed latents, labels and reals from the run's seed only, so a resumed run draws the same grid.
void StyleGANRun::write_reals(const std::string& path, int gw, int gh) {
  const int n = gw * gh;
  const Dataset& ds = t_.dataset();
  const Device dev = t_.device();
  Generator grid_rng(t_.seed() + 123);
  grid_latents_ = randn({n, t_.spec().G_kwargs.latent_size}, grid_rng, DType::f32, dev);
  const Dataset::Batch reals = ds.batch(InfiniteSampler(ds.size(), t_.seed() + 1).next_batch(n), dev);
  if (ds.c_dim() > 0) grid_labels_ = reals.labels;
  save_image_grid(reals.images.to(Device::cpu()), path, gw, gh, nullptr, To8Bit::tf_grid);
}

void StyleGANRun::write_fakes(const std::string& path, int gw, int gh) {
  NoGradGuard ng;
  // The official loop's Gs.run(..., is_validation=True) keeps
  // randomize_noise=True: each grid draws fresh noise. Here the draw is a
  // function of the image count (its own 2^32-counter stretch of one stream),
  // so a resumed run's grids equal the uninterrupted run's.
  Generator noise_rng(t_.seed() + 124);
  noise_rng.offset = static_cast<uint64_t>(t_.cur_nimg()) << 32;
  stylegan::GenerateOptions o;
  o.synthesis.noise_mode = NoiseMode::random;
  o.synthesis.noise_gen = &noise_rng;
  save_image_grid(t_.Gs().forward(grid_latents_, grid_labels_, t_.lod(), o).to(Device::cpu()), path, gw, gh, nullptr, To8Bit::tf_grid);
}

void StyleGANRun::write_snapshot(const std::string& path) { save_stylegan_snapshot(path, t_); }
void StyleGANRun::write_checkpoint(const std::string& path) { save_stylegan_checkpoint(path, t_); }

void save_stylegan_snapshot(const std::string& path, StyleGANTrainer& t) {
  io::save_safetensors(path, progressive_networks(t), stylegan_run_metadata(t));
}

void save_stylegan_checkpoint(const std::string& path, StyleGANTrainer& t) {
  const io::TensorMap all = progressive_checkpoint_tensors(t);
  io::Metadata meta = stylegan_run_metadata(t);
  meta["format"] = kStyleGANCheckpointFormat;
  meta["spec"] = io::json_text(to_json(t.spec()));
  meta["seed"] = std::to_string(t.seed());
  add_dataset_metadata(meta, t.dataset());
  io::save_safetensors(path, all, meta);
}

bool is_stylegan_checkpoint(const io::SafetensorsFile& file) { return has_format(file, kStyleGANCheckpointFormat); }

StyleGANSpec stylegan_checkpoint_spec(const io::SafetensorsFile& file, const std::string& path, uint64_t* seed) {
  if (!is_stylegan_checkpoint(file))
    throw Error(path + ": not a ganforge StyleGAN (v1) checkpoint (metadata format is not " +
                std::string(kStyleGANCheckpointFormat) + ")");
  StyleGANSpec s;
  s = metadata_value(file, path, "spec", stylegan_spec_from_json);
  *seed = metadata_seed(file, path);
  s.G_kwargs = metadata_value(file, path, "G_kwargs", stylegan::generator_config_from_json);
  s.D_kwargs = metadata_value(file, path, "D_kwargs", stylegan::discriminator_config_from_json);
  return s;
}

StyleGANSpec stylegan_bundle_spec(const io::SafetensorsFile& file, const std::string& path, StyleGANSpec base,
                                  const Dataset& ds) {
  stylegan::check_family(file, path);
  base.G_kwargs = metadata_value(file, path, "G_kwargs", stylegan::generator_config_from_json);
  base.D_kwargs = progressive_d_kwargs(file, path, base.G_kwargs, base.D_kwargs, stylegan::discriminator_config_from_json);
  const stylegan::GeneratorConfig& g = base.G_kwargs;
  check_networks_fit_data(file, path, g.resolution, g.num_channels, g.label_size, ds);
  return base;
}

void load_stylegan_checkpoint(StyleGANTrainer& t, const io::SafetensorsFile& file, const std::string& path) {
  load_progressive_checkpoint(t, file, path);
}

}  // namespace gf
