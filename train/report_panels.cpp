#include "train/report_panels.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>

#include "engine/io/utf8.h"

namespace gf::report_detail {

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

constexpr const char* kPalette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                    "#9467bd", "#8c564b", "#e377c2", "#17becf"};
constexpr const char* kFrameColor = "#555555";  // the plot frame; tests find plots by it
constexpr double kLogSpan = 100;  // a panel whose positive values span this factor is drawn on a log scale
constexpr size_t kDotsUpTo = 60;  // a curve of this many points or fewer gets a dot on each

// SVG geometry of one panel, in pixels: the plot area and the whole picture.
constexpr int kPlotX = 58, kPlotY = 10, kPlotW = 388, kPlotH = 190;
constexpr int kSvgW = kPlotX + kPlotW + 14, kSvgH = kPlotY + kPlotH + 36;

}  // namespace

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

std::string num(double v) { return std::isfinite(v) ? fmt("%.4g", v) : "-"; }

// ---- axes ----

namespace {

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

}  // namespace

// Round numbers around [mn, mx], with a little room so no point lies on the
// frame (but not below 0 for varying data that is not): a step of 1, 2 or 5 times a
// power of ten, about five ticks, the ends on ticks.
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
  if (!(std::isfinite(step) && step > 0 && std::isfinite(k0 * step) && std::isfinite(k1 * step) &&
        k1 - k0 <= kMaxTicks && k1 >= k0 && std::abs(k1) < 9007199254740992.0 && std::abs(k0) < 9007199254740992.0))
    return plain_axis(mn, mx);
  Axis a;
  a.lo = k0 * step;
  a.hi = k1 * step;
  for (int64_t i = 0; i <= static_cast<int64_t>(k1 - k0); ++i) a.ticks.push_back((k0 + double(i)) * step);
  return a;
}

