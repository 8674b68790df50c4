#include "train/stylegan2/run_description.h"

#include <map>

#include "engine/error.h"
#include "engine/strings.h"
#include "train/cli.h"
#include "train/stylegan2/augmentation_flags.h"

namespace gf {

std::string run_description(const RunDescription& d) {
  if (!d.spec) throw Error("run_description: no training spec");
  const TrainSpec& s = *d.spec;
  std::string out = d.dataset;
  if (d.cond) out += "-cond";
  if (d.subset) out += "-subset" + std::to_string(*d.subset);
  if (d.mirror) out += "-mirror";
  out += "-" + s.cfg;
  if (s.cfg == "auto") out += std::to_string(s.gpus);
  if (d.gamma) out += "-gamma" + g_format(s.gamma);
  if (d.kimg) out += "-kimg" + cli::number_text(s.kimg);  // a whole kimg in full, as train.py's {kimg:d}
  if (d.batch) out += "-batch" + std::to_string(s.batch);
  if (d.aug) out += "-" + s.aug;
  if (d.p) out += "-p" + g_format(s.augment_p);
  if (d.target) out += "-target" + g_format(s.ada_target);
  if (d.augpipe) out += "-" + s.augpipe;
  if (d.resume == RunDescription::Resume::noresume) out += "-noresume";
  if (d.resume == RunDescription::Resume::named) out += "-resume" + d.resume_name;
  if (d.resume == RunDescription::Resume::custom) out += "-resumecustom";
  if (d.freezed) out += "-freezed" + std::to_string(*d.freezed);
  return out;
}

const std::map<std::string, std::string> kOfficialResumeNames = {
    {"ffhq256", "ffhq-res256-mirror-paper256-noaug.pkl"},
    {"ffhq512", "ffhq-res512-mirror-stylegan2-noaug.pkl"},
    {"ffhq1024", "ffhq-res1024-mirror-stylegan2-noaug.pkl"},
    {"celebahq256", "celebahq-res256-mirror-paper256-kimg100000-ada-target0.5.pkl"},
    {"lsundog256", "lsundog-res256-paper256-kimg100000-noaug.pkl"}};

std::string stylegan2_run_description(const cli::Args& args, const Dataset& ds, const DatasetOptions& dopt,
                                      const TrainerSetup& setup, bool noresume_given) {
  const TrainSpec& s = setup.spec;
  const TrainSpec cfg = make_train_spec(s.cfg, ds.resolution(), s.gpus);
  RunDescription d;
  d.dataset = ds.name();
  d.cond = ds.c_dim() > 0;
  if (dopt.max_images > 0) d.subset = dopt.max_images;
  d.mirror = dopt.xflip;
  d.spec = &s;
  d.gamma = args.has("gamma") || s.gamma != cfg.gamma;
  d.kimg = args.has("kimg") || s.kimg != cfg.kimg;
  d.batch = args.has("batch") || s.batch != cfg.batch;
  d.aug = args.has("aug") || s.aug != kDefaultAug;
  d.p = args.has("p") || s.aug == "fixed";
  d.target = args.has("target") || (s.aug == "ada" && s.ada_target != kDefaultTarget);
  d.augpipe = args.has("augpipe") || (s.aug != "noaug" && s.augpipe != kDefaultAugpipe);
  if (noresume_given) d.resume = RunDescription::Resume::noresume;
  if (args.has("resume")) {
    const bool named = kOfficialResumeNames.count(args.str("resume")) > 0;
    d.resume = named ? RunDescription::Resume::named : RunDescription::Resume::custom;
    if (named) d.resume_name = args.str("resume");
  }
  if (args.has("freezed") || setup.D_kwargs.freeze_layers > 0) d.freezed = setup.D_kwargs.freeze_layers;
  return run_description(d);
}

}  // namespace gf
