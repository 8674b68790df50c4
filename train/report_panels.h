// Internal to report.html (train/report.h): the page's text (HTML-escaped,
// numbers formatted) and its curves, one SVG panel per panel title, with the
// axes they are drawn on; the table of known stat keys that names them is in
// report_panels.cpp. Used by train/report.cpp only; nothing else should
// include it.
#pragma once
#include <cmath>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

#include "train/report_stats.h"

namespace gf::report_detail {

// Text for the page: HTML-escaped, and only UTF-8 that HTML allows.
std::string esc(const std::string& s);
// v as printf's format f writes it, whatever its length.
std::string fmt(const char* f, double v);
// A value for people: 4 significant digits.
std::string num(double v);

// Panels drawn at most (each about 1 KB of SVG); further statistics are named
// in a note by count. A run logs tens of them.
inline constexpr size_t kMaxPanels = 2000;

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

// A linear axis of round numbers around [mn, mx] (report_panels.cpp says how).
Axis linear_axis(double mn, double mx);

// ---- panels ----

struct Panel {
  std::string title;
  std::vector<std::pair<std::string, std::string>> series;  // stat key, name in the legend
};

// The known keys in the table's order, then the others in order of first
// appearance. Keys without one finite value (a regularizer that never ran)
// get no panel; they are returned in `empty`.
std::vector<Panel> make_panels(const Stats& s, std::vector<std::string>& empty, size_t& not_drawn);

// One panel as a figure: its caption, the SVG plot of its series against
// the kimg axis x (dashed lines at resumes), and the legend with each
// series' latest value.
void render_panel(std::ostream& o, const Stats& s, const Panel& p, const Axis& x, const std::vector<double>& resumes);

}  // namespace gf::report_detail
