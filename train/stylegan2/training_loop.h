// StyleGAN2Trainer in the shared tick loop (train/training_loop.h), as the
// official StyleGAN2-ADA training_loop.py runs it: a status line every tick
// (the first after one minibatch), fakes grids from G_ema with fixed latents,
// a network snapshot and a checkpoint every snap ticks and at the end.
#pragma once
#include "train/run_dir.h"
#include "train/stylegan2/trainer.h"
#include "train/training_loop.h"

namespace gf {

// The trainer as the loop sees it: one step is one minibatch.
class StyleGAN2Run : public TrainingRun {
 public:
  explicit StyleGAN2Run(StyleGAN2Trainer& t) : t_(t) {}
  void step() override { t_.step(); }
  int64_t cur_nimg() const override { return t_.cur_nimg(); }
  Device device() const override { return t_.setup().device; }
  TickStats take_stats() override;
  void write_reals(const std::string& path, int gw, int gh) override;
  void write_fakes(const std::string& path, int gw, int gh) override;
  void write_snapshot(const std::string& path) override;
  void write_checkpoint(const std::string& path) override;

 private:
  StyleGAN2Trainer& t_;
  Tensor grid_z_, grid_c_;  // fixed latents and labels of the fakes grids
};

// Runs the trainer until total_kimg, and always at least one minibatch (the
// official loop's order), so a run always ends with a snapshot
// (run_training of a StyleGAN2Run).
void run_training(StyleGAN2Trainer& trainer, RunDir& run, const LoopOptions& opt);

}  // namespace gf
