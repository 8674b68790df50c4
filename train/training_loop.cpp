#include "train/training_loop.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <errno.h>  // program_invocation_short_name
#include <optional>

#include "engine/allocator.h"
#include "engine/error.h"
#include "engine/io/append_file.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_input.h"
#include "train/report.h"
#include "train/stop_signal.h"

namespace gf {

std::string kimg_tag(int64_t nimg) {
  char b[32];
  std::snprintf(b, sizeof b, "%06lld", static_cast<long long>(nimg / 1000));
  return b;
}

std::string status_fixed(double v, int decimals) {
  char b[64];
  if (std::isnan(v)) return "nan";
  std::snprintf(b, sizeof b, std::fabs(v) < 1e6 ? "%.*f" : "%.*e", decimals, v);
  return b;
}

std::string status_general(double v) {
  char b[64];
  if (std::isnan(v)) return "nan";
  std::snprintf(b, sizeof b, "%.4g", v);
  return b;
}

std::string non_finite_fields(const nlohmann::json& fields, int limit) {
  std::string keys;
  int n = 0;
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    if (!it->is_number_float() || std::isfinite(it->get<double>())) continue;
    if (n++ == limit) return keys + ", ...";
    keys += (keys.empty() ? "" : ", ") + it.key();
  }
  return keys;
}

std::string TrainingRun::snapshot_tag() const { return kimg_tag(cur_nimg()); }

std::string TrainingRun::end_reached(double total_kimg) const {
  char b[160];
  std::snprintf(b, sizeof b, "kimg %.3f of %.3f is reached", cur_nimg() / 1000.0, total_kimg);
  return b;
}

