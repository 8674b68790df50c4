#include "train/report.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/strings.h"
#include "engine/io/json_input.h"
#include "engine/io/utf8.h"
#include "train/run_dir.h"

namespace gf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---- What the curves are called. A family adds its stat keys here; a key not
// listed still gets a panel of its own, titled with the key. Keys that share a
// panel title share a panel (and should share a unit). ----
struct KnownStat {
  const char* key;
  const char* panel;
  const char* label;
};
constexpr KnownStat kKnownStats[] = {
    {"loss_G", "Losses", "G"},
    {"loss_D_real", "Losses", "D, reals"},
    {"loss_D_fake", "Losses", "D, fakes"},
    {"scores_real", "D scores (logits)", "reals"},
    {"scores_fake", "D scores (logits)", "fakes"},
    {"r1_penalty", "R1 penalty", "R1"},
    {"pl_penalty", "Path-length penalty", "penalty"},
    {"pl_mean", "Path-length mean", "mean length"},
    {"augment_p", "ADA augmentation probability p", "p"},
    {"signs_real", "Mean sign of D's real logits (ADA's overfitting measure)", "mean sign"},
    // The metrics (metrics/metric_main.h), on the ticks with a snapshot
    {"fid50k_full", "FID (lower is better)", "fid50k_full"},
    {"fid50k", "FID (lower is better)", "fid50k"},
    {"kid50k_full", "KID (lower is better)", "kid50k_full"},
    {"kid50k", "KID (lower is better)", "kid50k"},
    {"is50k_mean", "Inception Score (higher is better)", "is50k mean"},
    {"is50k_std", "Inception Score spread", "is50k std"},
    {"sec_per_kimg", "Speed (s/kimg)", "s/kimg"},
    {"maxmem_gb", "Memory (GiB)", "peak in the tick"},
    {"reserved_gb", "Memory (GiB)", "held"},
    {"lod", "Level of detail (lod)", "lod"},  // PGGAN's progress through the resolutions
    // PGGAN (train/pggan/training_loop.cpp)
    {"loss_D", "Losses", "D"},
    {"scores_mixed", "D scores (logits)", "interpolates"},
    {"gradient_penalty", "Gradient penalty", "(|grad| - 1)^2"},
    {"mixed_norms", "Gradient norm at interpolates", "|grad D|"},
    {"epsilon_penalty", "Drift term D(real)^2", "drift"},
    {"label_penalty_reals", "AC-GAN label terms", "reals"},
    {"label_penalty_fakes", "AC-GAN label terms", "fakes"},
    {"G_lrate", "Learning rate", "G"},
    {"D_lrate", "Learning rate", "D"},
    {"minibatch", "Minibatch", "images"},
    {"resolution", "Resolution", "pixels"},
    {"G_skipped", "Steps skipped (non-finite gradients)", "G"},
    {"D_skipped", "Steps skipped (non-finite gradients)", "D"},
    // pSp (train/psp/training_loop.cpp): each term unweighted, on the training
    // minibatches and on the held-out images (val_)
    {"loss", "pSp loss (weighted sum)", "training"},
    {"val_loss", "pSp loss (weighted sum)", "held out"},
    {"loss_l2", "Reconstruction L2", "training"},
    {"val_loss_l2", "Reconstruction L2", "held out"},
    {"loss_lpips", "LPIPS", "training"},
    {"val_loss_lpips", "LPIPS", "held out"},
    {"loss_id", "Identity (1 - cosine)", "training"},
    {"val_loss_id", "Identity (1 - cosine)", "held out"},
    {"loss_w_norm", "W norm |w - latent_avg|", "training"},
    {"val_loss_w_norm", "W norm |w - latent_avg|", "held out"},
    {"loss_l2_crop", "Reconstruction L2, face crop", "training"},
    {"val_loss_l2_crop", "Reconstruction L2, face crop", "held out"},
    {"loss_lpips_crop", "LPIPS, face crop", "training"},
    {"val_loss_lpips_crop", "LPIPS, face crop", "held out"},
    {"loss_moco", "MoCo features (1 - cosine)", "training"},
    {"val_loss_moco", "MoCo features (1 - cosine)", "held out"},
    {"id_improve", "Similarity gain <out, target> - <target, input>", "training"},
    {"val_id_improve", "Similarity gain <out, target> - <target, input>", "held out"},
};
// Axes and bookkeeping, not curves (sec_per_tick is sec_per_kimg times the tick length; pSp's step is kimg / batch).
constexpr const char* kNotCurves[] = {"tick", "kimg", "step", "total_sec", "timestamp", "sec_per_tick"};

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr const char* kFrameColor = "#555555";  // the plot frame; tests find plots by it
constexpr double kLogSpan = 100;  // a panel whose positive values span this factor is drawn on a log scale
constexpr int kRecentTicks = 10;
constexpr size_t kDotsUpTo = 60;  // a curve of this many points or fewer gets a dot on each  // the speed for the estimate of the time left: the mean over these ticks

// SVG geometry of one panel, in pixels: the plot area and the whole picture.
constexpr int kPlotX = 58, kPlotY = 10, kPlotW = 388, kPlotH = 190;
constexpr int kSvgW = kPlotX + kPlotW + 14, kSvgH = kPlotY + kPlotH + 36;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string esc(const std::string& s) {
  std::string r;
  r.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    // Bytes that are no UTF-8 (a folder named in Latin-1) would make the
    // page, declared UTF-8, invalid: each is the replacement character.
    const size_t at = i;
    const std::optional<uint32_t> cp = io::next_utf8(s, i);
    if (!cp) {
      r += "\xEF\xBF\xBD";
      i = at + 1;
      continue;
    }
    if (*cp >= 0x80) {
      // C1 controls (U+0080..U+009F) are no text HTML allows either.
      if (io::is_c1_control(*cp)) r += "\xEF\xBF\xBD";
      else r.append(s, at, i - at);
      continue;
    }
    const char c = s[at];
    switch (c) {
      case '&': r += "&amp;"; break;
      case '<': r += "&lt;"; break;
      case '>': r += "&gt;"; break;
      case '"': r += "&quot;"; break;
      case '\'': r += "&#39;"; break;
      // A control character (a NUL in a JSON key, "\u0000") is no text
      // HTML allows: shown as the replacement character a browser shows.
      case '\t': case '\n': case '\r': r += c; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
          r += "\xEF\xBF\xBD";
        else
          r += c;
    }
  }
  return r;
}

