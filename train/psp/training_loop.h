// PspTrainer in the shared tick loop (train/training_loop.h), in the layout
// train_stylegan's runs write (train/run_dir.h, train/report.h): a status line
// every tick of tick_steps minibatches (the first after one minibatch) with
// the training losses' means and the held-out losses (pSp's board and
// validation intervals in one), image grids of held-out inputs and their
// reconstructions, the network snapshot and the checkpoint every snap ticks
// and at the end. pSp counts its run in steps (max_steps, board_interval);
// the loop's kimg is steps x batch.
#pragma once
#include <cstdint>

#include "train/psp/trainer.h"
#include "train/run_dir.h"
#include "train/training_loop.h"

namespace gf::psp {

// The trainer as the loop sees it: one step is one minibatch; a tick is
// tick_steps of them; the run ends at spec().max_steps. The grids hold the
// first gw x gh held-out images (at most val_images): reals.png 2 gw of them
// a row, fakes<step>.png gw input | reconstruction pairs a row.
class PspRun : public TrainerRun<PspTrainer> {
 public:
  PspRun(PspTrainer& t, int64_t tick_steps);
  Device device() const override { return t_.device(); }
  double tick_kimg(double) const override;
  int64_t tick_images(double) const override;
  // pSp's coach tests `step < max_steps` before a step: a finished run trains nothing.
  bool trains_when_done() const override { return false; }
  bool official_writes_untrained() const override { return false; }  // coach.train's while loop never runs
  std::string initial_fakes_name() const override { return ""; }
  bool finished(int64_t) const override { return t_.cur_step() >= t_.spec().max_steps; }
  std::string end_reached(double) const override;
  std::string length_flag() const override { return "--max-steps"; }
  // The training losses' means since the last tick and validate()'s held-out ones.
  TickStats take_stats() override;
  void write_reals(const std::string& path, int gw, int gh) override;
  void write_fakes(const std::string& path, int gw, int gh) override;
  void write_snapshot(const std::string& path) override;
  void write_checkpoint(const std::string& path) override;
  // The step, 6 digits: pSp names its checkpoints iteration_<step>.pt, and a
  // snapshot every few hundred images must not replace the last (kimg did).
  std::string snapshot_tag() const override;
  // best_model.bin (the pSp network file, as pSp's checkpoints/best_model.pt)
  // when this tick's held-out loss is the lowest of this run folder's ticks
  // (a resumed run starts its own, as pSp's coach starts from None).
  std::string after_tick(const std::function<std::string(const std::string&)>& file) override;

 private:
  int64_t tick_steps_;
};

// The loop's outputs (TickOutputs: grids of held-out input | reconstruction
// pairs, grid_w pairs a row and grid_h rows, the snapshot and the checkpoint)
// at pSp's defaults, and the tick in steps.
struct PspLoopOptions : TickOutputs {
  int64_t tick_steps = 50;  // pSp's board_interval
  PspLoopOptions() {
    snap_ticks = 20;  // pSp's val_interval of 1000 steps
    grid_w = grid_h = 4;
  }
};

// Runs until spec.max_steps minibatches have trained (resumed ones included)
// and writes into run, through run_training: reals.png (the held-out inputs),
// fakes<step>.png (input | reconstruction pairs), network-snapshot-<step>.bin,
// best_model.bin (the lowest held-out loss)
// (a pSp file), checkpoint.bin, log.txt, stats.jsonl and report.html. With
// nothing left to train (max_steps reached), it trains nothing, as pSp's
// loop, and writes the grids, snapshot and checkpoint of the network as it
// is. Throws gf::Error for options out of range.
void run_psp_training(PspTrainer& trainer, RunDir& run, const PspLoopOptions& opt);

// The step as snapshots and grids name it: 6 digits, "000050".
std::string step_tag(int64_t step);

}  // namespace gf::psp
