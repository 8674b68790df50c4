// A program's settings checked against what they apply to before it runs: a resumed
// checkpoint's kept settings and resume point (--resume), a fresh run's --cfg against
// its data, --lod against the network's levels.
#pragma once
#include <string>
#include <vector>

#include "train/cli.h"

namespace gf::cli {

// --resume of a checkpoint: the settings its run fixed. Each flag in `kept`
// may be given again only with the run's own value (the same number, the
// same boolean, or the same text; a switch given is "true"), so the first
// run's command plus --resume works; another value throws one line naming
// both and the checkpoint `path`. `value` is the setting as the flag would
// be written (number_text for a double).
struct KeptValue {
  std::string flag, value;
};
void check_kept_on_resume(const Args& args, const std::string& path, const std::vector<KeptValue>& kept);
// --resume-kimg and --resume-time (the official TensorFlow trainers'
// resume_kimg and resume_time) set where a resumed pickle or snapshot
// continues the schedule and the time column: they need --resume, and a
// checkpoint (from_checkpoint) resumes at its own count (and report.html adds
// its earlier ticks' time), so both are refused.
void check_resume_point(const Args& args, const std::string& resume_path, bool from_checkpoint);
// The --resume-time SEC flag (at most 1e12 s); `scope` leads its help
// ("--arch stylegan, ") where only part of a program takes it.
Flag resume_time_flag(const std::string& scope = "");
// A fresh run's --cfg against its data: `widest` is the highest resolution
// at which the cfg's network widths (`widths`, as "channel_base 128") still
// give a channel. Larger images throw one line naming --cfg, the widths, the
// data and what to do; the networks' own check named neither flag nor data.
void check_cfg_resolution(const std::string& cfg, const std::string& widths, int widest, const std::string& data,
                          int resolution);

// --lod of a PGGAN or StyleGAN (v1) network of `resolution` (`path`): its
// levels are [0, log2(resolution) - 2] (0 the full resolution, the last 4x4),
// and the networks take a lod past them as the nearest level, so
// `generate --lod 25` gave the --lod 3 images. A --lod past the network's
// levels throws "--lod 25 is outside [0, 3], the levels of <path> (0: 32x32,
// 3: 4x4)"; without --lod, `stored` (the network's own lod).
double lod_flag(const Args& args, int resolution, double stored, const std::string& path);

}  // namespace gf::cli
