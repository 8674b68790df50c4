// The tick loop every family trains in, as the official training loops run
// it: steps until total_kimg, a status line (log.txt, stats.jsonl) every
// tick, fakes grids with fixed latents, network snapshots and the checkpoint
// every few ticks and at the end. A family supplies its run through
// TrainingRun (train/<family>/); the loop owns timing, memory figures, file
// names and the schedule of writes.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/device.h"
#include "train/run_dir.h"

namespace gf {

// A family's statistics for one tick.
struct TickStats {
  std::string progress;   // status-line text after "kimg": PGGAN's "lod 1.50 minibatch 16 "; may be empty
  std::string losses;     // status-line text after the timing and memory figures
  nlohmann::json fields;  // added to the tick's stats.jsonl object
};

// What the loop needs of a family's run.
class TrainingRun {
 public:
  virtual ~TrainingRun() = default;
  // One unit of training between tick checks: a minibatch (StyleGAN2-ADA),
  // or the official round of minibatch_repeats minibatches (PGGAN).
  virtual void step() = 0;
  virtual int64_t cur_nimg() const = 0;
  virtual Device device() const = 0;
  // The tick length in kimg at the current progress: `requested` (the --tick
  // flag), or what the family's schedule says.
  virtual double tick_kimg(double requested) const { return requested; }
  // The same in whole images: the first count at or past tick_kimg * 1000,
  // as the official loops compare in floating point.
  virtual int64_t tick_images(double requested) const { return static_cast<int64_t>(std::ceil(tick_kimg(requested) * 1000)); }
  // StyleGAN2-ADA reports tick 0 after the first step; PGGAN's first tick
  // (numbered 1) runs its full length.
  virtual bool tick0_after_first_step() const { return true; }
  // With nothing left to train at the start: StyleGAN2-ADA's loop still
  // trains one step (it tests `done` after a minibatch); PGGAN's trains none.
  virtual bool trains_when_done() const { return true; }
  // With nothing to train, whether the official loop still writes its final
  // network (PGGAN's network-final.pkl); pSp's coach writes nothing. Here
  // every run that finishes leaves one; this only words the log line.
  virtual bool official_writes_untrained() const { return true; }
  // The grid of fakes written before the first step, after reals.png, as
  // the official loops do ("" for none: pSp's coach writes none).
  // StyleGAN2-ADA: fakes_init.png; PGGAN: fakes000000.png; StyleGAN (v1):
  // fakes<resume kimg>.png.
  virtual std::string initial_fakes_name() const { return "fakes_init.png"; }
  // StyleGAN (v1)'s loop also writes a snapshot (and runs the metrics) at
  // tick 1, whatever the snapshot interval.
  virtual bool snapshot_at_first_tick() const { return false; }
  // Whether training has reached its end: total_nimg images shown (the
  // official GAN loops), or a family's own count (pSp's max_steps).
  virtual bool finished(int64_t total_nimg) const { return cur_nimg() >= total_nimg; }
  // Where the run stands against its end, and the flag that sets the end,
  // for the line a run with nothing left to train logs: "kimg 50.000 of
  // 50.000 is reached; ... (a larger --kimg trains longer)".
  virtual std::string end_reached(double total_kimg) const;
  virtual std::string length_flag() const { return "--kimg"; }
  // The loss statistics since the last take; may wait for the device, so the
  // loop calls it before reading the clock.
  virtual TickStats take_stats() = 0;
  // reals.png of gw x gh images; fixes the grid's latents for write_fakes.
  virtual void write_reals(const std::string& path, int gw, int gh) = 0;
  virtual void write_fakes(const std::string& path, int gw, int gh) = 0;
  virtual void write_snapshot(const std::string& path) = 0;
  virtual void write_checkpoint(const std::string& path) = 0;
  // What names a snapshot and its grid (network-snapshot-<tag>.bin,
  // fakes<tag>.png): the whole kimg, as the official GAN loops (snapshots of
  // one kimg replace each other there too); pSp names them by step.
  virtual std::string snapshot_tag() const;
  // After each tick's statistics and before its grids, snapshot and
  // checkpoint, in the writing process: files a family keeps besides the
  // snapshots (pSp's best_model), named by `file`; returns a line for the
  // log, or "".
  virtual std::string after_tick(const std::function<std::string(const std::string&)>& file) {
    (void)file;
    return "";
  }
  // With one process per device: whether this process writes the run's
  // files (rank 0). The others run the loop for its collectives only
  // (take_stats, and write_checkpoint with an empty path).
  virtual bool writes_files() const { return true; }
};

// A TrainingRun over a family's trainer (PGGANTrainer, StyleGANTrainer,
// StyleGAN2Trainer, psp::PspTrainer): one step() is the trainer's step(),
// and cur_nimg() its image count. The family's run adds the rest.
template <class Trainer>
class TrainerRun : public TrainingRun {
 public:
  explicit TrainerRun(Trainer& t) : t_(t) {}
  void step() override { t_.step(); }
  int64_t cur_nimg() const override { return t_.cur_nimg(); }

