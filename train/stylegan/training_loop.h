// StyleGANTrainer in the shared tick loop (train/training_loop.h), as the
// official StyleGAN training_loop reports: ticks as long as the schedule's
// tick_kimg at the current resolution (unless a fixed length is given), a
// status line with the lod and minibatch, fakes grids from Gs at its current
// lod with fixed latents (fresh noise per grid), snapshots and the checkpoint. The
// checkpoint (save_stylegan_checkpoint) holds everything a run needs to
// continue bit for bit: networks, both Adams, the sampler, the random
// stream, the image count and the last round's lod.
#pragma once
#include <optional>
#include <string>

#include "engine/io/safetensors.h"
#include "train/stylegan/trainer.h"
#include "train/training_loop.h"

namespace gf {

inline constexpr const char* kStyleGANCheckpointFormat = "ganforge-stylegan-checkpoint-v1";

class StyleGANRun : public TrainerRun<StyleGANTrainer> {
 public:
  StyleGANRun(StyleGANTrainer& t, std::optional<double> tick_kimg) : TrainerRun(t), tick_kimg_(tick_kimg) {}
  Device device() const override { return t_.device(); }
  // The schedule of the round that just ran, as official training_loop.py's end-of-round check.
  double tick_kimg(double) const override { return tick_kimg_.value_or(t_.last_schedule().tick_kimg); }
  bool tick0_after_first_step() const override { return false; }
  bool trains_when_done() const override { return false; }
  std::string initial_fakes_name() const override { return "fakes" + kimg_tag(cur_nimg()) + ".png"; }  // the resume kimg's
  bool snapshot_at_first_tick() const override { return true; }
  TickStats take_stats() override;
  void write_reals(const std::string& path, int gw, int gh) override;
  void write_fakes(const std::string& path, int gw, int gh) override;
  void write_snapshot(const std::string& path) override;
  void write_checkpoint(const std::string& path) override;

 private:
  std::optional<double> tick_kimg_;
  Tensor grid_latents_, grid_labels_;
};

void save_stylegan_snapshot(const std::string& path, StyleGANTrainer& t);
void save_stylegan_checkpoint(const std::string& path, StyleGANTrainer& t);
bool is_stylegan_checkpoint(const io::SafetensorsFile& file);
// The spec and seed a checkpoint was written with (networks' configs included).
StyleGANSpec stylegan_checkpoint_spec(const io::SafetensorsFile& file, const std::string& path, uint64_t* seed);
// The networks' configs of any StyleGAN (v1) file --resume takes (a snapshot,
// checkpoint or converted official pickle; a generator alone keeps base's D)
// over base, as StyleGAN2's bundle_setup and PGGAN's: the file's architecture
// trains, not --cfg's. Throws gf::Error naming the file when its networks'
// resolution, channels or labels are not ds's.
StyleGANSpec stylegan_bundle_spec(const io::SafetensorsFile& file, const std::string& path, StyleGANSpec base,
                                  const Dataset& ds);
// Restores a trainer made from stylegan_checkpoint_spec; throws gf::Error
// naming the file for a different dataset, seed or a misshapen tensor.
void load_stylegan_checkpoint(StyleGANTrainer& t, const io::SafetensorsFile& file, const std::string& path);

}  // namespace gf
