// The tensors of a progressive-growing trainer's checkpoint, the same for
// PGGAN (train/pggan/checkpoint.cpp) and StyleGAN v1
// (train/stylegan/training_loop.cpp), which differ only in their networks and
// metadata:
//   G.*, D.*, G_ema.*         the networks' state dicts (the official pickles'
//                             G, D and Gs)
//   G_opt.*, D_opt.*          each Adam's state
//   sampler.*                 the dataset sampler's position
//   state.cur_nimg            images shown so far (float64 [1], a whole number)
//   state.prev_lod            the last round's lod, -1 before the first (float64 [1])
//   state.rng_seed, state.rng_offset  the Philox stream (u64_tensor)
// A Trainer has G(), D(), Gs(), G_opt(), D_opt(), sampler(), rng(),
// dataset(), cur_nimg(), prev_lod() and set_progress(cur_nimg, prev_lod).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "models/network_file.h"
#include "train/checkpoint_state.h"

namespace gf {

// D's configuration for a file's networks (PGGAN's or v1's configs):
// the file's D_kwargs, or for a generator alone (export_weights --net G_ema)
// `fallback` (--cfg's) with the generator's feature maps, as every official
// config gives G and D the same fmap_base, fmap_decay and fmap_max.
template <class DConfig, class GConfig, class ReadD>
DConfig progressive_d_kwargs(const io::SafetensorsFile& file, const std::string& path, const GConfig& g,
                             DConfig fallback, ReadD read_d) {
  if (file.metadata.count("D_kwargs")) return metadata_value(file, path, "D_kwargs", read_d);
  fallback.fmap_base = g.fmap_base;
  fallback.fmap_decay = g.fmap_decay;
  fallback.fmap_max = g.fmap_max;
  return fallback;
}

// G.*, D.* and G_ema.*: what a snapshot holds.
template <class Trainer>
io::TensorMap progressive_networks(Trainer& t) {
  io::TensorMap out = add_prefix(t.G().state_dict(), "G.");
  out.merge(add_prefix(t.D().state_dict(), "D."));
  out.merge(add_prefix(t.Gs().state_dict(), "G_ema."));
  return out;
}

// Every tensor of the checkpoint: the networks and the training state.
template <class Trainer>
io::TensorMap progressive_checkpoint_tensors(Trainer& t) {
  io::TensorMap all = progressive_networks(t);
  all.merge(add_prefix(t.G_opt().state_dict(), "G_opt."));
  all.merge(add_prefix(t.D_opt().state_dict(), "D_opt."));
  all.merge(t.sampler().state_dict("sampler."));
  all["state.cur_nimg"] = f64_scalar(double(t.cur_nimg()));
  all["state.prev_lod"] = f64_scalar(t.prev_lod());
  all["state.rng_seed"] = u64_tensor({t.rng().seed});
  all["state.rng_offset"] = u64_tensor({t.rng().offset});
  return all;
}

// Restores the trainer from the checkpoint's tensors, for an exact resume.
// The trainer must have been made from the checkpoint's own spec and seed
// (its metadata); throws gf::Error naming `path` when a counter is not a
// whole number or out of range, the seed or dataset differs, or a tensor is
// missing or misshapen.
template <class Trainer>
void load_progressive_checkpoint(Trainer& t, const io::SafetensorsFile& file, const std::string& path) {
  const io::TensorMap& all = file.tensors;
  const double cur_nimg = whole_number(all, "state.cur_nimg", 1, 0, k2to53, path);
  const double prev_lod = finite_number(all, "state.prev_lod", 1, 0, path);
  // A lod counts halvings below the dataset's resolution: 0 at full size,
  // log2(res) - 2 at 4x4 (-1 before the first round).
  const double max_lod = std::log2(static_cast<double>(t.dataset().resolution())) - 2;
  if (prev_lod < -1 || prev_lod > max_lod)
    throw Error(path + ": 'state.prev_lod' is " + std::to_string(prev_lod) + ", outside [-1, " + std::to_string(max_lod) +
                "] for " + std::to_string(t.dataset().resolution()) + "x" + std::to_string(t.dataset().resolution()) + " data");
  check_same_dataset(file, path, t.dataset());
  if (u64_of(all, "state.rng_seed", 1, 0, path) != t.rng().seed)
    throw Error(path + ": random seed does not match the run's");
  const uint64_t offset = u64_of(all, "state.rng_offset", 1, 0, path);
  load_gan_state(all, path, t.G(), t.D(), t.Gs(), t.G_opt(), t.D_opt(), t.sampler());
  t.rng().offset = offset;
  t.set_progress(static_cast<int64_t>(cur_nimg), prev_lod);
}

}  // namespace gf
