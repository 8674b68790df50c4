#include "train/cli.h"

#include <algorithm>
#include <optional>
#include <vector>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "engine/error.h"
#include "data/python_int.h"

namespace gf::cli {
namespace {

// Bounds as a user types them: whole numbers without an exponent.
std::string show(double v) {
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::ostringstream os;
  os.precision(15);
  os << v;
  return os.str();
}

[[noreturn]] void refuse(const std::string& flag, const std::string& accepts, const std::string& text) {
  throw Error("--" + flag + " expects " + accepts + ", got '" + text + "'");
}

const char* const kDeviceAccepts = "cpu, cuda or cuda:N";

std::string integer_accepts(long long lo, long long hi) {
  return "an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
}

std::string list_accepts(long long lo, long long hi, size_t max_count) {
  return "a list like 0-3,7 of at most " + std::to_string(max_count) + " integers in [" + std::to_string(lo) + ", " +
         std::to_string(hi) + "]";
}

std::string number_accepts(const Range& r) {
  const std::string s = r.str();
  return s.empty() ? "a finite number" : s.rfind("in ", 0) == 0 ? "a number " + s : "a finite number " + s;
}

// [+-] digits [. digits] [e [+-] digits], with a digit before or after the point.
bool is_decimal(const std::string& t) {
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    return i - from;
  };
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
  size_t mantissa = digits();
  if (i < t.size() && t[i] == '.') {
    ++i;
    mantissa += digits();
  }
  if (mantissa == 0) return false;
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == t.size();
}

// Whether text is one of click's BOOL words (parse_bool).
bool bool_word(const std::string& text) {
  try {
    parse_bool(text, "");
    return true;
  } catch (const Error&) {
    return false;
  }
}

// What an empty text value lacks, from the flag's value name: "a file name"
// (FILE, G.bin, FILE.npy), "a folder" (DIR), "a path" (PATH, PATHS), else
// "a value (NAME)".
std::string empty_hint(const std::string& value_name) {
  if (value_name.rfind("FILE", 0) == 0 || value_name.find('.') != std::string::npos) return "a file name";
  if (value_name == "DIR") return "a folder";
  if (value_name.rfind("PATH", 0) == 0) return "a path";
  return "a value (" + value_name + ")";
}

void check_value(const Flag& f, const std::string& v) {
  switch (f.kind_of()) {
    case Kind::integer: parse_integer(v, f.name, f.lo, f.hi); break;
    case Kind::number: parse_number(v, f.name, f.range); break;
    case Kind::integer_list: parse_integer_list(v, f.name, f.lo, f.hi, f.max_count); break;
    case Kind::device: parse_device(v, f.name); break;
    case Kind::toggle:
      if (!bool_word(v))
        throw Error("--" + f.name + " is a switch: give it alone, or as --" + f.name + "=true or =false (1 or 0), got '" + v +
                    "'");
      break;
    case Kind::text:
      // An empty value is an unset "$VAR", never a choice: read as "not
      // given" it trained on Fashion-MNIST (--data "") or wrote to /
      // (--outdir ""). A flag that takes "" declares it (Flag::may_be_empty).
      if (v.empty() && !f.may_be_empty) throw Error("--" + f.name + " is empty; give " + empty_hint(f.value_name));
      break;
    case Kind::not_here: throw Error("--" + f.name + " " + f.help);
  }
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::text: return "text";
    case Kind::toggle: return "a switch";
    case Kind::integer: return "cli::integer";
    case Kind::number: return "cli::number";
    case Kind::integer_list: return "cli::integer_list";
    case Kind::device: return "cli::device";
    case Kind::not_here: return "cli::not_here";
  }
  return "?";
}

}  // namespace

std::optional<std::string> python_numeral(const std::string& text) {
  const char* const kSpace = " \t\n\r\f\v";
  const size_t first = text.find_first_not_of(kSpace), last = text.find_last_not_of(kSpace);
  if (first == std::string::npos) return std::string();
  const std::string t = text.substr(first, last - first + 1);
  auto digit = [&](size_t i) { return i < t.size() && t[i] >= '0' && t[i] <= '9'; };
  std::string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] != '_') {
      out += t[i];
    } else if (i == 0 || !digit(i - 1) || !digit(i + 1)) {
      return std::nullopt;
    }
  }
  return out;
}

bool Range::contains(double v) const {
  return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && v <= hi;
}

