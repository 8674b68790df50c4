// Internal to report.html (train/report.h): the run folder's statistics read
// into one table, Stats: stats-earlier.jsonl and stats.jsonl (this project's
// lines, or an official StyleGAN2-ADA run's), and the results of its
// metric-*.jsonl records; with the run folder's files read as the page reads
// them (open_run_file, next_line). Used by train/report.cpp and
// train/report_panels.cpp only; nothing else should include it.
#pragma once
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace gf::report_detail {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A file of the run folder to read: a closed stream when it is absent, or
// when it is no plain file (a pipe would hang the reader, /dev/urandom never
// end), which `notes` then says, if given.
std::ifstream open_run_file(const std::filesystem::path& p, std::vector<std::string>* notes);

// ---- stats.jsonl ----

struct Stats {
  std::vector<double> kimg;
  std::vector<std::string> keys;                   // numeric keys, in order of first appearance
  std::map<std::string, std::vector<double>> col;  // per key, one value per row: NaN where null or missing
  // Per key and row: whether the row has the key. A missing value is a tick
  // that did not measure it (a metric between snapshots), which the curve
  // passes over; a null is one that went wrong (NaN), where the curve breaks.
  std::map<std::string, std::vector<char>> present;
  size_t earlier_rows = 0;                         // rows from stats-earlier.jsonl
  std::vector<size_t> run_starts;                  // rows where a run (an earlier one, or this) begins

  size_t rows() const { return kimg.size(); }
  double at(const std::string& key, size_t row) const {
    auto it = col.find(key);
    return it == col.end() ? kNaN : it->second[row];
  }
};

// The next line of f (its '\n' dropped) into line; false at the end of the
// file (a read error reads as the end, as filebuf returns it). A line of more than
// kMaxLineBytes is read past, not held: line comes back empty and *too_long
// true.
bool next_line(std::istream& f, std::string& line, bool* too_long);

// A value the page draws: a number, or null for a gap (nlohmann writes NaN
// as null); text and booleans are no statistic.
bool is_statistic(const nlohmann::json& v);

// Appends the lines of one stats file; returns the count of lines that were
// not a JSON object with a numeric kimg (a crash can cut the last line short).
size_t read_stats(const std::filesystem::path& path, Stats& s, std::vector<std::string>& notes);

// The folder's metric-<name>.jsonl files, in name order.
std::vector<std::filesystem::path> metric_files(const std::filesystem::path& dir);

// A metric record's "results" object, with the kimg its snapshot's name
// carries (network-snapshot-<kimg>.pkl or .bin) in snapshot_kimg; nullptr for
// a line that is no such record.
const nlohmann::json* metric_record_results(const nlohmann::json& j, double& snapshot_kimg);

// The results of the run folder's metric-<name>.jsonl files (calc_metrics's,
// an official run's: metric_main.py's {"results": {...}, "snapshot_pkl":
// "network-snapshot-<kimg>.pkl", ...}), each at the last tick of its
// snapshot's kimg (kimg tags are whole kimg: the official cur_nimg // 1000),
// unless stats.jsonl has that result there already (train_stylegan
// --metrics writes both). A snapshot measured again (calc_metrics appends)
// shows its last record. Returns the count of records left out: not such
// a record, or no tick of that kimg in the stats.
size_t read_metric_files(const std::filesystem::path& dir, Stats& s, std::vector<std::string>& notes);

// A run starts at row 0, at the first row of stats.jsonl after earlier runs'
// rows, and wherever the tick count or the run's clock goes back (the earlier
// runs of a chain of resumes, all in stats-earlier.jsonl).
void find_run_starts(Stats& s);

// Training time over all runs: each run's clock at its last tick.
double elapsed_sec(const Stats& s);

// Seconds per kimg lately: over the last ticks of the newest run, leaving out
// its first tick (which holds the start-up); a run of one tick gives its own.
double recent_sec_per_kimg(const Stats& s);

}  // namespace gf::report_detail
