#include "train/report_stats.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/strings.h"

namespace gf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace report_detail {

namespace {

// The speed for the estimate of the time left: the mean over these ticks.
constexpr int kRecentTicks = 10;

// The table the report holds is rows x statistics, every cell stored: a
// file of many rows each naming a new key grew it quadratically (a few MB
// of stats.jsonl asked for tens of GB). Real runs hold tens of statistics
// over at most some 10^5 ticks.
constexpr size_t kMaxStatCells = size_t(1) << 25;
// A line longer than this is skipped as unreadable, never held (a line of
// gigabytes ended the read in silence when its string could not grow).
constexpr size_t kMaxLineBytes = size_t(64) << 20;

}  // namespace

std::ifstream open_run_file(const fs::path& p, std::vector<std::string>* notes) {
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (!fs::exists(st)) return std::ifstream();
  if (!fs::is_regular_file(st)) {
    if (notes)
      notes->push_back(p.filename().string() + " is not a plain file (a folder, a pipe or a device); left out.");
    return std::ifstream();
  }
  return std::ifstream(p, std::ios::binary);
}

bool next_line(std::istream& f, std::string& line, bool* too_long) {
  line.clear();
  *too_long = false;
  std::streambuf* in = f.rdbuf();
  if (!in || !f.good()) return false;
  bool any = false;
  for (;;) {
    const int c = in->sbumpc();
    if (c == std::char_traits<char>::eof()) {
      f.setstate(std::ios::eofbit);
      return any;
    }
    any = true;
    if (c == '\n') return true;
    if (*too_long) continue;
    if (line.size() == kMaxLineBytes) {
      *too_long = true;
      std::string().swap(line);
      continue;
    }
    line.push_back(static_cast<char>(c));
  }
}

namespace {

// A line of an official StyleGAN2-ADA run's stats.jsonl (training_loop.py:
// {"Progress/kimg": {"num": n, "mean": m, "std": s}, ..., "timestamp": t})
// in this project's keys: each statistic's mean, renamed where the report
// knows it, others under their official names. Other lines as they are.
json from_official_stats(const json& j) {
  if (!j.is_object() || j.contains("kimg") || !j.contains("Progress/kimg")) return j;
  static const std::map<std::string, std::string> kOurs = {
      {"Progress/tick", "tick"},          {"Progress/kimg", "kimg"},
      {"Timing/total_sec", "total_sec"},  {"Timing/sec_per_tick", "sec_per_tick"},
      {"Timing/sec_per_kimg", "sec_per_kimg"}, {"Progress/augment", "augment_p"},
      {"Loss/G/loss", "loss_G"},          {"Loss/D/loss", "loss_D"},
      {"Loss/scores/real", "scores_real"}, {"Loss/scores/fake", "scores_fake"},
      {"Loss/signs/real", "signs_real"},  {"Loss/r1_penalty", "r1_penalty"},
      {"Loss/pl_penalty", "pl_penalty"},  {"Resources/peak_gpu_mem_gb", "maxmem_gb"},
      {"Resources/peak_gpu_mem_reserved_gb", "reserved_gb"}};
  json out = json::object();
  for (const auto& [k, v] : j.items()) {
    const auto ours = kOurs.find(k);
    const std::string key = ours == kOurs.end() ? k : ours->second;
    if (v.is_object() && v.contains("mean")) out[key] = v["mean"];
    else if (v.is_number()) out[key] = v;
  }
  return out;
}

}  // namespace

bool is_statistic(const json& v) { return v.is_number() || v.is_null(); }

size_t read_stats(const fs::path& path, Stats& s, std::vector<std::string>& notes) {
  std::ifstream f = open_run_file(path, &notes);
  auto check_size = [&] {
    if ((s.rows() + 1) * std::max<size_t>(s.keys.size(), 1) > kMaxStatCells)
      throw Error(path.string() + ": " + std::to_string(s.rows() + 1) + " ticks of " + std::to_string(s.keys.size()) +
                  " statistics are more than a report holds (" + std::to_string(kMaxStatCells) +
                  " values); not a ganforge stats file?");
  };
  size_t bad = 0;
  std::string line;
  bool too_long = false;
  while (next_line(f, line, &too_long)) {
    if (too_long) {
      ++bad;
      continue;
    }
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    // An official run writes a diverged mean as Python's bare NaN (a gap here).
    const json j = from_official_stats(io::parse_python_json_or_discarded(line));
    if (!j.is_object() || !j.contains("kimg") || !j["kimg"].is_number()) {
      ++bad;
      continue;
    }
    check_size();
    const size_t row = s.rows();
    s.kimg.push_back(j["kimg"].get<double>());
    for (const auto& [k, v] : j.items()) {
      if (!is_statistic(v)) continue;
      auto it = s.col.find(k);
      if (it == s.col.end()) {
        s.keys.push_back(k);
        check_size();
        it = s.col.emplace(k, std::vector<double>()).first;
      }
      it->second.resize(row, kNaN);
      it->second.push_back(v.is_null() ? kNaN : v.get<double>());
      std::vector<char>& has = s.present[k];
      has.resize(row, 0);
      has.push_back(1);
    }
  }
  for (auto& [k, v] : s.col) v.resize(s.rows(), kNaN);
  for (auto& [k, v] : s.present) v.resize(s.rows(), 0);
  return bad;
}

std::vector<fs::path> metric_files(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string f = it->path().filename().string();
    if (f.size() > 13 && f.rfind("metric-", 0) == 0 && ends_with(f, ".jsonl")) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

const json* metric_record_results(const json& j, double& snapshot_kimg) {
  const json* results = j.is_object() && j.contains("results") && j["results"].is_object() ? &j["results"] : nullptr;
  const std::string snap = j.is_object() && j.contains("snapshot_pkl") && j["snapshot_pkl"].is_string()
                               ? fs::path(j["snapshot_pkl"].get<std::string>()).filename().string()
                               : std::string();
  const std::string tag = "network-snapshot-";
  size_t digits = tag.size();
  while (digits < snap.size() && digits < tag.size() + 12 && std::isdigit(static_cast<unsigned char>(snap[digits])))
    ++digits;
  if (!results || snap.rfind(tag, 0) != 0 || digits == tag.size()) return nullptr;
  snapshot_kimg = std::stod(snap.substr(tag.size(), digits - tag.size()));
  return results;
}

size_t read_metric_files(const fs::path& dir, Stats& s, std::vector<std::string>& notes) {
  const auto stats_present = s.present;  // stats.jsonl's own, before any metric file's
  size_t left_out = 0;
  for (const fs::path& path : metric_files(dir)) {
    std::ifstream f = open_run_file(path, &notes);
    std::string line;
    bool too_long = false;
    while (next_line(f, line, &too_long)) {
      if (!too_long && line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const json j = io::parse_python_json_or_discarded(line);  // a line too long is no record
      double k = 0;
      const json* results = metric_record_results(j, k);
      if (!results) {
        ++left_out;
        continue;
      }
      size_t row = s.rows();
      for (size_t i = 0; i < s.rows(); ++i)
        if (std::floor(s.kimg[i] + 1e-9) == k) row = i;
      if (row == s.rows()) {
        ++left_out;
        continue;
      }
      // stats.jsonl's own result at a tick of that kimg (the snapshot's,
      // which need not be the last of its kimg) is the one drawn.
      auto in_stats = [&](const std::string& name) {
        const auto has = stats_present.find(name);
        if (has == stats_present.end()) return false;
        for (size_t i = 0; i < s.rows(); ++i)
          if (has->second[i] && std::floor(s.kimg[i] + 1e-9) == k) return true;
        return false;
      };
      for (const auto& [name, v] : results->items()) {
        if (!is_statistic(v) || in_stats(name)) continue;
        if (!s.col.count(name)) {
          if ((s.keys.size() + 1) * std::max<size_t>(s.rows(), 1) > kMaxStatCells) continue;
          s.keys.push_back(name);
          s.col[name].assign(s.rows(), kNaN);
          s.present[name].assign(s.rows(), 0);
        }
        s.col[name][row] = v.is_null() ? kNaN : v.get<double>();  // a later record of the snapshot replaces it
        s.present[name][row] = 1;
      }
    }
  }
  return left_out;
}

void find_run_starts(Stats& s) {
  s.run_starts.clear();
  for (size_t i = 0; i < s.rows(); ++i) {
    const bool back =
        i > 0 && (s.at("tick", i) <= s.at("tick", i - 1) || s.at("total_sec", i) < s.at("total_sec", i - 1));
    if (i == 0 || i == s.earlier_rows || back) s.run_starts.push_back(i);
  }
}

double elapsed_sec(const Stats& s) {
  double total = 0;
  for (size_t r = 0; r < s.run_starts.size(); ++r) {
    const size_t end = r + 1 < s.run_starts.size() ? s.run_starts[r + 1] : s.rows();
    double m = kNaN;
    for (size_t i = s.run_starts[r]; i < end; ++i)
      if (std::isfinite(s.at("total_sec", i)))
        m = std::isfinite(m) ? std::max(m, s.at("total_sec", i)) : s.at("total_sec", i);
    if (std::isfinite(m)) total += m;
  }
  return total;
}

double recent_sec_per_kimg(const Stats& s) {
  if (s.rows() == 0) return kNaN;
  const size_t start = s.run_starts.back(), last = s.rows() - 1;
  const size_t from = std::max<size_t>(start, last >= size_t(kRecentTicks) ? last - kRecentTicks : 0);
  if (last > from) {
    const double dt = s.at("total_sec", last) - s.at("total_sec", from), dk = s.kimg[last] - s.kimg[from];
    if (std::isfinite(dt) && dk > 0) return dt / dk;
  }
  return s.at("sec_per_kimg", last);
}

}  // namespace report_detail
}  // namespace gf