std::string Range::str() const {
  const bool has_lo = std::isfinite(lo), has_hi = std::isfinite(hi);
  if (has_lo && has_hi) return "in " + std::string(lo_open ? "(" : "[") + show(lo) + ", " + show(hi) + "]";
  if (has_lo) return (lo_open ? "> " : ">= ") + show(lo);
  if (has_hi) return "<= " + show(hi);
  return "";
}

std::string Flag::accepts() const {
  switch (kind_of()) {
    case Kind::integer: return integer_accepts(lo, hi);
    case Kind::number: return number_accepts(range);
    case Kind::integer_list: return list_accepts(lo, hi, max_count);
    case Kind::device: return kDeviceAccepts;
    default: return "";
  }
}

Flag integer(std::string name, std::string value_name, std::string default_value, std::string help, long long lo,
             long long hi) {
  Flag f{std::move(name), std::move(value_name), std::move(default_value), std::move(help)};
  f.kind = Kind::integer;
  f.lo = lo;
  f.hi = hi;
  return f;
}

Flag number(std::string name, std::string value_name, std::string default_value, std::string help, Range range) {
  Flag f{std::move(name), std::move(value_name), std::move(default_value), std::move(help)};
  f.kind = Kind::number;
  f.range = range;
  return f;
}

Flag integer_list(std::string name, std::string value_name, std::string default_value, std::string help, long long lo,
                  long long hi, size_t max_count) {
  Flag f{std::move(name), std::move(value_name), std::move(default_value), std::move(help)};
  f.kind = Kind::integer_list;
  f.lo = lo;
  f.hi = hi;
  f.max_count = max_count;
  return f;
}

Flag not_here(std::string name, std::string why) {
  Flag f(std::move(name), "X", "", std::move(why));
  f.kind = Kind::not_here;
  return f;
}

Flag with_short_name(char letter, Flag flag) {
  flag.short_name = letter;
  return flag;
}

Flag click_bool(Flag flag) {
  flag.takes_word = true;
  return flag;
}

Flag device(std::string name, std::string default_value, std::string help) {
  Flag f{std::move(name), "DEVICE", std::move(default_value), std::move(help)};
  f.kind = Kind::device;
  return f;
}

bool parse_bool(const std::string& text, const std::string& flag) {
  // click's BoolParamType: the word stripped of spaces, in any case.
  const size_t first = text.find_first_not_of(" \t\n\r\f\v"), last = text.find_last_not_of(" \t\n\r\f\v");
  std::string v = first == std::string::npos ? "" : text.substr(first, last - first + 1);
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (v == "1" || v == "true" || v == "t" || v == "yes" || v == "y" || v == "on") return true;
  if (v == "0" || v == "false" || v == "f" || v == "no" || v == "n" || v == "off") return false;
  throw Error("--" + flag + " expects true or false, got '" + text + "'");
}