 protected:
  Trainer& t_;
};

// What a run writes between its ticks, and how often: the part of the loop's
// options every family shares, whatever unit counts its length (LoopOptions'
// kimg, or pSp's steps: psp::PspLoopOptions).
struct TickOutputs {
  int snap_ticks = 50;        // snapshot and checkpoint interval; 0: only at the end
  int image_snap_ticks = 0;   // fakes grid interval; 0: with the snapshots
  int grid_w = 8, grid_h = 4;
  bool progress = false;      // redraw a progress line after every step (for a terminal)
  // Called on the writing process after each network snapshot, with its path:
  // where the official loop evaluates its metrics (metrics/metric_main.h).
  // What it returns joins that tick's stats.jsonl line (the official loop
  // logs its metrics at that tick too), so report.html draws them. Its time,
  // like the grids' and snapshots', is in no tick's sec/tick: the next tick's
  // clock starts after them, as the official loop's after its maintenance.
  std::function<nlohmann::json(const std::string& snapshot)> after_snapshot;
  // Called on every process after each snapshot (on the writing one after
  // after_snapshot): with one process per device, where the other ranks take
  // their share of the metrics' evaluation and then meet rank 0 once it has
  // written the results (waits with a limit of their own), so that none
  // waits in the next step's collective, under the step's limit.
  std::function<void()> meet_after_snapshot;
};

struct LoopOptions : TickOutputs {
  // Ctrl-C, SIGTERM, SIGHUP or SIGPIPE stops the run between steps and records it (StopOnSignal,
  // train/stop_signal.h).
  bool stop_between_steps = true;
  // With one process per device, where a rank stopping alone would leave the
  // others in a collective: a collective called by every rank before each
  // step that throws Interrupted on every rank when any rank has a pending
  // stop signal (throw_if_any_rank_stopped). Empty: each process decides
  // alone (one process).
  std::function<void()> agree_stop;
  double total_kimg = 25000;  // stop once this many images have been shown (resumed ones included)
  double tick_kimg = 4;       // status line interval, unless the family's schedule sets it
  // The official TensorFlow trainers' resume_time: seconds the time column
  // (and stats.jsonl's total_sec) starts from.
  double resume_sec = 0;
};

// Runs until total_kimg; a run always ends with a snapshot (with nothing left
// to train, after one step or none: TrainingRun::trains_when_done). Writes
// reals.png, fakes<kimg>.png, network-snapshot-<kimg>.bin, checkpoint.bin,
// log.txt, stats.jsonl (with a timestamp per tick) and report.html
// (train/report.h, rewritten every tick) into run. Throws gf::Error for
// options out of range.
// `run` is null on the processes that write no files (writes_files()).
void run_training(TrainingRun& t, RunDir* run, const LoopOptions& opt);
inline void run_training(TrainingRun& t, RunDir& run, const LoopOptions& opt) { run_training(t, &run, opt); }

// "000123" for 123456 images, as the official file names count kimg.
std::string kimg_tag(int64_t nimg);

// Numbers in the families' status lines. status_fixed: `decimals` places,
// as the lines print losses, below 1e6 in magnitude; larger ones (a
// diverging run's 1e29 took 30 digits and cut the line) in exponent form.
// status_general: printf's %.4g. Both write NaN as "nan" (printf's "-nan"
// for one with the sign bit set).
std::string status_fixed(double v, int decimals);
std::string status_general(double v);

// The first keys (at most `limit`, in the object's order) of the tick's
// stats.jsonl fields whose numbers are not finite: "loss_G, pl_penalty".
// Empty when all are finite.
std::string non_finite_fields(const nlohmann::json& fields, int limit = 4);

}  // namespace gf
