// The run folder's name after its number, as StyleGAN2-ADA's train.py builds
// its `desc` (setup_training_loop_kwargs): the dataset, then a part for each
// option the command line gave, in train.py's order:
//   <data>[-cond][-subset<N>][-mirror]-<cfg>[<gpus> for auto][-gamma<G>]
//   [-kimg<K>][-batch<B>][-<aug>][-p<P>][-target<T>][-<augpipe>]
//   [-noresume | -resume<name> | -resumecustom][-freezed<N>]
// Numbers as train.py formats them ({:g}); a fractional --kimg (ganforge
// takes one) is written in full. stylegan2_run_description fills it in from
// train_stylegan's flags and the run's set-up.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "train/cli.h"
#include "train/stylegan2/configs.h"
#include "train/stylegan2/trainer.h"

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

// train.py's --resume names of its transfer-learning sources, and their pickles.
extern const std::map<std::string, std::string> kOfficialResumeNames;

// The run folder's description as train.py's desc: each part for an option
// given on the command line, or (resuming a checkpoint, whose run's flags
// need not be given again) one whose value differs from --cfg's.
std::string stylegan2_run_description(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt,
                                      const TrainerSetup& setup, bool noresume_given);

}  // namespace gf
