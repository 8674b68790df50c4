// report.html: a page in every run folder that a person opens in any browser
// to watch a run, with nothing to install (the official code writes
// TensorBoard logs instead). Self-contained: HTML with inline SVG and CSS, no
// script, nothing from the network; the image grids are linked, not copied.
//
// The page is built from the run folder's files only, so the tick loop and
// tools/make_report.cpp produce the same page, and every training family gets
// it unchanged:
//   - stats.jsonl (one JSON object per tick; every numeric key but the axis
//     keys tick, kimg, step, total_sec, timestamp becomes a curve against kimg; a
//     null or missing value is a gap), after stats-earlier.jsonl, the ticks of
//     the runs this one was resumed from (see carry_earlier_stats);
//   - training_options.json (shown whole; these top-level keys, where present,
//     fill the summary: dataset, dataset_size, resolution, channels, c_dim,
//     device, device_name, total_kimg, resume, resume_kimg);
//   - reals.png and fakes*.png;
//   - the last line of log.txt: a program's error line ("train_stylegan:
//     error: <what>", record_run_stopped in train/run_dir.h) marks the run
//     stopped: "Stopped: <what>", no reload, no time left (live is ignored).
// Known stat keys get names and shared panels from a small table in
// report_panels.cpp; any other key gets a panel of its own under its key.
#pragma once
#include <cstdint>
#include <string>

namespace gf {

struct ReportOptions {
  // The run is still going: the page reloads itself every refresh_sec and
  // gives the expected finishing time.
  bool live = false;
  int refresh_sec = 30;
  // live as run_is_live says, decided by write_report under its lock on the
  // folder (make_report): decided before it, a trainer's final page written
  // meanwhile was replaced by a reloading one.
  bool decide_live_under_lock = false;
};

// The page for run_dir. Files that are missing or lines that cannot be read
// are noted on the page. Throws gf::Error when run_dir is not a folder or holds
// neither stats.jsonl nor training_options.json.
std::string render_report(const std::string& run_dir, const ReportOptions& opt = {});

// Writes render_report(run_dir, opt) to run_dir/report.html atomically
// (engine/io/atomic_file.h). Throws as render_report, or on a failed write.
void write_report(const std::string& run_dir, const ReportOptions& opt = {});

// For tick loops: write_report that never throws. A failure costs one line on
// stderr and the page of the tick before; training goes on.
void update_report(const std::string& run_dir, bool live) noexcept;

// The run folder's file with the stats.jsonl line of the tick that wrote
// checkpoint.bin, as the line stood before that tick's metrics: the tick
// loop writes it (atomically) just before the checkpoint, so that a process
// killed after the checkpoint and before the line (the metrics run there)
// leaves the line to carry_earlier_stats. Kept out of the checkpoint, whose
// bytes a resumed run reproduces.
inline constexpr const char* kCheckpointTickFile = "checkpoint-tick.json";

// For a run resumed from resume_file at resume_nimg images: copies the ticks
// up to that point from the folder holding resume_file (its
// stats-earlier.jsonl, then its stats.jsonl) into run_dir/stats-earlier.jsonl,
// so this run's curves continue those (the ticks after the checkpoint, which
// this run trains again, are left out). When those files lack the
// checkpoint's own tick (the process died after the checkpoint, before the
// line: a kill during the metrics), the folder's kCheckpointTickFile line of
// that tick is taken. Each carried line gets the results the folder's
// metric-*.jsonl records hold for its snapshot, as that folder's page drew
// them (calc_metrics's, run on the snapshots afterwards; a kill after some
// metrics finished keeps theirs). Does nothing when
// resume_nimg is 0 or the folder holds no stats. Throws gf::Error on a
// failed write.
void carry_earlier_stats(const std::string& run_dir, const std::string& resume_file, int64_t resume_nimg);

// "5s", "3m 04s", "2h 03m 04s", "1d 02h 03m", as the official format_time
// (dnnlib/util.py: whole seconds rounded half to even); "-" for a negative or
// non-finite time.
std::string format_duration(double seconds);

}  // namespace gf
