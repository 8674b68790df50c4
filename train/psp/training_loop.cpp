#include "train/psp/training_loop.h"

#include <chrono>
#include <cstdio>

#include "engine/allocator.h"
#include "engine/error.h"
#include "train/image_io.h"
#include "train/psp/checkpoint.h"
#include "train/report.h"
#include "train/training_loop.h"

namespace gf::psp {
namespace {

// Held-out inputs and reconstructions side by side, 4 pairs a row.
void write_pairs(PspTrainer& t, const std::string& path, int pairs) {
  const auto [x, y] = t.held_out_pairs(pairs);
  const int64_t n = x.size(0);
  std::vector<Tensor> cells;
  for (int64_t i = 0; i < n; ++i) {
    cells.push_back(slice(x, 0, i, i + 1));
    cells.push_back(slice(y, 0, i, i + 1));
  }
  const int per_row = int(std::min<int64_t>(n, 4));
  const int rows = int((n + per_row - 1) / per_row);
  // A last row that is not full is padded with black cells.
  for (int64_t i = n; i < int64_t(rows) * per_row; ++i)
    for (int k = 0; k < 2; ++k) cells.push_back(full_like(slice(x, 0, 0, 1), -1));
  save_image_grid(concat(cells, 0), path, 2 * per_row, rows);
}

std::string fmt(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

}  // namespace

void run_psp_training(PspTrainer& t, RunDir& run, const PspLoopOptions& opt) {
  GF_CHECK(opt.tick_steps >= 1, "run_psp_training", "tick_steps must be at least 1");
  GF_CHECK(opt.snap_ticks >= 0, "run_psp_training", "snap_ticks must be >= 0");
  const int64_t total = t.spec().max_steps;
  const auto snapshot = [&]() {
    const std::string tag = kimg_tag(t.cur_nimg());
    write_pairs(t, run.file("fakes" + tag + ".png"), opt.grid_pairs);
    save_snapshot(run.file("network-snapshot-" + tag + ".bin"), t);
    save_checkpoint(run.file("checkpoint.bin"), t);
  };
  {
    const int64_t n = std::min<int64_t>(opt.grid_pairs, t.spec().val_images);
    const Tensor x = t.held_out_pairs(n).first;
    const int per_row = int(std::min<int64_t>(n, 8));
    const int rows = int((n + per_row - 1) / per_row);
    std::vector<Tensor> cells = {x};
    for (int64_t i = n; i < int64_t(rows) * per_row; ++i) cells.push_back(full_like(slice(x, 0, 0, 1), -1));
    save_image_grid(concat(cells, 0), run.file("reals.png"), per_row, rows);
  }
  if (t.cur_step() >= total) {
    // pSp's loop tests the step count first: it trains nothing and, here, still leaves a network.
    run.log("Nothing left to train: step " + std::to_string(t.cur_step()) + " of " + std::to_string(total) +
            " is reached; writing the network as it is (a larger --max-steps trains longer)");
    snapshot();
    update_report(run.path(), false);
    return;
  }
  int64_t tick = 0, tick_start = t.cur_step();
  const auto t0 = std::chrono::steady_clock::now();
  auto tick_t = t0;
  for (bool done = false; !done;) {
    t.step();
    done = t.cur_step() >= total;
    if (!done && tick != 0 && t.cur_step() < tick_start + opt.tick_steps) {
      if (opt.progress) {
        std::printf("\r  step %lld, tick %lld: %3.0f%%", static_cast<long long>(t.cur_step()),
                    static_cast<long long>(tick), 100.0 * double(t.cur_step() - tick_start) / double(opt.tick_steps));
        std::fflush(stdout);
      }
      continue;
    }
    if (opt.progress) std::printf("\r\033[K");
    const auto train_stats = t.take_stats();  // reads the device, so the times below include its work
    const auto val_stats = t.validate();
    const auto now = std::chrono::steady_clock::now();
    const double sec_tick = std::chrono::duration<double>(now - tick_t).count();
    const double total_sec = std::chrono::duration<double>(now - t0).count();
    const double kimg_tick = double(t.cur_step() - tick_start) * t.spec().batch / 1000.0;
    const double sec_kimg = sec_tick / std::max(kimg_tick, 1e-9);
    CachingAllocator& alloc = t.device().is_cuda() ? cuda_allocator(t.device().index) : cpu_allocator();
    const AllocatorStats mem = alloc.stats();
    const double maxmem_gb = mem.peak_in_use / double(1 << 30), reserved_gb = (mem.in_use + mem.cached) / double(1 << 30);
    alloc.reset_peak();
    char head[256];
    std::snprintf(head, sizeof head, "tick %-4lld step %-7lld kimg %-8.1f time %-8.0f sec/tick %-7.1f maxmem %-6.2f ",
                  static_cast<long long>(tick), static_cast<long long>(t.cur_step()), t.cur_nimg() / 1000.0, total_sec,
                  sec_tick, maxmem_gb);
    std::string line = head;
    nlohmann::json stats = {{"tick", tick}, {"step", t.cur_step()}, {"kimg", t.cur_nimg() / 1000.0},
                            {"total_sec", total_sec},
                            {"timestamp", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()},
                            {"sec_per_tick", sec_tick}, {"sec_per_kimg", sec_kimg}, {"maxmem_gb", maxmem_gb},
                            {"reserved_gb", reserved_gb}};
    for (const auto& [k, v] : train_stats) {
      line += k + " " + fmt(v) + " ";
      stats[k] = v;
    }
    for (const auto& [k, v] : val_stats) {
      line += k + " " + fmt(v) + " ";
      stats[k] = v;
    }
    run.log(line.substr(0, line.size() - 1));
    run.append_stats(stats);
    if (done || (opt.snap_ticks > 0 && tick % opt.snap_ticks == 0)) snapshot();
    update_report(run.path(), /*live=*/!done);
    ++tick;
    tick_start = t.cur_step();
    tick_t = now;
  }
}

}  // namespace gf::psp
