// The tick loop around PspTrainer::step(), in the layout train_stylegan's loop
// writes (train/run_dir.h, train/report.h): a status line every tick (the
// first after one minibatch) with the training losses' means and the
// held-out losses (pSp's board and validation intervals in one), image grids
// of held-out inputs and their reconstructions, the network snapshot and the
// checkpoint every snap ticks and at the end.
#pragma once
#include <cstdint>

#include "train/psp/trainer.h"
#include "train/run_dir.h"

namespace gf::psp {

struct PspLoopOptions {
  int64_t tick_steps = 50;  // pSp's board_interval
  int snap_ticks = 20;      // grids, snapshot and checkpoint every this many ticks (pSp's val_interval of 1000 steps); 0: only at the end
  int grid_pairs = 16;      // held-out images in the grids (at most val_images), 4 input | reconstruction pairs a row
  bool progress = false;    // redraw a progress line after every minibatch (for a terminal)
};

// Runs until spec.max_steps minibatches have trained (resumed ones included)
// and writes into run: reals.png (the held-out inputs), fakes<kimg>.png
// (input | reconstruction pairs), network-snapshot-<kimg>.bin (a pSp file),
// checkpoint.bin, log.txt, stats.jsonl and report.html. With nothing left to
// train (max_steps reached), it trains nothing, as pSp's loop, and writes the
// grids, snapshot and checkpoint of the network as it is.
void run_psp_training(PspTrainer& trainer, RunDir& run, const PspLoopOptions& opt);

}  // namespace gf::psp