std::string fmt(const char* f, double v) {
  // Sized by a first pass: "%.1f" of 1e308 has 310 characters (cut at 63 before).
  const int n = std::snprintf(nullptr, 0, f, v);
  if (n <= 0) return "";
  std::string b(static_cast<size_t>(n) + 1, '\0');
  std::snprintf(b.data(), b.size(), f, v);
  b.pop_back();
  return b;
}

// A file of the run folder to read: a closed stream when it is absent, or
// when it is no plain file (a pipe would hang the reader, /dev/urandom never
// end), which `notes` then says, if given.
std::ifstream open_run_file(const fs::path& p, std::vector<std::string>* notes) {
  std::error_code ec;
  const fs::file_status st = fs::status(p, ec);
  if (!fs::exists(st)) return std::ifstream();
  if (!fs::is_regular_file(st)) {
    if (notes) notes->push_back(p.filename().string() + " is not a plain file (a folder, a pipe or a device); left out.");
    return std::ifstream();
  }
  return std::ifstream(p, std::ios::binary);
}

// A value for people: 4 significant digits.
std::string num(double v) { return std::isfinite(v) ? fmt("%.4g", v) : "-"; }
// Progress in kimg: three decimals for short runs (a tick can be 0.016 kimg), else one.
std::string kimg_text(double k) { return fmt(std::abs(k) < 10 ? "%.3f" : "%.1f", k); }

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

// The table the report holds is rows x statistics, every cell stored: a
// file of many rows each naming a new key grew it quadratically (a few MB
// of stats.jsonl asked for tens of GB). Real runs hold tens of statistics
// over at most some 10^5 ticks.
constexpr size_t kMaxStatCells = size_t(1) << 25;
// Panels drawn at most (each about 1 KB of SVG); further statistics are named
// in a note by count. A run logs tens of them.
constexpr size_t kMaxPanels = 2000;
// A line longer than this is skipped as unreadable, never held (a line of
// gigabytes ended the read in silence when its string could not grow).
constexpr size_t kMaxLineBytes = size_t(64) << 20;

// The next line of f (its '\n' dropped) into line; false at the end of the
// file (a read error reads as the end, as filebuf returns it). A line of more than
// kMaxLineBytes is read past, not held: line comes back empty and *too_long
// true.
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

// A value the page draws: a number, or null for a gap (nlohmann writes NaN
// as null); text and booleans are no statistic.
bool is_statistic(const json& v) { return v.is_number() || v.is_null(); }

// Appends the lines of one stats file; returns the count of lines that were
// not a JSON object with a numeric kimg (a crash can cut the last line short).
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

// The folder's metric-<name>.jsonl files, in name order.
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

// A metric record's "results" object, with the kimg its snapshot's name
// carries (network-snapshot-<kimg>.pkl or .bin) in snapshot_kimg; nullptr for
// a line that is no such record.
const json* metric_record_results(const json& j, double& snapshot_kimg) {
  const json* results = j.is_object() && j.contains("results") && j["results"].is_object() ? &j["results"] : nullptr;
  const std::string snap = j.is_object() && j.contains("snapshot_pkl") && j["snapshot_pkl"].is_string()
                               ? fs::path(j["snapshot_pkl"].get<std::string>()).filename().string()
                               : std::string();
  const std::string tag = "network-snapshot-";
  size_t digits = tag.size();
  while (digits < snap.size() && digits < tag.size() + 12 && std::isdigit(static_cast<unsigned char>(snap[digits]))) ++digits;
  if (!results || snap.rfind(tag, 0) != 0 || digits == tag.size()) return nullptr;
  snapshot_kimg = std::stod(snap.substr(tag.size(), digits - tag.size()));
  return results;
}

// The results of the run folder's metric-<name>.jsonl files (calc_metrics's,
// an official run's: metric_main.py's {"results": {...}, "snapshot_pkl":
// "network-snapshot-<kimg>.pkl", ...}), each at the last tick of its
// snapshot's kimg (kimg tags are whole kimg: the official cur_nimg // 1000),
// unless stats.jsonl has that result there already (train_stylegan
// --metrics writes both). A snapshot measured again (calc_metrics appends)
// shows its last record. Returns the count of records left out: not such
// a record, or no tick of that kimg in the stats.
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

// A run starts at row 0, at the first row of stats.jsonl after earlier runs'
// rows, and wherever the tick count or the run's clock goes back (the earlier
// runs of a chain of resumes, all in stats-earlier.jsonl).
void find_run_starts(Stats& s) {
  s.run_starts.clear();
  for (size_t i = 0; i < s.rows(); ++i) {
    const bool back = i > 0 && (s.at("tick", i) <= s.at("tick", i - 1) || s.at("total_sec", i) < s.at("total_sec", i - 1));
    if (i == 0 || i == s.earlier_rows || back) s.run_starts.push_back(i);
  }
}

// Training time over all runs: each run's clock at its last tick.
double elapsed_sec(const Stats& s) {
  double total = 0;
  for (size_t r = 0; r < s.run_starts.size(); ++r) {
    const size_t end = r + 1 < s.run_starts.size() ? s.run_starts[r + 1] : s.rows();
    double m = kNaN;
    for (size_t i = s.run_starts[r]; i < end; ++i)
      if (std::isfinite(s.at("total_sec", i))) m = std::isfinite(m) ? std::max(m, s.at("total_sec", i)) : s.at("total_sec", i);
    if (std::isfinite(m)) total += m;
  }
  return total;
}

// Seconds per kimg lately: over the last ticks of the newest run, leaving out
// its first tick (which holds the start-up); a run of one tick gives its own.
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

// ---- axes ----

struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  std::vector<double> ticks;
  double frac(double v) const {
    // Halves, exact in binary: hi - lo of values near the largest double is inf.
    return log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo))
               : (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5);
  }
  bool drawable(double v) const { return std::isfinite(v) && (!log || v > 0); }
};

// Round numbers around [mn, mx], with a little room so no point lies on the
// frame (but not below 0 for varying data that is not): a step of 1, 2 or 5 times a
// power of ten, about five ticks, the ends on ticks.
// An axis of two ticks at the data's ends: for what no round numbers fit
// (values near the limits of a double, a span too small for their size).
Axis plain_axis(double mn, double mx) {
  Axis a;
  if (!(std::isfinite(mn) && std::isfinite(mx) && mx > mn)) {
    const double c = std::isfinite(mn) ? mn : std::isfinite(mx) ? mx : 0;
    mn = c - 1, mx = c + 1;
    if (!(mx > mn)) mn = c - std::abs(c) * 1e-6, mx = c + std::abs(c) * 1e-6;
  }
  a.lo = mn, a.hi = mx;
  a.ticks = {mn, mx};
  return a;
}

