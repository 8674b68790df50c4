// StyleGAN2-ADA's augmentation flags (--aug, --p, --target, --augpipe) as the official train.py takes them:
// their defaults, their rules into the training spec, and the run log's words for them.
#pragma once
#include <string>

#include "train/cli.h"
#include "train/stylegan2/configs.h"

namespace gf {

// train.py's augmentation defaults (--aug, --target, --augpipe), which its
// run folder's name leaves out.
inline constexpr const char* kDefaultAug = "ada";
inline constexpr const char* kDefaultAugpipe = "bgc";
inline constexpr double kDefaultTarget = 0.6;

// For the run log: "ada (bgc, target 0.6, ada_kimg 500)", "fixed (bgc, p 0.2)",
// "none (--aug noaug)"; fixed with p 0 runs no pipe, as the official loop.
std::string augmentation_text(const TrainSpec& s);

// --aug, --p, --target, --augpipe into the spec, with the official train.py's rules.
void set_augmentation(const cli::Args& args, TrainSpec& spec);

}  // namespace gf
