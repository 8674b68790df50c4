#include "train/stylegan2/augmentation_flags.h"

#include <algorithm>
#include <vector>

#include "engine/error.h"
#include "engine/strings.h"
#include "train/augment_pipe.h"

namespace gf {

std::string augmentation_text(const TrainSpec& s) {
  if (s.aug == "noaug" || (s.aug == "fixed" && s.augment_p == 0)) return "none (--aug " + s.aug + ")";
  if (s.aug == "fixed") return "fixed (" + s.augpipe + ", p " + g_format(s.augment_p) + ")";
  return "ada (" + s.augpipe + ", target " + g_format(s.ada_target) + ", ada_kimg " + g_format(s.ada_kimg) + ")";
}

void set_augmentation(const cli::Args& args, TrainSpec& spec) {
  spec.aug = args.str("aug");
  const std::vector<std::string> modes = aug_modes();
  if (std::find(modes.begin(), modes.end(), spec.aug) == modes.end())
    throw Error("--aug must be ada, noaug or fixed, got '" + spec.aug + "'");
  if (spec.aug == "fixed" && !args.has("p")) throw Error("--aug fixed needs --p");
  if (args.has("p") && spec.aug != "fixed") throw Error("--p can only be given with --aug fixed");
  if (args.has("target") && spec.aug != "ada") throw Error("--target can only be given with --aug ada");
  if (args.has("augpipe") && spec.aug == "noaug") throw Error("--augpipe cannot be given with --aug noaug");
  if (args.has("p")) spec.augment_p = args.number("p");
  spec.ada_target = args.number("target");
  spec.augpipe = args.str("augpipe");
  augpipe_spec(spec.augpipe);  // an unknown name: one line listing the pipelines
}

}  // namespace gf