// At most this many ticks on an axis: a step the values' own precision
// cannot tell apart (k + 1 == k above 2^53) once looped without end.
constexpr double kMaxTicks = 50;

Axis linear_axis(double mn, double mx) {
  if (!std::isfinite(mx - mn)) return plain_axis(mn, mx);  // -1.7e308 to 1.7e308: a span past the largest double
  const double pad = mx > mn ? (mx - mn) * 0.03 : mn == 0 ? 1 : std::abs(mn) * 0.1;
  // Padded ends past the largest double (data near 1.75e308): the data's own ends.
  if (!std::isfinite(mn - pad) || !std::isfinite(mx + pad)) return plain_axis(mn, mx);
  mn = mn >= 0 && mx > mn ? std::max(mn - pad, 0.0) : mn - pad;
  mx += pad;
  const double raw = (mx - mn) / 5, mag = std::pow(10, std::floor(std::log10(raw))), r = raw / mag;
  const double step = (r < 1.5 ? 1 : r < 3 ? 2 : r < 7 ? 5 : 10) * mag;
  const double k0 = std::floor(mn / step + 1e-9), k1 = std::ceil(mx / step - 1e-9);
  // Above 2^53, k0 + 1 is k0: the tick indices are no longer whole numbers
  // apart (values 1e22 apart by a few ulps), and ++k never reached k1.
  if (!(std::isfinite(step) && step > 0 && std::isfinite(k0 * step) && std::isfinite(k1 * step) && k1 - k0 <= kMaxTicks &&
        k1 >= k0 && std::abs(k1) < 9007199254740992.0 && std::abs(k0) < 9007199254740992.0))
    return plain_axis(mn, mx);
  Axis a;
  a.lo = k0 * step;
  a.hi = k1 * step;
  for (int64_t i = 0; i <= static_cast<int64_t>(k1 - k0); ++i) a.ticks.push_back((k0 + double(i)) * step);
  return a;
}

// Whole decades around [mn, mx] (mn > 0); at most about eight labelled.
Axis log_axis(double mn, double mx) {
  Axis a;
  a.log = true;
  mn /= 1.07;  // room, as on the linear axis
  mx *= 1.07;
  if (!(std::isfinite(mn) && std::isfinite(mx) && mn > 0 && std::log10(mx) - std::log10(mn) < 1000)) return plain_axis(mn, mx);
  const int e0 = static_cast<int>(std::floor(std::log10(mn) + 1e-9)), e1 = static_cast<int>(std::ceil(std::log10(mx) - 1e-9));
  a.lo = std::pow(10.0, e0);
  a.hi = std::pow(10.0, std::max(e1, e0 + 1));
  const int every = (e1 - e0) / 8 + 1;
  for (int e = e0; e <= std::max(e1, e0 + 1); e += every) a.ticks.push_back(std::pow(10.0, e));
  return a;
}

std::string tick_label(const Axis& a, double v) {
  if (a.log) return fmt("%g", v);
  const double step = a.ticks.size() > 1 ? a.ticks[1] - a.ticks[0] : 1;
  if (std::abs(v) < step * 1e-6) return "0";
  if (std::abs(v) >= 1e6 || step < 1e-4) return fmt("%.3g", v);
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char f[16];
  std::snprintf(f, sizeof f, "%%.%df", decimals);
  return fmt(f, v);
}

// ---- panels ----

struct Panel {
  std::string title;
  std::vector<std::pair<std::string, std::string>> series;  // stat key, name in the legend
};

bool has_finite(const Stats& s, const std::string& key) {
  auto it = s.col.find(key);
  return it != s.col.end() && std::any_of(it->second.begin(), it->second.end(), [](double v) { return std::isfinite(v); });
}

// The known keys in the table's order, then the others in order of first
// appearance. Keys without one finite value (a regularizer that never ran)
// get no panel; they are returned in `empty`.
std::vector<Panel> make_panels(const Stats& s, std::vector<std::string>& empty, size_t& not_drawn) {
  std::vector<Panel> panels;
  std::map<std::string, size_t> index;  // title -> panel (a search of the panels made a line of 1M keys take minutes)
  not_drawn = 0;
  auto add = [&](const std::string& title, const std::string& key, const std::string& label) {
    auto it = index.find(title);
    if (it == index.end()) {
      if (panels.size() == kMaxPanels) {
        ++not_drawn;
        return;
      }
      it = index.emplace(title, panels.size()).first;
      panels.push_back(Panel{title, {}});
    }
    panels[it->second].series.emplace_back(key, label);
  };
  auto known = [](const std::string& k) {
    return std::any_of(std::begin(kKnownStats), std::end(kKnownStats), [&](const KnownStat& x) { return k == x.key; });
  };
  auto not_curve = [](const std::string& k) {
    return std::any_of(std::begin(kNotCurves), std::end(kNotCurves), [&](const char* x) { return k == x; });
  };
  for (const KnownStat& x : kKnownStats)
    if (has_finite(s, x.key)) add(x.panel, x.key, x.label);
  for (const std::string& k : s.keys)
    if (!known(k) && !not_curve(k) && has_finite(s, k)) add(k, k, k);
  for (const std::string& k : s.keys)
    if (!not_curve(k) && !has_finite(s, k)) empty.push_back(k);
  return panels;
}

Axis value_axis(const Stats& s, const Panel& p) {
  double mn = INFINITY, mx = -INFINITY;
  bool positive = true;
  for (const auto& [key, label] : p.series)
    for (double v : s.col.at(key))
      if (std::isfinite(v)) {
        mn = std::min(mn, v);
        mx = std::max(mx, v);
        positive = positive && v > 0;
      }
  return positive && mx / mn >= kLogSpan ? log_axis(mn, mx) : linear_axis(mn, mx);
}

using Run = std::vector<std::pair<double, double>>;  // consecutive drawable points, in SVG pixels

