// PGGANTrainer in the shared tick loop (train/training_loop.h), as the
// official train_progressive_gan reports: ticks numbered from 1, each as long
// as the schedule's tick_kimg at the current resolution (unless a fixed length
// is given), a status line with the lod and minibatch, fakes grids from Gs at
// its current lod with fixed latents, snapshots and the checkpoint.
#pragma once
#include <optional>

#include "train/pggan/trainer.h"
#include "train/training_loop.h"

namespace gf {

class PGGANRun : public TrainerRun<PGGANTrainer> {
 public:
  // tick_kimg: a fixed tick length, or none for the schedule's.
  PGGANRun(PGGANTrainer& t, std::optional<double> tick_kimg) : TrainerRun(t), tick_kimg_(tick_kimg) {}
  Device device() const override { return t_.setup().device; }
  double tick_kimg(double) const override { return tick_kimg_ ? *tick_kimg_ : t_.last_schedule().tick_kimg; }
  bool tick0_after_first_step() const override { return false; }
  bool trains_when_done() const override { return false; }
  std::string initial_fakes_name() const override { return "fakes000000.png"; }  // train.py: 'fakes%06d.png' % 0, resumed too
  TickStats take_stats() override;
  void write_reals(const std::string& path, int gw, int gh) override;
  void write_fakes(const std::string& path, int gw, int gh) override;
  void write_snapshot(const std::string& path) override;
  void write_checkpoint(const std::string& path) override;

 private:
  std::optional<double> tick_kimg_;
  Tensor grid_latents_, grid_labels_;
};

}  // namespace gf