void run_training(TrainingRun& t, RunDir* run_dir, const LoopOptions& opt) {
  // Counts of images are int64: kimg beyond 9e12 would not convert.
  GF_CHECK(std::isfinite(opt.total_kimg) && opt.total_kimg >= 0 && opt.total_kimg <= 1e12, "run_training",
           "total_kimg must be in [0, 1e12], got " << opt.total_kimg);
  GF_CHECK(std::isfinite(opt.tick_kimg) && opt.tick_kimg > 0 && opt.tick_kimg <= 1e12, "run_training",
           "tick_kimg must be in (0, 1e12], got " << opt.tick_kimg);
  GF_CHECK(opt.snap_ticks >= 0 && opt.image_snap_ticks >= 0, "run_training",
           "snap_ticks and image_snap_ticks must be >= 0, got " << opt.snap_ticks << " and " << opt.image_snap_ticks);
  GF_CHECK((run_dir != nullptr) == t.writes_files(), "run_training", "the writing process, and only it, has the run folder");
  // Every process runs the loop (its collectives); only one has the folder.
  // `run` is that one's; the others write nowhere (an empty path).
  RunDir* const run = run_dir;
  // Ctrl-C, SIGTERM, SIGHUP or SIGPIPE stops between steps, so the program can record the stop
  // in the run folder (cli::run_main); writes under way finish first.
  std::optional<StopOnSignal> stop_on_signal;
  if (opt.stop_between_steps) stop_on_signal.emplace();
  auto file = [run](const std::string& name) { return run ? run->file(name) : std::string(); };
  // A stop signal after the last step's check (during the final snapshot):
  // the run is complete, and StopOnSignal ends the process by the signal as
  // the loop returns, before the program's "Done:". Said here, so that the
  // exit status is not the only trace (an empty stderr and a log ending at
  // the last tick read as a run stopped without a word).
  auto say_signal_after_last_step = [&] {
    if (!stop_on_signal || !stop_signal_received() || !run) return;
    const std::string line = std::string(Interrupted(stop_signal_received()).what()) +
                             " during the final snapshot, with no step left to stop: the run is complete, every file written (" +
                             run->path() + "); the process ends by the signal";
    // On stderr, as the other stop lines, and in log.txt (not echoed to stdout too).
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, line.c_str());
    io::append_record(run->file("log.txt"), line + "\n", io::AppendTo::follow, /*sync=*/false);
  };
  if (run) t.write_reals(run->file("reals.png"), opt.grid_w, opt.grid_h);
  // The official loops end at cur_nimg >= total_kimg * 1000 in floating point:
  // the first whole image count at or past it (--kimg 0.0325 trains past 32.5
  // images; 4.35 * 1000 is 4349.99..., which the count 4350 reaches).
  const int64_t total = static_cast<int64_t>(std::ceil(opt.total_kimg * 1000));
  // (A run with nothing to train and no step to take writes its one grid below.)
  const std::string initial_fakes = t.initial_fakes_name();
  if (run && !initial_fakes.empty() && !(t.finished(total) && !t.trains_when_done()))
    t.write_fakes(run->file(initial_fakes), opt.grid_w, opt.grid_h);
  if (t.finished(total)) {
    // Nothing left to train (--kimg 0, or a finished checkpoint resumed
    // without a larger --kimg): every run that exits 0 leaves a network.
    // StyleGAN2-ADA's loop tests `done` only after a minibatch, so it trains
    // one; PGGAN's (and pSp's) test first and write the final network untrained.
    if (run)
      run->log("Nothing left to train: " + t.end_reached(opt.total_kimg) + "; " +
               (t.trains_when_done()            ? "training one minibatch and writing a snapshot, as the official loop does"
                : t.official_writes_untrained() ? "writing a snapshot without training, as the official loop does"
                                                : "writing a snapshot without training, where the official loop writes nothing") +
               " (a larger " + t.length_flag() + " trains longer)");
    if (!t.trains_when_done()) {
      const std::string tag = t.snapshot_tag();
      if (run) t.write_fakes(run->file("fakes" + tag + ".png"), opt.grid_w, opt.grid_h);
      if (run) t.write_snapshot(run->file("network-snapshot-" + tag + ".bin"));
      t.write_checkpoint(file("checkpoint.bin"));
      if (run) run->end_live();
      if (run) update_report(run->path(), /*live=*/false);
      say_signal_after_last_step();
      return;
    }
  }
  const bool tick0 = t.tick0_after_first_step();
  const int image_snap = opt.image_snap_ticks > 0 ? opt.image_snap_ticks : opt.snap_ticks;
  int64_t tick = tick0 ? 0 : 1, tick_start_nimg = t.cur_nimg();
  const auto t0 = std::chrono::steady_clock::now();
  auto tick_t = t0;
  // Whether the last tick's statistics were finite: a run that diverges is
  // told at the tick where it does (the official loop trains on silently).
  bool finite_before = true;
  for (bool done = false; !done;) {
    if (opt.agree_stop)
      opt.agree_stop();
    else
      throw_if_stop_requested();
    t.step();
    done = t.finished(total);
    const int64_t tick_nimg = t.tick_images(opt.tick_kimg);
    if (!done && !(tick0 && tick == 0) && t.cur_nimg() < tick_start_nimg + tick_nimg) {
      if (opt.progress && run) {
        std::printf("\r  kimg %.3f, tick %lld: %3.0f%%", t.cur_nimg() / 1000.0, static_cast<long long>(tick),
                    100.0 * double(t.cur_nimg() - tick_start_nimg) / double(std::max<int64_t>(tick_nimg, 1)));
        std::fflush(stdout);
      }
      continue;
    }
    if (opt.progress && run) std::printf("\r\033[K");  // the status line replaces the progress line

    const TickStats st = t.take_stats();  // this tick's means (collective); waits for the device, so the times below include its work
    const auto now = std::chrono::steady_clock::now();
    const double sec_tick = std::chrono::duration<double>(now - tick_t).count();
    const double total_sec = opt.resume_sec + std::chrono::duration<double>(now - t0).count();
    const double sec_kimg = sec_tick / std::max<double>(double(t.cur_nimg() - tick_start_nimg), 1) * 1000;
    // The official maxmem / reserved: the device allocator's peak this tick and what it holds.
    CachingAllocator& alloc = t.device().is_cuda() ? cuda_allocator(t.device().index) : cpu_allocator();
    const AllocatorStats mem = alloc.stats();
    const double maxmem_gb = mem.peak_in_use / double(1 << 30), reserved_gb = (mem.in_use + mem.cached) / double(1 << 30);
    alloc.reset_peak();
    const std::string tag = t.snapshot_tag();
    const bool snap = done || (opt.snap_ticks > 0 && (tick % opt.snap_ticks == 0 || (t.snapshot_at_first_tick() && tick == 1)));
    if (!run) {  // another process: only the collectives
      if (snap) {
        t.write_checkpoint("");
        if (opt.meet_after_snapshot) opt.meet_after_snapshot();
      }
      ++tick;
      tick_start_nimg = t.cur_nimg();
      tick_t = now;
      continue;
    }
    char line[512];
    std::snprintf(line, sizeof line,
                  "tick %-5lld kimg %-8.1f %stime %-8.0f sec/tick %-7.1f sec/kimg %-7.2f maxmem %-6.2f reserved %-6.2f ",
                  static_cast<long long>(tick), t.cur_nimg() / 1000.0, st.progress.c_str(), total_sec, sec_tick,
                  sec_kimg, maxmem_gb, reserved_gb);
    run->log(line + st.losses);
    const std::string not_finite = non_finite_fields(st.fields);
    if (!not_finite.empty() && finite_before)
      run->log("warning: " + not_finite + " not finite at tick " + std::to_string(tick) +
               ": the run may have diverged; it trains on, as the official loop does");
    finite_before = not_finite.empty();
    nlohmann::json stats = {{"tick", tick}, {"kimg", t.cur_nimg() / 1000.0}, {"total_sec", total_sec},
                            {"timestamp", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()},
                            {"sec_per_tick", sec_tick}, {"sec_per_kimg", sec_kimg}, {"maxmem_gb", maxmem_gb},
                            {"reserved_gb", reserved_gb}};
    stats.update(st.fields);
    // The tick's line waits for the metrics (the official loop logs them at
    // this tick), but is written even when a grid, a snapshot or a metric fails.
    try {
      // Before the snapshot and checkpoint: a checkpoint never records a file
      // of this tick that was not written.
      const std::string kept = t.after_tick([&](const std::string& name) { return run->file(name); });
      if (!kept.empty()) run->log(kept);
      if (done || (image_snap > 0 && tick % image_snap == 0)) t.write_fakes(run->file("fakes" + tag + ".png"), opt.grid_w, opt.grid_h);
      if (snap) {
        const std::string snapshot = run->file("network-snapshot-" + tag + ".bin");
        t.write_snapshot(snapshot);
        io::write_atomic(run->file(kCheckpointTickFile), [&](std::ostream& f) { f << io::json_text(stats) << "\n"; }, "",
                         io::Link::replace);
        t.write_checkpoint(run->file("checkpoint.bin"));
        if (opt.after_snapshot) stats.update(opt.after_snapshot(snapshot));
        if (opt.meet_after_snapshot) opt.meet_after_snapshot();
      }
    } catch (...) {
      // The tick's line still goes in; if it cannot either (the same full
      // disk), the first error is the one reported.
      try {
        run->append_stats(stats);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "warning: %s\n", e.what());
      }
      throw;
    }
    run->append_stats(stats);
    if (done) run->end_live();
    update_report(run->path(), /*live=*/!done);  // report.html; the last one, at the end, is final
    ++tick;
    tick_start_nimg = t.cur_nimg();
    // The next tick's clock starts after this one's writes and metrics, as the
    // official loop starts it after its maintenance: sec/tick is training time.
    tick_t = std::chrono::steady_clock::now();
  }
  say_signal_after_last_step();
}

}  // namespace gf