// One series' points, split at every tick whose value is not drawable
// (null, or not positive on a log axis); ticks without the key are passed over.
std::vector<Run> curve_runs(const std::vector<double>& v, const std::vector<char>& present, const std::vector<double>& kimg,
                            const Axis& x, const Axis& y) {
  std::vector<Run> runs;
  bool pen = false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!present[i]) continue;
    if (!y.drawable(v[i])) {
      pen = false;
      continue;
    }
    if (!pen) runs.emplace_back();
    runs.back().emplace_back(kPlotX + x.frac(kimg[i]) * kPlotW, kPlotY + (1 - y.frac(v[i])) * kPlotH);
    pen = true;
  }
  return runs;
}

// The runs as an SVG path: "M" starts each, "L" continues it; a lone point
// gets a zero-length segment ("h0", a dot under the round cap). So the path
// holds one coordinate pair per drawable tick.
std::string curve_path(const std::vector<Run>& runs) {
  std::string d;
  for (const Run& r : runs)
    for (size_t i = 0; i < r.size(); ++i)
      d += (d.empty() ? "" : " ") + std::string(i ? "L" : "M") + fmt("%.1f", r[i].first) + " " + fmt("%.1f", r[i].second) +
           (r.size() == 1 ? " h0" : "");
  return d;
}

void render_panel(std::ostream& o, const Stats& s, const Panel& p, const Axis& x, const std::vector<double>& resumes) {
  const Axis y = value_axis(s, p);
  o << "<figure class=\"panel\"><figcaption>" << esc(p.title) << (y.log ? " <small>(log scale)</small>" : "")
    << "</figcaption>\n";
  o << "<svg class=\"plot\" width=\"" << kSvgW << "\" height=\"" << kSvgH << "\" viewBox=\"0 0 " << kSvgW << " " << kSvgH
    << "\" data-plot=\"" << kPlotX << " " << kPlotY << " " << kPlotW << " " << kPlotH << "\" data-x=\"" << fmt("%.17g", x.lo)
    << " " << fmt("%.17g", x.hi) << "\" data-y=\"" << fmt("%.17g", y.lo) << " " << fmt("%.17g", y.hi) << "\" data-scale=\""
    << (y.log ? "log" : "linear") << "\" font-size=\"11\" fill=\"#333333\">\n";
  auto X = [&](double v) { return fmt("%.1f", kPlotX + x.frac(v) * kPlotW); };
  auto Y = [&](double v) { return fmt("%.1f", kPlotY + (1 - y.frac(v)) * kPlotH); };
  // Grid lines and tick labels.
  o << "<g stroke=\"#e6e6e6\" shape-rendering=\"crispEdges\">";
  for (double t : y.ticks)
    o << "<line x1=\"" << kPlotX << "\" x2=\"" << kPlotX + kPlotW << "\" y1=\"" << Y(t) << "\" y2=\"" << Y(t) << "\"/>";
  for (double t : x.ticks)
    o << "<line x1=\"" << X(t) << "\" x2=\"" << X(t) << "\" y1=\"" << kPlotY << "\" y2=\"" << kPlotY + kPlotH << "\"/>";
  o << "</g>\n<g text-anchor=\"end\">";
  for (double t : y.ticks) o << "<text x=\"" << kPlotX - 5 << "\" y=\"" << fmt("%.1f", kPlotY + (1 - y.frac(t)) * kPlotH + 4) << "\">" << esc(tick_label(y, t)) << "</text>";
  o << "</g>\n<g text-anchor=\"middle\">";
  for (double t : x.ticks) o << "<text x=\"" << X(t) << "\" y=\"" << kPlotY + kPlotH + 15 << "\">" << esc(tick_label(x, t)) << "</text>";
  o << "</g>\n<text x=\"" << kPlotX + kPlotW << "\" y=\"" << kPlotY + kPlotH + 30 << "\" text-anchor=\"end\">kimg</text>\n";
  // Where a resumed run took over.
  for (double k : resumes)
    o << "<line class=\"resume\" x1=\"" << X(k) << "\" x2=\"" << X(k) << "\" y1=\"" << kPlotY << "\" y2=\"" << kPlotY + kPlotH
      << "\" stroke=\"#999999\" stroke-dasharray=\"4 3\"/>\n";
  for (size_t i = 0; i < p.series.size(); ++i) {
    const std::string& key = p.series[i].first;
    const char* color = kPalette[i % std::size(kPalette)];
    const std::vector<Run> runs = curve_runs(s.col.at(key), s.present.at(key), s.kimg, x, y);
    o << "<path class=\"curve\" data-key=\"" << esc(key) << "\" d=\"" << curve_path(runs) << "\" fill=\"none\" stroke=\""
      << color << "\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n";
    // Dots: on every point while there are few, else on lone points only (a line would hide them).
    size_t points = 0;
    for (const Run& r : runs) points += r.size();
    o << "<g fill=\"" << color << "\">";
    for (const Run& r : runs)
      if (points <= kDotsUpTo || r.size() == 1)
        for (const auto& [px, py] : r) o << "<circle cx=\"" << fmt("%.1f", px) << "\" cy=\"" << fmt("%.1f", py) << "\" r=\"2.2\"/>";
    o << "</g>\n";
  }
  o << "<rect class=\"frame\" x=\"" << kPlotX << ".5\" y=\"" << kPlotY << ".5\" width=\"" << kPlotW << "\" height=\"" << kPlotH
    << "\" fill=\"none\" stroke=\"" << kFrameColor << "\" shape-rendering=\"crispEdges\"/>\n</svg>\n<div class=\"legend\">";
  for (size_t i = 0; i < p.series.size(); ++i) {
    // The value of the last tick that has the key: a diverged run's NaN
    // shows as "-", not as its last finite value.
    const std::vector<double>& v = s.col.at(p.series[i].first);
    const std::vector<char>& has = s.present.at(p.series[i].first);
    double latest = kNaN;
    for (size_t r = 0; r < v.size(); ++r)
      if (has[r]) latest = v[r];
    o << "<span><i style=\"background:" << kPalette[i % std::size(kPalette)] << "\"></i>" << esc(p.series[i].second) << " <b>"
      << num(latest) << "</b></span>";
  }
  o << "</div></figure>\n";
}

// ---- the folder's other files ----

