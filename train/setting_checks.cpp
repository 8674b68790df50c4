// The settings checks (setting_checks.h): a resumed checkpoint's kept settings and
// resume point, a --cfg against the data, --lod against the network.
#include "train/setting_checks.h"

#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "engine/error.h"

namespace gf::cli {

void check_cfg_resolution(const std::string& cfg, const std::string& widths, int widest, const std::string& data,
                          int resolution) {
  if (resolution <= widest) return;
  const std::string size = std::to_string(resolution) + "x" + std::to_string(resolution);
  throw Error("--cfg " + cfg + ": its networks' widths (" + widths + ") give no channels above " + std::to_string(widest) +
              "x" + std::to_string(widest) + ", but " + data + "'s images are " + size +
              ": choose a --cfg made for " + size + ", or smaller images (dataset_tool --width and --height)");
}

namespace {

// Whether a flag's text and a kept value mean the same setting.
bool same_setting(const std::string& given, const std::string& kept) {
  auto number = [](const std::string& text, double& v) {  // as the flags read it (" 8", "1_000")
    const std::optional<std::string> t = python_numeral(text);
    if (!t || t->empty()) return false;
    char* end = nullptr;
    v = std::strtod(t->c_str(), &end);
    return end == t->c_str() + t->size();
  };
  auto boolean = [](const std::string& t, bool& b) {
    try {
      b = parse_bool(t, "");
      return true;
    } catch (const Error&) {
      return false;
    }
  };
  double a = 0, b = 0;
  if (number(given, a) && number(kept, b)) return a == b;
  bool x = false, y = false;
  if (boolean(given, x) && boolean(kept, y)) return x == y;
  return given == kept;
}

}  // namespace

void check_resume_point(const Args& args, const std::string& resume_path, bool from_checkpoint) {
  for (const char* flag : {"resume-kimg", "resume-time"}) {
    if (!args.has(flag)) continue;
    const std::string name = std::string("--") + flag;
    if (!args.has("resume")) throw Error(name + " needs --resume (the networks whose training it continues)");
    if (from_checkpoint)
      throw Error(name + " applies to --resume of networks; " + resume_path + " is a checkpoint, which resumes at its own " +
                  (std::string(flag) == "resume-kimg" ? "kimg" : "time (its earlier ticks, carried into report.html)"));
  }
}

Flag resume_time_flag(const std::string& scope) {
  return number("resume-time", "SEC", "",
                scope + "with --resume of networks: the seconds the time column starts from, as the official resume_time (default 0)",
                Range::at_least(0, 1e12));
}

void check_kept_on_resume(const Args& args, const std::string& path, const std::vector<KeptValue>& kept) {
  for (const KeptValue& k : kept) {
    if (!args.has(k.flag)) continue;
    if (args.is_switch(k.flag)) {  // "leave it out, or give false" is no advice for a switch
      const bool on = args.flag(k.flag);
      if (on != (k.value == "true"))
        throw Error("--" + k.flag + " differs from the run resumed from " + path + ", which trained " +
                    (on ? "without" : "with") + " it: a resumed checkpoint keeps its settings (leave --" + k.flag + " out)");
      continue;
    }
    const std::string given = args.str(k.flag);
    if (!same_setting(given, k.value))
      throw Error("--" + k.flag + " " + given + " differs from the run resumed from " + path + ", which has " + k.value +
                  ": a resumed checkpoint keeps its settings (leave --" + k.flag + " out, or give " + k.value + ")");
  }
}

double lod_flag(const Args& args, int resolution, double stored, const std::string& path) {
  if (!args.has("lod")) return stored;
  const double lod = args.number("lod");
  int top = 0;  // log2(resolution) - 2
  while ((4 << top) < resolution) ++top;
  if (lod > top)
    throw Error("--lod " + args.str("lod") + " is outside [0, " + std::to_string(top) + "], the levels of " + path +
                " (0: " + std::to_string(resolution) + "x" + std::to_string(resolution) + ", " + std::to_string(top) +
                ": 4x4)");
  return lod;
}

}  // namespace gf::cli
