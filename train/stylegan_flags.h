// train_stylegan's flags whose meaning depends on --arch, for both its runs (StyleGAN2-ADA's in train/stylegan2/,
// StyleGAN v1's in train/stylegan/): the --resume file's family, --snap's and --seed's defaults.
#pragma once
#include <cstdint>
#include <string>

#include "engine/io/safetensors.h"
#include "train/cli.h"

namespace gf {

// --resume of another family's file (a checkpoint or network bundle): one
// line naming the family and what continues it; the configs would otherwise
// fail on unknown keys. `arch_family` is network_family() of this --arch.
void check_resume_family(const io::SafetensorsFile& file, const std::string& path, const std::string& arch_family);

// --snap: given, or the family's official default: StyleGAN2-ADA's train.py
// 50 ticks; StyleGAN (v1)'s training_loop network_snapshot_ticks 10 (its
// image_snapshot_ticks is 1).
int snapshot_ticks(const cli::Args& args, bool v1);

// --seed: given, or the family's official default: StyleGAN2-ADA's train.py
// 0; StyleGAN (v1)'s train.py seeds numpy with 1000 (tf_config
// rnd.np_random_seed). In [0, 2^32-1].
uint64_t run_seed(const cli::Args& args);

}  // namespace gf