std::optional<std::pair<int, int>> png_size(const fs::path& p) {
  std::ifstream f = open_run_file(p, nullptr);
  unsigned char h[24];
  if (!f.read(reinterpret_cast<char*>(h), sizeof h) || std::string(reinterpret_cast<char*>(h) + 1, 3) != "PNG") return std::nullopt;
  auto be = [&](int o) { return uint32_t(h[o]) << 24 | uint32_t(h[o + 1]) << 16 | uint32_t(h[o + 2]) << 8 | uint32_t(h[o + 3]); };
  // PNG sizes are 1 .. 2^31 - 1; another header's are no size to show.
  const uint32_t w = be(16), ht = be(20);
  if (w == 0 || ht == 0 || w > 0x7fffffffu || ht > 0x7fffffffu) return std::nullopt;
  return std::make_pair(int(w), int(ht));
}

struct Grid {
  std::string file;
  long long kimg = -1;  // from the digits of fakes<kimg>.png (pSp's fakes<step>.png); -1 without digits
};

std::vector<Grid> fakes_grids(const fs::path& dir) {
  std::vector<Grid> g;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() < 9 || n.rfind("fakes", 0) != 0 || n.compare(n.size() - 4, 4, ".png") != 0) continue;
    const std::string mid = n.substr(5, n.size() - 9);
    Grid x{n, -1};
    if (!mid.empty() && std::all_of(mid.begin(), mid.end(), [](char c) { return c >= '0' && c <= '9'; }) && mid.size() < 16)
      x.kimg = std::stoll(mid);
    g.push_back(x);
  }
  std::sort(g.begin(), g.end(), [](const Grid& a, const Grid& b) { return a.kimg != b.kimg ? a.kimg < b.kimg : a.file < b.file; });
  return g;
}

// A file name as a relative URL: every byte but letters, digits and -._~
// percent-encoded, so '#', '?', '%' or a ':' (read as a scheme, "fakes:x")
// name the file, not a fragment, a query or another protocol.
std::string url_path(const std::string& name) {
  static const char* hex = "0123456789ABCDEF";
  std::string r;
  for (const unsigned char c : name) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_' || c == '~') {
      r += static_cast<char>(c);
    } else {
      r += '%';
      r += hex[c >> 4];
      r += hex[c & 15];
    }
  }
  return r;
}

// An image shown at a whole multiple of its size (crisp pixels), about 256 to 512 wide.
std::string img_tag(const fs::path& dir, const std::string& file, const std::string& cls) {
  std::string size;
  if (auto wh = png_size(dir / file); wh && wh->first > 0) {
    const int64_t k = std::clamp(512 / wh->first, 1, 8);
    size = " width=\"" + std::to_string(wh->first * k) + "\" height=\"" + std::to_string(wh->second * k) + "\"";
  }
  const std::string url = esc(url_path(file));
  return "<a href=\"" + url + "\"><img class=\"" + cls + "\" src=\"" + url + "\"" + size + " alt=\"" + esc(file) + "\"/></a>";
}

void flatten(const json& j, const std::string& prefix, std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object() && !j.empty()) {
    for (const auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
    return;
  }
  out.emplace_back(prefix, j.is_string() ? j.get<std::string>() : io::json_text(j));
}

std::string local_time(double unix_sec) {
  // Years 0 to 9999 (a timestamp of 1e300 cast to time_t is undefined).
  if (!(unix_sec > -62167219200.0 && unix_sec < 253402300800.0)) return "";
  const std::time_t t = static_cast<std::time_t>(unix_sec);
  std::tm tm{};
  localtime_r(&t, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S %Z", &tm);
  return b;
}

double opt_number(const json& o, const char* key) {
  return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].get<double>() : kNaN;
}
std::string opt_text(const json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return "";
  return o[key].is_string() ? o[key].get<std::string>() : io::json_text(o[key]);
}

constexpr const char* kStyle =
    "body{font:14px/1.45 'DejaVu Sans',Arial,sans-serif;margin:16px 24px;color:#222;background:#fff}"
    "h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:22px 0 8px;padding-bottom:2px;border-bottom:1px solid #ddd}"
    "h3{font-size:14px;margin:14px 0 6px}"
    ".bar{width:480px;height:8px;background:#eee;margin:6px 0}.bar div{height:8px;background:#4a4}"
    "table{border-collapse:collapse}td,th{padding:1px 14px 1px 0;text-align:left;vertical-align:top}"
    "th{font-weight:normal;color:#666}.options td{font-family:'DejaVu Sans Mono',monospace;font-size:12px}"
    ".panels{display:flex;flex-wrap:wrap;gap:10px 18px}figure{margin:0}figcaption{font-weight:bold}"
    "figcaption small{font-weight:normal;color:#666}svg.plot{display:block}"
    ".legend{font-size:12px;margin-left:58px}.legend span{margin-right:14px;white-space:nowrap}"
    ".legend i{display:inline-block;width:16px;height:3px;vertical-align:middle;margin-right:5px}"
    ".grids,.earlier{display:flex;flex-wrap:wrap;gap:12px 18px;align-items:flex-start}"
    "img{image-rendering:pixelated;max-width:100%;height:auto;border:1px solid #ddd}img.thumb{width:160px}"
    ".note{color:#666;font-size:12px}";

}  // namespace

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  const long long t = static_cast<long long>(std::nearbyint(s));  // half to even, as np.rint
  char b[64];
  if (t < 60)
    std::snprintf(b, sizeof b, "%llds", t);
  else if (t < 3600)
    std::snprintf(b, sizeof b, "%lldm %02llds", t / 60, t % 60);
  else if (t < 86400)
    std::snprintf(b, sizeof b, "%lldh %02lldm %02llds", t / 3600, t / 60 % 60, t % 60);
  else
    std::snprintf(b, sizeof b, "%lldd %02lldh %02lldm", t / 86400, t / 3600 % 24, t / 60 % 60);
  return b;
}

namespace {

// The last line of a file without its line end ("" for none or an unreadable
// file), read from the end in windows that grow until the line's start is
// in one: an error line can be long (a list of paths), and a log is large.
std::string last_line(const fs::path& file) {
  std::ifstream f = open_run_file(file, nullptr);
  if (!f.is_open()) return "";
  f.seekg(0, std::ios::end);
  const std::streamoff size = f.tellg();
  for (std::streamoff window = 4096;; window *= 4) {
    const std::streamoff from = std::max<std::streamoff>(0, size - window);
    f.seekg(from);
    std::string tail(static_cast<size_t>(size - from), '\0');
    if (!f.read(tail.data(), static_cast<std::streamsize>(tail.size()))) return "";
    while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.pop_back();
    const size_t nl = tail.find_last_of('\n');
    if (nl != std::string::npos) return tail.substr(nl + 1);
    if (from == 0) return tail;
  }
}

// What ended the run early, from the last line of dir/log.txt when that is a
// program's error line ("train_stylegan: error: <what>", which
// record_run_stopped adds): <what>; "" otherwise.
std::string stop_reason(const fs::path& dir) {
  const std::string last = last_line(dir / "log.txt");
  size_t name = 0;  // the program's name: letters, digits, _
  while (name < last.size() && (std::isalnum(static_cast<unsigned char>(last[name])) || last[name] == '_')) ++name;
  const std::string mark = ": error: ";
  if (name == 0 || last.compare(name, mark.size(), mark) != 0) return "";
  return last.substr(name + mark.size());
}

}  // namespace

