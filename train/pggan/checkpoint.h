// Snapshots and checkpoints of a PGGAN run, as ganforge .bin bundles
// (models/pggan/network_file.h):
//  - network-snapshot-<kimg>.bin: G, D and Gs (as "G_ema.") with their
//    configs, what the official network-snapshot pickle (G, D, Gs) holds;
//    generate, discriminate and --resume read it.
//  - checkpoint.bin: the same plus both Adam states ("G_opt.", "D_opt."; empty
//    right after a reset), the sampler, the random stream and the progress
//    (images shown, the last round's lod), with the spec and seed in the
//    metadata, so a run resumed from it continues bit for bit, across a fade
//    too.
#pragma once
#include <string>

#include "engine/io/safetensors.h"
#include "train/pggan/trainer.h"

namespace gf {

inline constexpr const char* kPGGANCheckpointFormat = "ganforge-pggan-checkpoint/1";

void save_pggan_snapshot(const std::string& path, PGGANTrainer& trainer);
void save_pggan_checkpoint(const std::string& path, PGGANTrainer& trainer);

bool is_pggan_checkpoint(const io::SafetensorsFile& file);
// The setup a checkpoint was made with, on `device`.
PGGANSetup pggan_checkpoint_setup(const io::SafetensorsFile& file, const std::string& path, Device device);
// The network configs of a PGGAN bundle over `base` (spec, seed, device).
PGGANSetup pggan_bundle_setup(const io::SafetensorsFile& file, const std::string& path, PGGANSetup base);

// Restores everything into a trainer built from pggan_checkpoint_setup(). A
// missing or misshapen tensor throws naming it (checked before anything that
// cannot be undone; a failed network load leaves the trainer unusable).
void load_pggan_checkpoint(PGGANTrainer& trainer, const io::SafetensorsFile& file, const std::string& path);
// The official resume of a pickle: the weights of G, D and Gs only (a
// generator-only file fills G and Gs); optimizers, sampler and progress start fresh.
void load_pggan_networks(PGGANTrainer& trainer, const io::SafetensorsFile& file, const std::string& path);

}  // namespace gf
