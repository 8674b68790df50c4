#include "train/psp/training_loop.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/error.h"
#include "data/images/image_io.h"
#include "train/psp/checkpoint.h"

namespace gf::psp {
namespace {

// cells [n, C, S, S] as a grid of per_row a row, a last row that is not full
// padded with black cells.
void save_cells(const Tensor& cells, const std::string& path, int per_row) {
  const int64_t n = cells.size(0);
  const int rows = int((n + per_row - 1) / per_row);
  std::vector<Tensor> all = {cells};
  for (int64_t i = n; i < int64_t(rows) * per_row; ++i) all.push_back(full_like(slice(cells, 0, 0, 1), -1));
  save_image_grid(concat(all, 0), path, per_row, rows);
}

}  // namespace

PspRun::PspRun(PspTrainer& t, int64_t tick_steps) : TrainerRun(t), tick_steps_(tick_steps) {
  GF_CHECK(tick_steps >= 1, "run_psp_training", "tick_steps must be at least 1");
}

// The loop measures ticks in images: steps x batch, exactly (as kimg, times
// 1000, it can come out above the whole count and end a tick a step late).
double PspRun::tick_kimg(double) const { return double(tick_steps_) * t_.spec().batch / 1000.0; }
int64_t PspRun::tick_images(double) const { return tick_steps_ * t_.spec().batch; }

std::string PspRun::end_reached(double) const {
  return "step " + std::to_string(t_.cur_step()) + " of " + std::to_string(t_.spec().max_steps) + " is reached";
}

TickStats PspRun::take_stats() {
  TickStats s;
  s.progress = "step " + std::to_string(t_.cur_step()) + " ";
  s.fields["step"] = t_.cur_step();
  const auto train_stats = t_.take_stats();  // reads the device, so the loop's times include its work
  // coach.validate at pSp's first step (its global_step 0, step 1 here) is a
  // sanity pass: with 5 or more held-out batches it stops after the fifth and
  // returns None, so that step logs no held-out loss and makes no best model.
  const bool sanity_pass_only = t_.cur_step() == 1 && t_.validation_batches() >= 5;
  const auto val_stats = sanity_pass_only ? std::vector<std::pair<std::string, double>>{} : t_.validate();
  for (const auto* stats : {&train_stats, &val_stats})
    for (const auto& [k, v] : *stats) {
      s.losses += (s.losses.empty() ? "" : " ") + k + " " + status_general(v);
      s.fields[k] = v;
    }
  for (const auto& [k, v] : val_stats)
    // As coach.train: the first held-out loss (best_val_loss is None), even
    // a NaN one, then each strictly lower (none is, after a NaN).
    if (k == "val_loss" && (t_.best_step() < 0 || v < t_.best_val_loss())) {
      t_.set_best(v, t_.cur_step());
    }
  return s;
}

std::string step_tag(int64_t step) {
  char b[32];
  std::snprintf(b, sizeof b, "%06lld", static_cast<long long>(step));
  return b;
}

std::string PspRun::snapshot_tag() const { return step_tag(t_.cur_step()); }

std::string PspRun::after_tick(const std::function<std::string(const std::string&)>& file) {
  // take_stats, just before, set the best at this step when it lowered it.
  if (t_.best_step() != t_.cur_step()) return "";
  save_snapshot(file("best_model.bin"), t_);
  const double best = t_.best_val_loss();
  return "best_model.bin: step " + std::to_string(t_.best_step()) + ", held-out loss " + status_general(best) +
         (std::isnan(best) ? " (the first, not a number: as pSp's coach, no later loss replaces it)" : " (the lowest so far)");
}

void PspRun::write_reals(const std::string& path, int gw, int gh) {
  const Tensor x = t_.held_out_pairs(int64_t(gw) * gh).first;
  save_cells(x, path, int(std::min<int64_t>(x.size(0), 2 * int64_t(gw))));
}

void PspRun::write_fakes(const std::string& path, int gw, int gh) {
  const auto [x, y] = t_.held_out_pairs(int64_t(gw) * gh);
  const int64_t n = x.size(0);
  std::vector<Tensor> cells;
  for (int64_t i = 0; i < n; ++i) {
    cells.push_back(slice(x, 0, i, i + 1));
    cells.push_back(slice(y, 0, i, i + 1));
  }
  save_cells(concat(cells, 0), path, 2 * int(std::min<int64_t>(n, gw)));
}

void PspRun::write_snapshot(const std::string& path) { save_snapshot(path, t_); }
void PspRun::write_checkpoint(const std::string& path) { save_checkpoint(path, t_); }

void run_psp_training(PspTrainer& trainer, RunDir& run, const PspLoopOptions& opt) {
  GF_CHECK(opt.grid_w >= 1 && opt.grid_h >= 1, "run_psp_training", "the grid needs at least one pair");
  PspRun r(trainer, opt.tick_steps);
  LoopOptions lo;
  static_cast<TickOutputs&>(lo) = opt;
  // The loop's end in kimg is for its log only; PspRun::finished counts steps.
  lo.total_kimg = std::min(1e12, double(trainer.spec().max_steps) * trainer.spec().batch / 1000.0);
  lo.tick_kimg = r.tick_kimg(0);
  run_training(static_cast<TrainingRun&>(r), run, lo);
}

}  // namespace gf::psp