std::string render_report(const std::string& run_dir, const ReportOptions& opt_in) {
  const fs::path dir(run_dir);
  std::error_code ec;
  if (run_dir.empty()) throw Error("the run folder's name is empty");
  if (!fs::is_directory(dir, ec))
    throw Error(run_dir + (fs::exists(fs::symlink_status(dir, ec)) ? " is not a folder" : ": no such folder"));
  const bool has_stats = fs::exists(dir / "stats.jsonl", ec), has_options = fs::exists(dir / "training_options.json", ec);
  if (!has_stats && !has_options)
    throw Error(run_dir + " is not a run folder (no stats.jsonl, no training_options.json)");
  std::vector<std::string> notes;
  // A run that stopped with an error (or a signal) is not going on, whatever the caller thinks.
  const std::string stopped = stop_reason(dir);
  ReportOptions opt = opt_in;
  if (!stopped.empty()) opt.live = false;

  json options;
  if (has_options) {
    std::ifstream f = open_run_file(dir / "training_options.json", &notes);
    std::stringstream ss;
    if (f.is_open()) ss << f.rdbuf();
    options = io::parse_json_or_discarded(ss.str());
    if (!f.is_open()) {
      options = json::object();
    } else if (options.is_discarded() || !options.is_object()) {
      notes.push_back("training_options.json could not be read as a JSON object.");
      options = json::object();
    }
  } else {
    notes.push_back("There is no training_options.json.");
  }

  Stats s;
  size_t bad = read_stats(dir / "stats-earlier.jsonl", s, notes);
  s.earlier_rows = s.rows();
  bad += read_stats(dir / "stats.jsonl", s, notes);
  if (bad) notes.push_back(std::to_string(bad) + " line(s) of the stats could not be read (not a JSON object with a kimg); left out.");
  if (const size_t odd = read_metric_files(dir, s, notes))
    notes.push_back(std::to_string(odd) + " record(s) of metric-*.jsonl name no snapshot of these ticks (or are no metric record); left out.");
  find_run_starts(s);

  // ---- status ----
  const size_t n = s.rows();
  const double last_kimg = n ? s.kimg.back() : kNaN, total_kimg = opt_number(options, "total_kimg");
  const bool finished = stopped.empty() && n && std::isfinite(total_kimg) && last_kimg >= total_kimg - 1e-9;
  // A progressive run (PGGAN, v1) or pSp with nothing left to train (--kimg
  // 0, or resumed at its total) writes its snapshot and no tick.
  const double resume_kimg = opt_number(options, "resume_kimg"), start_kimg = std::isfinite(resume_kimg) ? resume_kimg : 0;
  const bool nothing_to_train = stopped.empty() && n == 0 && std::isfinite(total_kimg) && start_kimg >= total_kimg - 1e-9;
  if (nothing_to_train) opt.live = false;
  const double elapsed = elapsed_sec(s), rate = recent_sec_per_kimg(s);
  const double left = std::isfinite(total_kimg) && !finished && stopped.empty() ? (total_kimg - last_kimg) * rate : kNaN;
  const double last_time = n ? s.at("timestamp", n - 1) : kNaN;

  std::ostringstream o;
  fs::path abs = fs::absolute(dir).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();  // "runs/00001-x/"
  const std::string name = abs.filename().string();
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  if (opt.live) o << "<meta http-equiv=\"refresh\" content=\"" << opt.refresh_sec << "\"/>\n";
  o << "<title>" << esc(name) << (n && !finished ? " (kimg " + kimg_text(last_kimg) + ")" : "") << "</title>\n<style>" << kStyle
    << "</style>\n</head>\n<body>\n<h1>" << esc(name) << "</h1>\n<p class=\"status\">";
  if (!stopped.empty()) o << "Stopped: " << esc(stopped) << (n ? "<br/>" : " ");
  if (nothing_to_train) {
    o << "Finished with nothing to train: kimg " << kimg_text(start_kimg) << " of " << num(total_kimg) << ", no tick.";
  } else if (n == 0) {
    o << "No tick yet.";
  } else {
    o << (finished ? "Finished" : opt.live ? "Running" : "Not finished") << ": kimg " << kimg_text(last_kimg);
    if (std::isfinite(total_kimg)) o << " of " << num(total_kimg);
    if (total_kimg > 0 && std::isfinite(100 * last_kimg / total_kimg)) o << fmt(" (%.1f%%)", 100 * last_kimg / total_kimg);
    o << ", " << n << " ticks; training time " << format_duration(elapsed) << ".";
    // A progressive run (PGGAN, StyleGAN v1) below its final resolution
    // slows down as it grows: the current speed only bounds the time left.
    const double res_now = s.at("resolution", n - 1), res_final = opt_number(options, "resolution");
    const bool growing = std::isfinite(res_now) && std::isfinite(res_final) && res_now < res_final;
    if (std::isfinite(left) && growing) {
      o << " At least " << format_duration(left) << " left: " << num(rate) << " s/kimg at " << num(res_now) << "x"
        << num(res_now) << ", slower at the higher resolutions to " << num(res_final) << "x" << num(res_final) << ".";
    } else if (std::isfinite(left)) {
      o << " About " << format_duration(left) << " left at " << num(rate) << " s/kimg";
      if (opt.live && !local_time(last_time + left).empty()) o << " (done about " << esc(local_time(last_time + left)) << ")";
      o << ".";
    }
    if (!local_time(last_time).empty()) o << " Last tick " << esc(local_time(last_time)) << ".";
    if (opt.live) o << " <span class=\"note\">This page reloads every " << opt.refresh_sec << " s.</span>";
  }
  o << "</p>\n";
  if (n && std::isfinite(total_kimg) && total_kimg > 0)
    o << "<div class=\"bar\"><div style=\"width:" << fmt("%.1f", std::clamp(100 * last_kimg / total_kimg, 0.0, 100.0)) << "%\"></div></div>\n";

  // ---- summary ----
  o << "<table class=\"summary\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    if (!v.empty()) o << "<tr><th>" << esc(k) << "</th><td>" << esc(v) << "</td></tr>\n";
  };
  {
    std::string d = opt_text(options, "dataset");
    const double count = opt_number(options, "dataset_size"), res = opt_number(options, "resolution");
    const double ch = opt_number(options, "channels"), c_dim = opt_number(options, "c_dim");
    std::vector<std::string> parts;
    if (std::isfinite(count)) parts.push_back(fmt("%.0f images", count));
    if (std::isfinite(res)) parts.push_back(fmt("%.0f", res) + "x" + fmt("%.0f", res));
    if (std::isfinite(ch)) parts.push_back(fmt("%.0f channel", ch) + (ch == 1 ? "" : "s"));
    if (std::isfinite(c_dim)) parts.push_back(c_dim > 0 ? fmt("labels: c_dim %.0f (conditional: one-hot classes or label vectors)", c_dim) : "labels: none");
    for (size_t i = 0; i < parts.size(); ++i) d += (i == 0 ? (d.empty() ? "" : ": ") : ", ") + parts[i];
    row("Dataset", d);
    const std::string dev = opt_text(options, "device"), dev_name = opt_text(options, "device_name");
    row("Device", dev_name.empty() ? dev : dev_name + (dev.empty() ? "" : " (" + dev + ")"));
    const std::string resume = opt_text(options, "resume");
    if (!resume.empty()) row("Resumed", "from " + resume + (std::isfinite(resume_kimg) ? " at kimg " + num(resume_kimg) : ""));
    if (n) {
      // A run given --resume-time (the official resume_time) counts its
      // time from there: its own start is that much later.
      const double resume_time = s.earlier_rows ? kNaN : opt_number(options, "resume_time");
      row("Started", local_time(s.at("timestamp", 0) - s.at("total_sec", 0) + (std::isfinite(resume_time) ? resume_time : 0)));
      row("Speed", std::isfinite(rate) ? num(rate) + " s/kimg lately" : "");
    }
    row("Run folder", abs.string());
  }
  o << "</table>\n";

  // ---- curves ----
  o << "<h2>Curves</h2>\n";
  std::vector<std::string> empty;
  size_t not_drawn = 0;
  const std::vector<Panel> panels = make_panels(s, empty, not_drawn);
  if (not_drawn)
    notes.push_back(std::to_string(not_drawn) + " more statistics are not drawn (a report draws at most " +
                    std::to_string(kMaxPanels) + " panels).");
  if (panels.empty()) {
    o << "<p>No statistics yet.</p>\n";
  } else {
    double kmin = INFINITY, kmax = -INFINITY;
    for (double k : s.kimg) {
      kmin = std::min(kmin, k);
      kmax = std::max(kmax, k);
    }
    const Axis x = linear_axis(kmin, kmax);
    std::vector<double> resumes;  // where each later run took over: the last tick before it
    for (size_t r : s.run_starts)
      if (r > 0) resumes.push_back(s.kimg[r - 1]);
    o << "<div class=\"panels\">\n";
    for (const Panel& p : panels) render_panel(o, s, p, x, resumes);
    o << "</div>\n";
    if (!resumes.empty()) o << "<p class=\"note\">Dashed lines: where a resumed run took over.</p>\n";
  }
  if (!empty.empty()) {
    // Named up to a bound, as the panels are (a line of 1M null keys made a note of megabytes).
    constexpr size_t kNamed = 200;
    std::string list;
    for (size_t i = 0; i < std::min(empty.size(), kNamed); ++i) list += (i ? ", " : "") + empty[i];
    if (empty.size() > kNamed) list += " and " + std::to_string(empty.size() - kNamed) + " more";
    o << "<p class=\"note\">No finite value, so no curve: " << esc(list) << ".</p>\n";
  }

  // ---- images ----
  o << "<h2>Images</h2>\n";
  const std::vector<Grid> grids = fakes_grids(dir);
  // train_psp names its grids by step (its ticks hold the step, its options resume_step).
  const std::string grid_unit = s.col.count("step") || options.contains("resume_step") ? "step " : "kimg ";
  const bool reals = fs::exists(dir / "reals.png", ec);
  if (grids.empty() && !reals) {
    o << "<p>No image grid yet.</p>\n";
  } else {
    o << "<div class=\"grids\">\n";
    if (reals) o << "<figure>" << img_tag(dir, "reals.png", "grid") << "<figcaption>Reals (reals.png)</figcaption></figure>\n";
    if (!grids.empty())
      o << "<figure>" << img_tag(dir, grids.back().file, "grid") << "<figcaption>Newest fakes ("
        << esc(grids.back().file) << ")</figcaption></figure>\n";
    o << "</div>\n";
    if (grids.size() > 1) {
      // Up to eight earlier grids, evenly spread from the first.
      const size_t m = grids.size() - 1, shown = std::min<size_t>(m, 8);
      o << "<h3>Earlier fakes</h3>\n<div class=\"earlier\">\n";
      for (size_t i = 0; i < shown; ++i) {
        const Grid& g = grids[shown == 1 ? 0 : i * (m - 1) / (shown - 1)];
        o << "<figure>" << img_tag(dir, g.file, "thumb") << "<figcaption>"
          << (g.kimg >= 0 ? grid_unit + std::to_string(g.kimg) : esc(g.file)) << "</figcaption></figure>\n";
      }
      o << "</div>\n";
    }
  }

  // ---- options ----
  o << "<h2>Options</h2>\n";
  std::vector<std::pair<std::string, std::string>> flat;
  flatten(options, "", flat);
  if (options.empty()) {
    o << "<p>None recorded.</p>\n";
  } else {
    o << "<table class=\"options\">\n";
    for (const auto& [k, v] : flat) o << "<tr><th>" << esc(k) << "</th><td>" << esc(v) << "</td></tr>\n";
    o << "</table>\n";
  }
  for (const std::string& note : notes) o << "<p class=\"note\">" << esc(note) << "</p>\n";
  o << "<p class=\"note\">Written by ganforge from stats.jsonl"
    << (s.earlier_rows ? " (after stats-earlier.jsonl, the ticks of the runs this one was resumed from)" : "")
    << ", training_options.json and the image grids of this folder.</p>\n</body>\n</html>\n";
  return o.str();
}

