// --resume for StyleGAN2-ADA: the trainer a checkpoint continues, or one built from a network bundle's
// configs and weights (on other data: the tensors that fit by name), as the official train.py resumes.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "data/dataset.h"
#include "train/cli.h"
#include "train/stylegan2/trainer.h"

namespace gf {

// The trainer for --resume FILE: a checkpoint brings its own spec and seed
// (which the flags must then not change); any other network bundle gives the
// networks' configs and weights, as the official --resume of a pickle does.
// `agree` runs on the built trainer before its networks are loaded (the
// loads broadcast rank 0's networks: the ranks must agree on them first).
// *note gets the run log's lines: when the file holds no D, and when its
// networks were built for other data (what each took by name).
std::unique_ptr<StyleGAN2Trainer> resumed_trainer(const cli::Args& args, const std::string& path,
                                                  const TrainerSetup& fresh, const Dataset& ds,
                                                  const std::function<void(StyleGAN2Trainer&)>& agree,
                                                  std::string* note);

}  // namespace gf
