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

// Whether setup's networks make ds's images (resolution, channels) and take
// its label count.
bool networks_fit_data(const TrainerSetup& setup, const Dataset& ds);
// The official train.py's networks for --resume on other data: it builds G
// and D for the data's resolution, channels and labels (the widths, mapping
// and D's architecture stay the file's here: see bundle_setup) and copies
// the pickle's tensors in by name (load_networks with `built_for`). Throws a
// line saying --cond when the networks are conditional and the data not, or
// the reverse: the official copy_ fails there (mapping.fc0 takes the label
// embedding beside z). Labels of another count load only from a c_dim of 1
// (broadcast); others fail in load_networks, on mapping.embed, as copy_ does.
void build_for_data(TrainerSetup* setup, const std::string& path, const Dataset& ds);

// Restores everything in a checkpoint into a trainer built from
// checkpoint_setup(). A missing or misshapen tensor throws naming it; the
// trainer is then partly loaded and must not be used (train_stylegan stops).
void load_checkpoint(StyleGAN2Trainer& trainer, const io::SafetensorsFile& file, const std::string& path);
// The official resume: weights and buffers of G, D and G_ema only (a
// generator-only file fills G and G_ema; D keeps its initialization);
// optimizers, sampler and progress start fresh. With `built_for` empty
// every tensor must be there with its shape (networks built from the file's
// configs). Networks built for other data (build_for_data; `built_for`
// says so: "built for ds's 16x16x3 images with 0 labels") each take what
// fits, as the official misc.copy_params_and_buffers with
// require_all=False: a tensor of the file's is broadcast into the slot of
// its name (a grey toRGB to three channels), slots the file lacks keep their
// initialization (G_ema's are G's: it starts as G's copy), and a tensor that
// does not broadcast throws naming it. Returns the run log's lines saying
// what was copied, broadcast, kept and left unused (those networks), else "".
std::string load_networks(StyleGAN2Trainer& trainer, const io::SafetensorsFile& file, const std::string& path,
                          const std::string& built_for = "");

}  // namespace gf