void write_report(const std::string& run_dir, const ReportOptions& opt) {
  // The trainer and a make_report run at the same time each read the folder
  // and write the page: under one lock on the folder, a page read before the
  // trainer's last tick can no longer be written after its final page.
  // Waited for 10 s at most: a make_report stopped with Ctrl-Z, or one on a
  // hung network file system, must not stop the trainer's ticks.
  struct Folder {  // its descriptor, closed (and the lock released) however we leave
    int fd;
    ~Folder() {
      if (fd >= 0) ::close(fd);
    }
  } folder{::open(run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  for (int tries = 0; folder.fd >= 0 && tries < 200 && ::flock(folder.fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK; ++tries)
    ::usleep(50000);  // best effort where a file system has no locks
  ReportOptions o = opt;
  if (o.decide_live_under_lock) o.live = run_is_live(run_dir);
  const std::string page = render_report(run_dir, o);
  // A link named report.html in a folder that may be a copy from elsewhere
  // becomes a plain file; what it leads to (stats.jsonl) is never written.
  io::write_atomic((fs::path(run_dir) / "report.html").string(), [&](std::ostream& f) { f << page; }, "", io::Link::replace);
}

void update_report(const std::string& run_dir, bool live) noexcept {
  try {
    ReportOptions opt;
    opt.live = live;
    write_report(run_dir, opt);
  } catch (const std::exception& e) {
    std::cerr << "warning: report.html not updated: " << e.what() << std::endl;
  }
}

namespace {

// A stats line's image count (its kimg x 1000), or -1 for no such line.
int64_t stats_line_nimg(const std::string& line) {
  const json j = io::parse_json_or_discarded(line);
  if (!j.is_object() || !j.contains("kimg") || !j["kimg"].is_number()) return -1;
  const double kimg = j["kimg"].get<double>();
  return std::isfinite(kimg) && kimg >= 0 && kimg < 1e15 ? std::llround(kimg * 1000) : -1;
}

// The carried stats lines with the results that the folder's metric-*.jsonl
// files hold for their snapshots (calc_metrics's, run after the fact, or
// the checkpoint tick's own when the process died during its metrics),
// which the page of this folder drew and the resumed run's would not. As
// the page places them (read_metric_files): a record goes to the last line
// of its snapshot's whole kimg, unless a line of that kimg has the result
// already; a later record of a metric replaces an earlier one; a record made
// before that line was formed is of another snapshot of that kimg. Lines
// that get no result stay as they were, byte for byte.
void add_metric_results(const fs::path& dir, std::vector<std::string>& lines) {
  std::vector<json> parsed(lines.size());
  std::map<double, size_t> last_of_kimg;
  for (size_t i = 0; i < lines.size(); ++i) {
    parsed[i] = io::parse_json_or_discarded(lines[i]);
    if (parsed[i].is_object() && parsed[i].contains("kimg") && parsed[i]["kimg"].is_number())
      last_of_kimg[std::floor(parsed[i]["kimg"].get<double>() + 1e-9)] = i;
  }
  auto has_result = [&](double kimg, const std::string& name) {
    for (size_t i = 0; i < lines.size(); ++i)
      if (parsed[i].is_object() && parsed[i].contains(name) && parsed[i].contains("kimg") && parsed[i]["kimg"].is_number() &&
          std::floor(parsed[i]["kimg"].get<double>() + 1e-9) == kimg)
        return true;
    return false;
  };
  std::map<size_t, json> results_of_line;  // line index -> results to add
  for (const fs::path& path : metric_files(dir)) {
    std::ifstream f = open_run_file(path, nullptr);
    std::string record;
    bool too_long = false;
    while (next_line(f, record, &too_long)) {
      const json j = io::parse_python_json_or_discarded(record);  // "" when too long: no record
      double k = -1;
      const json* results = metric_record_results(j, k);
      const auto at = results ? last_of_kimg.find(k) : last_of_kimg.end();
      if (at == last_of_kimg.end()) continue;
      const json& line = parsed[at->second];
      if (line.contains("timestamp") && line["timestamp"].is_number() && j.contains("timestamp") &&
          j["timestamp"].is_number() && j["timestamp"].get<double>() < line["timestamp"].get<double>())
        continue;
      // Results as the page takes them: numbers (null for NaN).
      for (const auto& [name, v] : results->items())
        if (is_statistic(v) && !has_result(k, name)) results_of_line[at->second][name] = v;
    }
  }
  for (const auto& [i, results] : results_of_line) {
    json merged = parsed[i];
    for (const auto& [name, v] : results.items()) merged[name] = v;
    lines[i] = io::json_text(merged);
  }
}

}  // namespace

void carry_earlier_stats(const std::string& run_dir, const std::string& resume_file, int64_t resume_nimg) {
  if (resume_nimg <= 0) return;
  const fs::path from = fs::absolute(fs::path(resume_file)).parent_path();
  std::vector<std::string> kept;
  bool has_checkpoint_tick = false;
  for (const char* name : {"stats-earlier.jsonl", "stats.jsonl"}) {
    std::ifstream f = open_run_file(from / name, nullptr);
    std::string line;
    bool too_long = false;
    while (next_line(f, line, &too_long)) {
      // The ticks up to the checkpoint; the ones after it this run trains again
      // (a line too long to hold is none of them).
      const int64_t nimg = stats_line_nimg(line);
      if (nimg < 0 || nimg > resume_nimg) continue;
      kept.push_back(line);
      has_checkpoint_tick |= nimg == resume_nimg;
    }
  }
  if (!has_checkpoint_tick) {
    // Killed between the checkpoint's rename and its tick's line: the line
    // written just before the checkpoint, if it is that checkpoint's tick.
    std::ifstream f = open_run_file(from / kCheckpointTickFile, nullptr);
    std::string line;
    bool too_long = false;
    if (next_line(f, line, &too_long) && !too_long && stats_line_nimg(line) == resume_nimg) kept.push_back(line);
  }
  add_metric_results(from, kept);
  if (!kept.empty())
    io::write_atomic((fs::path(run_dir) / "stats-earlier.jsonl").string(), [&](std::ostream& f) {
      for (const std::string& line : kept) f << line << '\n';
    }, "");
}

}  // namespace gf
