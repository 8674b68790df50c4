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
class StyleGAN2Run : public TrainerRun<StyleGAN2Trainer> {
 public:
  explicit StyleGAN2Run(StyleGAN2Trainer& t) : TrainerRun(t) {}
  Device device() const override { return t_.setup().device; }
  TickStats take_stats() override;
  void write_reals(const std::string& path, int gw, int gh) override;
  void write_fakes(const std::string& path, int gw, int gh) override;
  void write_snapshot(const std::string& path) override;
  void write_checkpoint(const std::string& path) override;  // every rank: it gathers the random offsets
  bool writes_files() const override { return t_.is_main(); }

 private:
  Tensor grid_z_, grid_c_;  // fixed latents and labels of the fakes grids
};

// Runs the trainer until total_kimg, and always at least one minibatch (the
// official loop's order), so a run always ends with a snapshot
// (run_training of a StyleGAN2Run). With one process per device every rank
// runs it, rank 0 with its run folder and every other rank with none (null):
// they take part in the collectives only.
void run_training(StyleGAN2Trainer& trainer, RunDir* run, const LoopOptions& opt);
inline void run_training(StyleGAN2Trainer& trainer, RunDir& run, const LoopOptions& opt) {
  run_training(trainer, &run, opt);
}

}  // namespace gf