namespace {

// Whole decades around [mn, mx] (mn > 0); at most about eight labelled.
Axis log_axis(double mn, double mx) {
  Axis a;
  a.log = true;
  mn /= 1.07;  // room, as on the linear axis
  mx *= 1.07;
  if (!(std::isfinite(mn) && std::isfinite(mx) && mn > 0 && std::log10(mx) - std::log10(mn) < 1000))
    return plain_axis(mn, mx);
  const int e0 = static_cast<int>(std::floor(std::log10(mn) + 1e-9)),
            e1 = static_cast<int>(std::ceil(std::log10(mx) - 1e-9));
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

bool has_finite(const Stats& s, const std::string& key) {
  auto it = s.col.find(key);
  return it != s.col.end() &&
         std::any_of(it->second.begin(), it->second.end(), [](double v) { return std::isfinite(v); });
}

}  // namespace

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

namespace {

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
std::vector<Run> curve_runs(const std::vector<double>& v, const std::vector<char>& present,
                            const std::vector<double>& kimg, const Axis& x, const Axis& y) {
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
      d += (d.empty() ? "" : " ") + std::string(i ? "L" : "M") + fmt("%.1f", r[i].first) + " " +
           fmt("%.1f", r[i].second) + (r.size() == 1 ? " h0" : "");
  return d;
}

}  // namespace

void render_panel(std::ostream& o, const Stats& s, const Panel& p, const Axis& x, const std::vector<double>& resumes) {
  const Axis y = value_axis(s, p);
  o << "<figure class=\"panel\"><figcaption>" << esc(p.title) << (y.log ? " <small>(log scale)</small>" : "")
    << "</figcaption>\n";
  o << "<svg class=\"plot\" width=\"" << kSvgW << "\" height=\"" << kSvgH << "\" viewBox=\"0 0 " << kSvgW << " "
    << kSvgH << "\" data-plot=\"" << kPlotX << " " << kPlotY << " " << kPlotW << " " << kPlotH << "\" data-x=\""
    << fmt("%.17g", x.lo) << " " << fmt("%.17g", x.hi) << "\" data-y=\"" << fmt("%.17g", y.lo) << " "
    << fmt("%.17g", y.hi) << "\" data-scale=\"" << (y.log ? "log" : "linear")
    << "\" font-size=\"11\" fill=\"#333333\">\n";
  auto X = [&](double v) { return fmt("%.1f", kPlotX + x.frac(v) * kPlotW); };
  auto Y = [&](double v) { return fmt("%.1f", kPlotY + (1 - y.frac(v)) * kPlotH); };
  // Grid lines and tick labels.
  o << "<g stroke=\"#e6e6e6\" shape-rendering=\"crispEdges\">";
  for (double t : y.ticks)
    o << "<line x1=\"" << kPlotX << "\" x2=\"" << kPlotX + kPlotW << "\" y1=\"" << Y(t) << "\" y2=\"" << Y(t) << "\"/>";
  for (double t : x.ticks)
    o << "<line x1=\"" << X(t) << "\" x2=\"" << X(t) << "\" y1=\"" << kPlotY << "\" y2=\"" << kPlotY + kPlotH << "\"/>";
  o << "</g>\n<g text-anchor=\"end\">";
  for (double t : y.ticks)
    o << "<text x=\"" << kPlotX - 5 << "\" y=\"" << fmt("%.1f", kPlotY + (1 - y.frac(t)) * kPlotH + 4) << "\">"
      << esc(tick_label(y, t)) << "</text>";
  o << "</g>\n<g text-anchor=\"middle\">";
  for (double t : x.ticks)
    o << "<text x=\"" << X(t) << "\" y=\"" << kPlotY + kPlotH + 15 << "\">" << esc(tick_label(x, t)) << "</text>";
  o << "</g>\n<text x=\"" << kPlotX + kPlotW << "\" y=\"" << kPlotY + kPlotH + 30
    << "\" text-anchor=\"end\">kimg</text>\n";
  // Where a resumed run took over.
  for (double k : resumes)
    o << "<line class=\"resume\" x1=\"" << X(k) << "\" x2=\"" << X(k) << "\" y1=\"" << kPlotY << "\" y2=\""
      << kPlotY + kPlotH << "\" stroke=\"#999999\" stroke-dasharray=\"4 3\"/>\n";
  for (size_t i = 0; i < p.series.size(); ++i) {
    const std::string& key = p.series[i].first;
    const char* color = kPalette[i % std::size(kPalette)];
    const std::vector<Run> runs = curve_runs(s.col.at(key), s.present.at(key), s.kimg, x, y);
    o << "<path class=\"curve\" data-key=\"" << esc(key) << "\" d=\"" << curve_path(runs)
      << "\" fill=\"none\" stroke=\"" << color
      << "\" stroke-width=\"1.5\" stroke-linejoin=\"round\" stroke-linecap=\"round\"/>\n";
    // Dots: on every point while there are few, else on lone points only (a line would hide them).
    size_t points = 0;
    for (const Run& r : runs) points += r.size();
    o << "<g fill=\"" << color << "\">";
    for (const Run& r : runs)
      if (points <= kDotsUpTo || r.size() == 1)
        for (const auto& [px, py] : r)
          o << "<circle cx=\"" << fmt("%.1f", px) << "\" cy=\"" << fmt("%.1f", py) << "\" r=\"2.2\"/>";
    o << "</g>\n";
  }
  o << "<rect class=\"frame\" x=\"" << kPlotX << ".5\" y=\"" << kPlotY << ".5\" width=\"" << kPlotW << "\" height=\""
    << kPlotH << "\" fill=\"none\" stroke=\"" << kFrameColor
    << "\" shape-rendering=\"crispEdges\"/>\n</svg>\n<div class=\"legend\">";
  for (size_t i = 0; i < p.series.size(); ++i) {
    // The value of the last tick that has the key: a diverged run's NaN
    // shows as "-", not as its last finite value.
    const std::vector<double>& v = s.col.at(p.series[i].first);
    const std::vector<char>& has = s.present.at(p.series[i].first);
    double latest = kNaN;
    for (size_t r = 0; r < v.size(); ++r)
      if (has[r]) latest = v[r];
    o << "<span><i style=\"background:" << kPalette[i % std::size(kPalette)] << "\"></i>" << esc(p.series[i].second)
      << " <b>" << num(latest) << "</b></span>";
  }
  o << "</div></figure>\n";
}

}  // namespace gf::report_detail
