// What a StyleGAN2 run's flags built (spec, configs, seed, data, --resume file, tensors), as the run items
// the ranks of a process group compare (check_same_run) before the loads broadcast rank 0's networks.
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/dist/same_run.h"
#include "train/stylegan2/trainer.h"

namespace gf {

// What the flags made, as run items for check_same_run: the trainer's
// spec, networks' configs and seed, the dataset (its shape, and a key of its
// first and last images' pixels, cheap beside a key of all; not its name,
// which follows the path), the --resume
// file's bytes, and every tensor of G, G_ema and D by name and shape (what
// the collectives exchange).
std::vector<RunItem> built_run_items(StyleGAN2Trainer& t, const Dataset& ds, const std::string& resume);

}  // namespace gf
