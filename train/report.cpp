#include "train/report.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/io/json_input.h"
#include "train/report_panels.h"
#include "train/report_stats.h"
#include "train/run_dir.h"

namespace gf {

namespace fs = std::filesystem;
using nlohmann::json;

// The page's pieces (the statistics, the panels, the folder's other files)
// are in gf::report_detail; the functions of report.h below use them.
namespace report_detail {
namespace {

// Progress in kimg: three decimals for short runs (a tick can be 0.016 kimg), else one.
std::string kimg_text(double k) { return fmt(std::abs(k) < 10 ? "%.3f" : "%.1f", k); }

// ---- the folder's other files ----

std::optional<std::pair<int, int>> png_size(const fs::path& p) {
  std::ifstream f = open_run_file(p, nullptr);
  unsigned char h[24];
  if (!f.read(reinterpret_cast<char*>(h), sizeof h) || std::string(reinterpret_cast<char*>(h) + 1, 3) != "PNG")
    return std::nullopt;
  auto be = [&](int o) {
    return uint32_t(h[o]) << 24 | uint32_t(h[o + 1]) << 16 | uint32_t(h[o + 2]) << 8 | uint32_t(h[o + 3]);
  };
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
    if (!mid.empty() && std::all_of(mid.begin(), mid.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
        mid.size() < 16)
      x.kimg = std::stoll(mid);
    g.push_back(x);
  }
  std::sort(g.begin(), g.end(),
            [](const Grid& a, const Grid& b) { return a.kimg != b.kimg ? a.kimg < b.kimg : a.file < b.file; });
  return g;
}

// A file name as a relative URL: every byte but letters, digits and -._~
// percent-encoded, so '#', '?', '%' or a ':' (read as a scheme, "fakes:x")
// name the file, not a fragment, a query or another protocol.
std::string url_path(const std::string& name) {
  static const char* hex = "0123456789ABCDEF";
  std::string r;
  for (const unsigned char c : name) {
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
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
  return "<a href=\"" + url + "\"><img class=\"" + cls + "\" src=\"" + url + "\"" + size + " alt=\"" + esc(file) +
         "\"/></a>";
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
    "h1{font-size:20px;margin:0 0 6px}"
    "h2{font-size:16px;margin:22px 0 8px;padding-bottom:2px;border-bottom:1px solid #ddd}"
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
}  // namespace report_detail

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

namespace report_detail {
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
}  // namespace report_detail

std::string render_report(const std::string& run_dir, const ReportOptions& opt_in) {
  using namespace report_detail;
  const fs::path dir(run_dir);
  std::error_code ec;
  if (run_dir.empty()) throw Error("the run folder's name is empty");
  if (!fs::is_directory(dir, ec))
    throw Error(run_dir + (fs::exists(fs::symlink_status(dir, ec)) ? " is not a folder" : ": no such folder"));
  const bool has_stats = fs::exists(dir / "stats.jsonl", ec),
             has_options = fs::exists(dir / "training_options.json", ec);
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
  if (bad)
    notes.push_back(std::to_string(bad) +
                    " line(s) of the stats could not be read (not a JSON object with a kimg); left out.");
  if (const size_t odd = read_metric_files(dir, s, notes))
    notes.push_back(
        std::to_string(odd) +
        " record(s) of metric-*.jsonl name no snapshot of these ticks (or are no metric record); left out.");
  find_run_starts(s);

  // ---- status ----
  const size_t n = s.rows();
  const double last_kimg = n ? s.kimg.back() : kNaN, total_kimg = opt_number(options, "total_kimg");
  const bool finished = stopped.empty() && n && std::isfinite(total_kimg) && last_kimg >= total_kimg - 1e-9;
  // A progressive run (PGGAN, v1) or pSp with nothing left to train (--kimg
  // 0, or resumed at its total) writes its snapshot and no tick.
  const double resume_kimg = opt_number(options, "resume_kimg"),
               start_kimg = std::isfinite(resume_kimg) ? resume_kimg : 0;
  const bool nothing_to_train =
      stopped.empty() && n == 0 && std::isfinite(total_kimg) && start_kimg >= total_kimg - 1e-9;
  if (nothing_to_train) opt.live = false;
  const double elapsed = elapsed_sec(s), rate = recent_sec_per_kimg(s);
  const double left =
      std::isfinite(total_kimg) && !finished && stopped.empty() ? (total_kimg - last_kimg) * rate : kNaN;
  const double last_time = n ? s.at("timestamp", n - 1) : kNaN;

  std::ostringstream o;
  fs::path abs = fs::absolute(dir).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();  // "runs/00001-x/"
  const std::string name = abs.filename().string();
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n";
  if (opt.live) o << "<meta http-equiv=\"refresh\" content=\"" << opt.refresh_sec << "\"/>\n";
  o << "<title>" << esc(name) << (n && !finished ? " (kimg " + kimg_text(last_kimg) + ")" : "") << "</title>\n<style>"
    << kStyle << "</style>\n</head>\n<body>\n<h1>" << esc(name) << "</h1>\n<p class=\"status\">";
  if (!stopped.empty()) o << "Stopped: " << esc(stopped) << (n ? "<br/>" : " ");
  if (nothing_to_train) {
    o << "Finished with nothing to train: kimg " << kimg_text(start_kimg) << " of " << num(total_kimg) << ", no tick.";
  } else if (n == 0) {
    o << "No tick yet.";
  } else {
    o << (finished ? "Finished" : opt.live ? "Running" : "Not finished") << ": kimg " << kimg_text(last_kimg);
    if (std::isfinite(total_kimg)) o << " of " << num(total_kimg);
    if (total_kimg > 0 && std::isfinite(100 * last_kimg / total_kimg))
      o << fmt(" (%.1f%%)", 100 * last_kimg / total_kimg);
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
      if (opt.live && !local_time(last_time + left).empty())
        o << " (done about " << esc(local_time(last_time + left)) << ")";
      o << ".";
    }
    if (!local_time(last_time).empty()) o << " Last tick " << esc(local_time(last_time)) << ".";
    if (opt.live) o << " <span class=\"note\">This page reloads every " << opt.refresh_sec << " s.</span>";
  }
  o << "</p>\n";
  if (n && std::isfinite(total_kimg) && total_kimg > 0)
    o << "<div class=\"bar\"><div style=\"width:" << fmt("%.1f", std::clamp(100 * last_kimg / total_kimg, 0.0, 100.0))
      << "%\"></div></div>\n";

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
    if (std::isfinite(c_dim))
      parts.push_back(c_dim > 0 ? fmt("labels: c_dim %.0f (conditional: one-hot classes or label vectors)", c_dim)
                                : "labels: none");
    for (size_t i = 0; i < parts.size(); ++i) d += (i == 0 ? (d.empty() ? "" : ": ") : ", ") + parts[i];
    row("Dataset", d);
    const std::string dev = opt_text(options, "device"), dev_name = opt_text(options, "device_name");
    row("Device", dev_name.empty() ? dev : dev_name + (dev.empty() ? "" : " (" + dev + ")"));
    const std::string resume = opt_text(options, "resume");
    if (!resume.empty())
      row("Resumed", "from " + resume + (std::isfinite(resume_kimg) ? " at kimg " + num(resume_kimg) : ""));
    if (n) {
      // A run given --resume-time (the official resume_time) counts its
      // time from there: its own start is that much later.
      const double resume_time = s.earlier_rows ? kNaN : opt_number(options, "resume_time");
      row("Started",
          local_time(s.at("timestamp", 0) - s.at("total_sec", 0) + (std::isfinite(resume_time) ? resume_time : 0)));
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
    if (reals)
      o << "<figure>" << img_tag(dir, "reals.png", "grid") << "<figcaption>Reals (reals.png)</figcaption></figure>\n";
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
  for (int tries = 0;
       folder.fd >= 0 && tries < 200 && ::flock(folder.fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK; ++tries)
    ::usleep(50000);  // best effort where a file system has no locks
  ReportOptions o = opt;
  if (o.decide_live_under_lock) o.live = run_is_live(run_dir);
  const std::string page = render_report(run_dir, o);
  // A link named report.html in a folder that may be a copy from elsewhere
  // becomes a plain file; what it leads to (stats.jsonl) is never written.
  io::write_atomic((fs::path(run_dir) / "report.html").string(), [&](std::ostream& f) { f << page; }, "",
                   io::Link::replace);
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

namespace report_detail {
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
      if (parsed[i].is_object() && parsed[i].contains(name) && parsed[i].contains("kimg") &&
          parsed[i]["kimg"].is_number() && std::floor(parsed[i]["kimg"].get<double>() + 1e-9) == kimg)
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
}  // namespace report_detail

void carry_earlier_stats(const std::string& run_dir, const std::string& resume_file, int64_t resume_nimg) {
  using namespace report_detail;
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
