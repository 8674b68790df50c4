// Snapshots and checkpoints of a StyleGAN2 run, as ganforge .bin bundles
// (models/network_file.h):
//  - network-snapshot-<kimg>.bin: G, D and G_ema with their configs, what the
//    official network-snapshot pickle holds; generate and --resume read it.
//  - checkpoint.bin: the same plus both Adam states ("G_opt.", "D_opt."), the
//    sampler ("sampler."), the random stream, progress and the path-length
//    mean ("state."), and the training spec and seed in the metadata, so a
//    run resumed from it continues bit for bit as if it had not stopped.
// Both are written to a temporary name and renamed.
#pragma once
#include <string>

#include "engine/io/safetensors.h"
#include "train/stylegan2/trainer.h"

namespace gf {

inline constexpr const char* kCheckpointFormat = "ganforge-stylegan2-checkpoint/1";

void save_snapshot(const std::string& path, StyleGAN2Trainer& trainer);
// Collective with one process per device: every rank calls it, rank 0 writes.
void save_checkpoint(const std::string& path, StyleGAN2Trainer& trainer);

// Whether a file is a full checkpoint (its metadata "format").
bool is_checkpoint(const io::SafetensorsFile& file);
// The setup a checkpoint was made with (spec, configs, seed) on `device`.
TrainerSetup checkpoint_setup(const io::SafetensorsFile& file, const std::string& path, Device device);
// Network configs of any network bundle (snapshot, checkpoint, converted
// weights) over `base`, which supplies the spec, seed and device.
TrainerSetup bundle_setup(const io::SafetensorsFile& file, const std::string& path, TrainerSetup base);

// Whether a bundle's grey networks (img_channels 1) meet RGB data of their
// resolution and labels, which the official train.py resumes (below).
bool grey_networks_on_rgb_data(const TrainerSetup& setup, const Dataset& ds);
// A grey bundle for RGB data, as the official train.py resumes one: it builds
// G and D for the data's three channels and copies the pickle's tensors in
// with torch's copy_ (misc.copy_params_and_buffers), which broadcasts every
// toRGB weight [1, C, 1, 1] and bias [1] and every fromRGB weight
// [C, 1, 1, 1] to three channels, R, G and B alike. Returns the file with
// those tensors repeated; `setup`'s img_channels become 3.
io::SafetensorsFile grey_bundle_for_rgb(const io::SafetensorsFile& file, TrainerSetup* setup);

// Restores everything in a checkpoint into a trainer built from
// checkpoint_setup(). A missing or misshapen tensor throws naming it; the
// trainer is then partly loaded and must not be used (train_stylegan stops).
void load_checkpoint(StyleGAN2Trainer& trainer, const io::SafetensorsFile& file, const std::string& path);
// The official resume: weights and buffers of G, D and G_ema only (a
// generator-only file fills G and G_ema; D keeps its initialization);
// optimizers, sampler and progress start fresh.
void load_networks(StyleGAN2Trainer& trainer, const io::SafetensorsFile& file, const std::string& path);

}  // namespace gf
