// The tick loop around StyleGAN2Trainer::step(), as the official
// training_loop.py runs it: a status line every tick (the first after one
// minibatch), fakes grids from G_ema with fixed latents, a network snapshot
// and a checkpoint every snap ticks and at the end.
#pragma once
#include <cstdint>

#include "train/run_dir.h"
#include "train/stylegan2/trainer.h"

namespace gf {

struct LoopOptions {
  double total_kimg = 25000;  // stop once this many images have been shown (resumed ones included)
  double tick_kimg = 4;       // status line interval
  int snap_ticks = 50;        // grids, snapshot and checkpoint interval; 0: only at the end
  int grid_w = 8, grid_h = 4;
  bool progress = false;      // redraw a progress line after every minibatch (for a terminal)
};

// Runs until total_kimg, and always at least one minibatch (the official
// loop's order), so a run always ends with a snapshot; writes reals.png, fakes<kimg>.png,
// network-snapshot-<kimg>.bin, checkpoint.bin, log.txt, stats.jsonl and
// report.html (train/report.h, rewritten every tick) into run.
void run_training(StyleGAN2Trainer& trainer, RunDir& run, const LoopOptions& opt);

// "000123" for 123456 images, as the official file names count kimg.
std::string kimg_tag(int64_t nimg);

}  // namespace gf
