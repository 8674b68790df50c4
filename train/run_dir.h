// A training run's folder, as the official code lays it out:
// <outdir>/<NNNNN>-<desc>/ with training_options.json, log.txt, stats.jsonl,
// image grids and snapshots. Every file is written to a temporary name and
// renamed, except the two append-only logs.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace gf {

class RunDir {
 public:
  // Creates the next numbered folder under outdir (creating outdir too).
  // echo: log() prints each line on stdout as well (the programs); false keeps
  // it to log.txt (the tests).
  // While it exists, the folder reads as live (run_is_live): it holds a
  // shared flock on log.txt, which the kernel drops when the process ends
  // however it ends.
  RunDir(const std::string& outdir, const std::string& desc, bool echo = true);
  ~RunDir();
  RunDir(const RunDir&) = delete;
  RunDir& operator=(const RunDir&) = delete;
  // The run will write nothing more that its page shows: from now on the
  // folder does not read as live, so make_report writes the final page, as
  // the trainer's last one is (before it, a make_report could replace that
  // with a reloading page).
  void end_live();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

  void write_json(const std::string& name, const nlohmann::json& j) const;
  // One line of stats.jsonl; one line on stdout (with echo) and in log.txt.
  // Each line is appended whole (io::append_record); a failed append throws
  // gf::Error naming the file.
  void append_stats(const nlohmann::json& j);
  void log(const std::string& line);

 private:
  std::string path_;
  bool echo_;
  int live_fd_ = -1;  // log.txt, held under LOCK_SH
};

// The folder RunDir(outdir, desc) would create now: <outdir>/<NNNNN>-<desc>
// with the next number after the largest NNNNN- prefix there (00000 when
// outdir does not exist). Creates nothing (train_stylegan --dry-run).
std::string next_run_path(const std::string& outdir, const std::string& desc);

// How a run that ended early ends in its folder (cli::run_main calls it with
// the program's error line, "train_stylegan: error: <what>", after the run's
// objects are gone): when this process made a RunDir, `line` is appended to
// its log.txt (as the official Logger tees stderr there) and report.html is
// rendered again (once the folder has stats or options), now stopped (train/report.h reads that last line: no
// reload, no time left). Nothing otherwise. Never throws; a failed write
// costs a line on stderr.
void record_run_stopped(const std::string& line) noexcept;

// Whether a training process is writing run_dir now (its RunDir holds the
// lock on log.txt): make_report run by hand then writes the live page (reload,
// expected end) that the run's own ticks write, not a finished one.
bool run_is_live(const std::string& run_dir);

// Writes `text` to path via "<path>.<pid>.tmp" and a rename.
void write_file_atomic(const std::string& path, const std::string& text);

}  // namespace gf