std::string number_text(double v) {
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int digits = 6; digits <= 17; ++digits) {  // the shortest that reads back
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

Flag data_from_files_flag() {
  return {"data-from-files", "", "",
          "hold no decoded images: decode each from its file when a minibatch or a metric's pass takes it, as the "
          "official loader "
          "(same pixels, slower; the default for data whose pixels do not fit in memory)"};
}

Device parse_device(const std::string& text, const std::string& flag) {
  Device d;
  try {
    d = Device::parse(text);
  } catch (const Error&) {
    refuse(flag, kDeviceAccepts, text);
  }
  const std::string why = device_unusable_reason(d);
  if (!why.empty()) throw Error("--" + flag + " " + d.str() + ": " + why);
  return d;
}

long long parse_integer(const std::string& text, const std::string& flag, long long lo, long long hi) {
  // As Python's int(): "+8", " 8 " and "1_000" too (--batch +8 was refused).
  const std::optional<long long> v = python_int(text);
  if (!v || *v < lo || *v > hi) refuse(flag, integer_accepts(lo, hi), text);
  return *v;
}

double parse_number(const std::string& text, const std::string& flag, Range range) {
  // Decimal text only (1e-3, .5, +2, -0.25; spaces around it and
  // underscores between digits as Python's float() takes them): strtod
  // alone also took C's hex floats and integers (--kimg 0x1p-7 trained
  // 0.0078125 kimg, 0x10 16), and nan and inf, which no flag documents.
  const std::optional<std::string> t = python_numeral(text);
  if (!t || !is_decimal(*t)) refuse(flag, number_accepts(range), text);
  errno = 0;
  const double v = std::strtod(t->c_str(), nullptr);
  // Beyond a double (1e-400 read as 0, 1e400 as inf): not the number typed.
  // (glibc also sets ERANGE for a subnormal result, which a double holds.)
  if (errno == ERANGE && (v == 0 || std::isinf(v)))
    throw Error("--" + flag + " " + text + " is " + (std::fabs(v) > 1 ? "too large" : "too close to 0") +
                " for a double (" + number_accepts(range) + ")");
  if (!range.contains(v)) refuse(flag, number_accepts(range), text);
  return v;
}

std::vector<long long> parse_integer_list(const std::string& text, const std::string& flag, long long lo, long long hi,
                                          size_t max_count) {
  std::vector<long long> out;
  auto bad = [&] { refuse(flag, list_accepts(lo, hi, max_count), text); };
  // Each number as Python's int() reads one (the official num_range splits at
  // commas and calls int): spaces around it and a leading '+' are fine. The
  // ranges are ganforge's reading: num_range takes one "a-b" of bare digits
  // as the whole value, and no range in a list.
  auto item = [&](const std::string& part_text) {
    const std::optional<long long> v = python_int(part_text);
    if (!v || *v < lo || *v > hi) bad();
    return *v;
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    const std::string part = text.substr(start, comma - start);
    // A range's dash is the first one after the first character (the first may be a minus sign).
    const size_t dash = part.find('-', 1);
    const long long a = item(part.substr(0, dash)), b = dash == std::string::npos ? a : item(part.substr(dash + 1));
    if (b < a) throw Error("--" + flag + ": range " + part + " runs backwards");
    if (static_cast<unsigned long long>(b) - static_cast<unsigned long long>(a) >= max_count - out.size()) bad();
    for (long long v = a; v <= b; ++v) out.push_back(v);
    start = comma + 1;
  }
  return out;
}

std::vector<long long> parse_range_list(const std::string& text, const std::string& flag) {
  return parse_integer_list(text, flag, 0, kInt64Max, 1000000);
}

Args::Args(int argc, char** argv, std::string program, std::string summary, std::vector<Flag> flags)
    : program_(std::move(program)), summary_(std::move(summary)), flags_(std::move(flags)) {
  // A default outside its own declaration is the program's bug; say so before anything runs.
  for (const Flag& f : flags_)
    if (!f.default_value.empty() && f.kind_of() != Kind::toggle) {
      try {
        check_value(f, f.default_value);
      } catch (const Error& e) {
        throw Error("internal: the default of --" + f.name + " breaks its own declaration: " + e.what());
      }
    }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help_ = true;
      continue;
    }
    if (a.size() == 2 && a[0] == '-' && a[1] != '-') {  // an official one-letter form (a value is never read here)
      const auto it = std::find_if(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.short_name == a[1]; });
      if (it != flags_.end()) a = "--" + it->name;
    }
    if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "' (see --help)");
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    // The official scripts' argparse spelling (pSp's --max_steps,
    // --test_batch_size) for a flag declared with hyphens.
    const std::string spelled = name;
    if (name.find('_') != std::string::npos) {
      std::string hyphens = name;
      std::replace(hyphens.begin(), hyphens.end(), '_', '-');
      const bool declared = std::any_of(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == name; });
      if (!declared && std::any_of(flags_.begin(), flags_.end(), [&](const Flag& f) { return f.name == hyphens; }))
        name = hyphens;
    }
    const Flag& f = find(name);
    // A click type=bool flag's word may follow after a space.
    const bool word_follows = f.takes_word && !inline_value && i + 1 < argc && bool_word(argv[i + 1]);
    if (f.kind == Kind::not_here) {
      // The official default (off) of a switch this program lacks asks for nothing.
      if (f.takes_word && (inline_value || word_follows) && bool_word(inline_value ? value : argv[i + 1]) &&
          !parse_bool(inline_value ? value : argv[i + 1], name)) {
        if (word_follows) ++i;
        continue;
      }
      throw Error("--" + name + " " + f.help);
    }
    if (f.kind_of() == Kind::toggle) {
      if (spelled == name) {
        if (inline_value) check_value(f, value);
        const std::string word = inline_value ? value : word_follows ? argv[++i] : "true";
        given_[name] = parse_bool(word, name) ? "true" : "false";
        continue;
      }
      // The official spelling may come with a word, after it or after '=',
      // as pSp's argparse takes --train_decoder (type=bool): "True" (or 1) is
      // the switch on; any other word that argparse reads as true too
      // (bool("False")), so it is refused rather than read as off.
      std::string word = inline_value ? value : "";
      if (inline_value && word.empty()) {  // bool(""): the one word argparse reads as false
        given_[name] = "false";
        continue;
      }
      if (!inline_value && i + 1 < argc) {
        const std::string next = argv[i + 1];
        if (next == "True" || next == "true" || next == "False" || next == "false") word = next, ++i;
      }
      if ((inline_value || !word.empty()) && word != "True" && word != "true" && word != "1")
        throw Error("--" + spelled + (inline_value ? "=" : " ") + word + ": the official argparse reads any word given to it, '" +
                    word + "' too, as true (type=bool); here --" + name + " is a switch: leave it out to keep it off");
      given_[name] = "true";
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) throw Error("--" + name + " needs a value (" + f.value_name + ")");
      value = argv[++i];
    }
    check_value(f, value);
    given_[name] = value;
  }
}

