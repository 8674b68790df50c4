// The run folder's name after its number, as StyleGAN2-ADA's train.py builds
// its `desc` (setup_training_loop_kwargs): the dataset, then a part for each
// option the command line gave, in train.py's order:
//   <data>[-cond][-subset<N>][-mirror]-<cfg>[<gpus> for auto][-gamma<G>]
//   [-kimg<K>][-batch<B>][-<aug>][-p<P>][-target<T>][-<augpipe>]
//   [-noresume | -resume<name> | -resumecustom][-freezed<N>]
// Numbers as train.py formats them ({:g}); a fractional --kimg (ganforge
// takes one) is written in full.
#pragma once
#include <optional>
#include <string>

#include "train/stylegan2/configs.h"

namespace gf {

struct RunDescription {
  std::string dataset;                   // the dataset's name (its folder or zip, without .zip)
  bool cond = false;                     // --cond (a labelled run)
  std::optional<long long> subset;       // --max-images (train.py's --subset)
  bool mirror = false;                   // --mirror
  const TrainSpec* spec = nullptr;       // cfg, gpus and the values of the parts below
  bool gamma = false, kimg = false, batch = false;              // given on the command line
  bool aug = false, p = false, target = false, augpipe = false;  // given on the command line
  // --resume: noresume, one of train.py's resume_specs names (a file of
  // that name here: -resume<name>, as train.py names it), or any other.
  enum class Resume { none, noresume, named, custom } resume = Resume::none;
  std::string resume_name;               // for Resume::named
  std::optional<int> freezed;            // --freezed
};

std::string run_description(const RunDescription& d);

}  // namespace gf
