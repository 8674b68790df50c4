// train_psp's files, as ganforge .bin files:
//  - network-snapshot-<step>.bin and best_model.bin: the pSp network (models/psp/network_file.h:
//    encoder, decoder as G_ema, latent_avg, psp_kwargs and G_kwargs), what
//    pSp's iteration_<step>.pt holds; psp encode, psp mix and generate read it.
//  - checkpoint.bin: the same plus the optimizer ("opt."), the sampler
//    ("sampler."), the step, the random stream and the run's spec and seed,
//    so a run resumed from it continues bit for bit.
// Both are written to a temporary name and renamed.
#pragma once
#include <string>

#include "engine/io/safetensors.h"
#include "train/psp/trainer.h"

namespace gf::psp {

inline constexpr const char* kPspCheckpointFormat = "ganforge-psp-checkpoint/1";

void save_snapshot(const std::string& path, const PspTrainer& trainer);
void save_checkpoint(const std::string& path, PspTrainer& trainer);

bool is_psp_checkpoint(const io::SafetensorsFile& file);
// The spec and seed a checkpoint was made with; throws gf::Error naming the file.
PspTrainSpec checkpoint_spec(const io::SafetensorsFile& file, const std::string& path, uint64_t* seed);
// The pSp network of a checkpoint or snapshot (encoder, decoder, latent_avg).
std::unique_ptr<Psp> checkpoint_network(const io::SafetensorsFile& file, const std::string& path);
// Restores the optimizer, sampler, step and random stream of a checkpoint
// into a trainer built from checkpoint_spec() and checkpoint_network(). A
// missing or misshapen tensor throws naming it; the trainer must then not be used.
void load_checkpoint_state(PspTrainer& trainer, const io::SafetensorsFile& file, const std::string& path);

}  // namespace gf::psp