const Flag& Args::find(const std::string& name) const {
  for (const Flag& f : flags_)
    if (f.name == name) return f;
  throw Error("unknown option --" + name + " (see --help)");
}

const Flag& Args::find(const std::string& name, Kind kind) const {
  const Flag& f = find(name);
  if (f.kind_of() != kind)
    throw Error(std::string("internal: --") + name + " is read as " + kind_name(kind) + " but declared as " +
                kind_name(f.kind_of()) + " (see train/cli.h)");
  return f;
}

std::string Args::usage() const {
  std::ostringstream os;
  os << "Usage: " << program_ << " [options]\n\n" << summary_ << "\n\nOptions:\n";
  for (const Flag& f : flags_) {
    if (f.kind == Kind::not_here) continue;
    // A click bool switch takes an optional word (--mirror, --mirror 1, --verbose false).
    const std::string value = !f.value_name.empty() ? " " + f.value_name : f.takes_word ? " [BOOL]" : "";
    std::string left = "  --" + f.name + value;
    os << left << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << f.help;
    if (!f.accepts().empty()) os << " (" << f.accepts() << ")";
    if (!f.default_value.empty()) os << " [default: " << f.default_value << "]";
    os << "\n";
  }
  os << "  --help                      show this message\n";
  return os.str();
}

bool Args::has(const std::string& name) const {
  find(name);
  return given_.count(name) > 0;
}

bool Args::is_switch(const std::string& name) const { return find(name).kind_of() == Kind::toggle; }

bool Args::flag(const std::string& name) const {
  const Flag& f = find(name, Kind::toggle);
  auto it = given_.find(name);
  const std::string v = it != given_.end() ? it->second : f.default_value;
  return v == "true" || v == "1";
}

std::optional<std::string> Args::opt(const std::string& name) const {
  const Flag& f = find(name);
  auto it = given_.find(name);
  if (it != given_.end()) return it->second;
  if (!f.default_value.empty()) return f.default_value;
  return std::nullopt;
}

std::string Args::str(const std::string& name) const { return opt(name).value_or(""); }

std::vector<std::pair<std::string, std::string>> Args::values() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Flag& f : flags_) {
    if (f.kind == Kind::not_here) continue;
    const std::optional<std::string> v = opt(f.name);
    std::string text = v.value_or("");
    if (f.kind_of() == Kind::toggle) {
      text = flag(f.name) ? "true" : "false";
    } else if (v && f.kind_of() == Kind::integer) {
      text = std::to_string(integer(f.name));
    } else if (v && f.kind_of() == Kind::number) {
      text = number_text(number(f.name));  // the shortest text of the double: "0.04", not 0.040000000000000001
    } else if (v && f.kind_of() == Kind::device) {
      text = Device::parse(*v).str();  // "cuda" and "cuda:0" alike
    } else if (v && f.kind_of() == Kind::integer_list) {
      text.clear();
      for (long long i : integers(f.name)) text += (text.empty() ? "" : ",") + std::to_string(i);
    }
    out.emplace_back(f.name, text);
  }
  return out;
}

std::string Args::value(const Flag& f) const {
  const std::optional<std::string> v = opt(f.name);
  if (!v) throw Error("internal: --" + f.name + " read without a value or a default (check has() first)");
  return *v;
}

long long Args::integer(const std::string& name) const {
  const Flag& f = find(name, Kind::integer);
  return parse_integer(value(f), f.name, f.lo, f.hi);
}

double Args::number(const std::string& name) const {
  const Flag& f = find(name, Kind::number);
  return parse_number(value(f), f.name, f.range);
}

std::vector<long long> Args::integers(const std::string& name) const {
  const Flag& f = find(name, Kind::integer_list);
  return parse_integer_list(value(f), f.name, f.lo, f.hi, f.max_count);
}

Device Args::device(const std::string& name) const {
  const Flag& f = find(name, Kind::device);
  return parse_device(value(f), f.name);
}

}  // namespace gf::cli
