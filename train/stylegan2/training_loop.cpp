#include "train/stylegan2/training_loop.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>

#include "engine/allocator.h"
#include "engine/error.h"
#include "train/stylegan2/checkpoint.h"
#include "train/image_io.h"
#include "train/report.h"

namespace gf {

std::string kimg_tag(int64_t nimg) {
  char b[32];
  std::snprintf(b, sizeof b, "%06lld", static_cast<long long>(nimg / 1000));
  return b;
}

namespace {

// Fixed latents, labels and reals for the image grids, from the run's seed
// only, so a resumed run draws the same grid.
struct GridSet {
  Tensor z, c;
};

GridSet make_grid(StyleGAN2Trainer& t, RunDir& run, const LoopOptions& opt) {
  const int n = opt.grid_w * opt.grid_h;
  const Dataset& ds = t.dataset();
  const Device dev = t.setup().device;
  Generator grid_rng(t.setup().seed + 123);
  GridSet g;
  g.z = randn({n, t.setup().G_kwargs.z_dim}, grid_rng, DType::f32, dev);
  const Dataset::Batch reals = ds.batch(InfiniteSampler(ds.size(), t.setup().seed + 1).next_batch(n), dev);
  if (ds.c_dim() > 0) g.c = reals.labels;
  save_image_grid(reals.images.to(Device::cpu()), run.file("reals.png"), opt.grid_w, opt.grid_h);
  return g;
}

void save_fakes(StyleGAN2Trainer& t, const GridSet& grid, const std::string& path, const LoopOptions& opt) {
  stylegan2::SynthesisOptions so;
  so.noise_mode = NoiseMode::constant;
  NoGradGuard ng;
  const Tensor fakes = t.G_ema().forward(grid.z, grid.c, 1, std::nullopt, so);
  save_image_grid(fakes.to(Device::cpu()), path, opt.grid_w, opt.grid_h);
}

}  // namespace

void run_training(StyleGAN2Trainer& t, RunDir& run, const LoopOptions& opt) {
  // Counts of images are int64: kimg beyond 9e12 would not convert.
  GF_CHECK(std::isfinite(opt.total_kimg) && opt.total_kimg >= 0 && opt.total_kimg <= 1e12, "run_training",
           "total_kimg must be in [0, 1e12], got " << opt.total_kimg);
  GF_CHECK(std::isfinite(opt.tick_kimg) && opt.tick_kimg > 0 && opt.tick_kimg <= 1e12, "run_training",
           "tick_kimg must be in (0, 1e12], got " << opt.tick_kimg);
  GF_CHECK(opt.snap_ticks >= 0, "run_training", "snap_ticks must be >= 0, got " << opt.snap_ticks);
  const GridSet grid = make_grid(t, run, opt);
  const int64_t total = static_cast<int64_t>(opt.total_kimg * 1000);
  const int64_t tick_nimg = static_cast<int64_t>(opt.tick_kimg * 1000);
  int64_t tick = 0, tick_start_nimg = t.cur_nimg();
  const auto t0 = std::chrono::steady_clock::now();
  auto tick_t = t0;
  // As the official loop, which tests `done` only after a minibatch: at least
  // one minibatch is trained and the run ends with a status line and a
  // snapshot, even when --kimg is reached before the start (--kimg 0, or the
  // checkpoint of a finished run resumed without a larger --kimg), so every
  // run that exits 0 leaves a network.
  if (t.cur_nimg() >= total) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "Nothing left to train: kimg %.3f of %.3f is reached; training one minibatch and writing a snapshot, "
                  "as the official loop does (a larger --kimg trains longer)",
                  t.cur_nimg() / 1000.0, opt.total_kimg);
    run.log(line);
  }
  for (bool done = false; !done;) {
    t.step();
    done = t.cur_nimg() >= total;
    if (!done && tick != 0 && t.cur_nimg() < tick_start_nimg + tick_nimg) {
      if (opt.progress) {
        std::printf("\r  kimg %.3f, tick %lld: %3.0f%%", t.cur_nimg() / 1000.0, static_cast<long long>(tick),
                    100.0 * double(t.cur_nimg() - tick_start_nimg) / double(tick_nimg));
        std::fflush(stdout);
      }
      continue;
    }
    if (opt.progress) std::printf("\r\033[K");  // the status line replaces the progress line

    const LossStats st = t.take_stats();  // this tick's means; waits for the device, so the times below include its work
    const auto now = std::chrono::steady_clock::now();
    const double sec_tick = std::chrono::duration<double>(now - tick_t).count();
    const double total_sec = std::chrono::duration<double>(now - t0).count();
    const double sec_kimg = sec_tick / std::max<double>(double(t.cur_nimg() - tick_start_nimg), 1) * 1000;
    // The official maxmem / reserved: the device allocator's peak this tick and what it holds.
    CachingAllocator& alloc = t.setup().device.is_cuda() ? cuda_allocator(t.setup().device.index) : cpu_allocator();
    const AllocatorStats mem = alloc.stats();
    const double maxmem_gb = mem.peak_in_use / double(1 << 30), reserved_gb = (mem.in_use + mem.cached) / double(1 << 30);
    alloc.reset_peak();
    // A regularizer without a phase in this tick has no value ("-" here, none in stats.jsonl).
    auto reg = [](double v, int64_t calls) {
      char b[32];
      std::snprintf(b, sizeof b, "%.4g", v);
      return calls > 0 ? std::string(b) : std::string("-");
    };
    char line[512];
    std::snprintf(line, sizeof line,
                  "tick %-4lld kimg %-8.1f time %-8.0f sec/tick %-7.1f sec/kimg %-7.2f maxmem %-6.2f reserved %-6.2f G %.4f D %.4f+%.4f r1 %s pl %s "
                  "scores real %.3f fake %.3f",
                  static_cast<long long>(tick), t.cur_nimg() / 1000.0, total_sec, sec_tick, sec_kimg, maxmem_gb, reserved_gb, st.g_loss,
                  st.d_loss_real, st.d_loss_fake, reg(st.r1_penalty, st.r1_calls).c_str(), reg(st.pl_penalty, st.pl_calls).c_str(),
                  st.scores_real, st.scores_fake);
    run.log(line);
    nlohmann::json stats = {{"tick", tick}, {"kimg", t.cur_nimg() / 1000.0}, {"total_sec", total_sec},
                            {"timestamp", std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count()},
                            {"sec_per_tick", sec_tick}, {"sec_per_kimg", sec_kimg}, {"maxmem_gb", maxmem_gb},
                            {"reserved_gb", reserved_gb}, {"loss_G", st.g_loss}, {"loss_D_real", st.d_loss_real},
                            {"loss_D_fake", st.d_loss_fake}, {"scores_real", st.scores_real}, {"scores_fake", st.scores_fake}};
    // A regularizer appears where it ran: report.html draws a gap for a tick
    // without its phase, and no curve when it is off.
    if (st.r1_calls > 0) stats["r1_penalty"] = st.r1_penalty;
    if (st.pl_calls > 0) stats["pl_penalty"] = st.pl_penalty;
    if (t.setup().spec.pl_weight > 0) stats["pl_mean"] = t.pl_mean();
    run.append_stats(stats);
    if (done || (opt.snap_ticks > 0 && tick % opt.snap_ticks == 0)) {
      const std::string tag = kimg_tag(t.cur_nimg());
      save_fakes(t, grid, run.file("fakes" + tag + ".png"), opt);
      save_snapshot(run.file("network-snapshot-" + tag + ".bin"), t);
      save_checkpoint(run.file("checkpoint.bin"), t);
    }
    update_report(run.path(), /*live=*/!done);  // report.html; the last one, at the end, is final
    ++tick;
    tick_start_nimg = t.cur_nimg();
    tick_t = now;
  }
}

}  // namespace gf
