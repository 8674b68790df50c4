#include "train/stylegan2/run_description.h"

#include <cstdio>

#include "engine/error.h"
#include "train/cli.h"

namespace gf {

namespace {

std::string g_format(double v) {  // Python's f'{v:g}'
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

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

}  // namespace gf
