// Command-line flags in the StyleGAN style: --name=value or --name value,
// bare --flag for booleans, --help. The one place where every program's
// flags are parsed and checked: unknown flags, missing or empty values, and
// numbers that are not decimal, not finite or outside their declared range end the
// program with one line on stderr naming the flag and what it accepts (see
// run_main, train/run_main.h), before the program does anything.
//
// Declaring flags (the list passed to Args):
//   {"outdir", "DIR", "runs", "where to write"}         text, any string but "" ("" default: none)
//   {"mirror", "", "", "add x-flips"}                    a switch (no value name)
//   cli::integer("snap", "TICKS", "50", "...", 0, cli::kIntMax)
//                                                        a whole number in [lo, hi]
//   cli::number("gamma", "G", "", "...", cli::Range::at_least(0))
//   cli::number("tick", "KIMG", "4", "...", cli::Range::above(0, 1e9))
//                                                        a finite number in [lo, hi] or (lo, hi]
//   cli::integer_list("seeds", "LIST", "0-7", "...", 0, cli::kSeedMax, 1000000)
//                                                        "0-3,7": whole numbers in [lo, hi], at most N
//   cli::device("device", "cpu", "where to run")        cpu, cuda or cuda:N, present in this build and machine
// Read them with flag(), str(), integer(), number(), integers(), device(); reading a
// flag as a kind it was not declared as throws (a programming error), so a
// number cannot reach a program unchecked. --help shows each range. A range
// should be what the program can really take: the type's limit, the
// official code's limit (seeds are numpy's [0, 2^32-1]) or a stated size cap.
#pragma once
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/device.h"
#include "engine/strings.h"

namespace gf::cli {

inline constexpr long long kIntMax = std::numeric_limits<int>::max();
inline constexpr long long kInt64Max = std::numeric_limits<long long>::max();
inline constexpr long long kSeedMax = 4294967295LL;  // 2^32 - 1: the official code seeds numpy's RandomState

// The values a number flag takes: [lo, hi], or (lo, hi] when lo_open; always finite.
struct Range {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  static Range any() { return {}; }
  static Range at_least(double lo, double hi = std::numeric_limits<double>::infinity()) { return {lo, hi, false}; }
  static Range above(double lo, double hi = std::numeric_limits<double>::infinity()) { return {lo, hi, true}; }
  bool contains(double v) const;
  std::string str() const;  // "in [0, 1000000000]", "in (0, 1000000000]", ">= 0", "> 0", "" (any finite)
};

enum class Kind { text, toggle, integer, number, integer_list, device, not_here };

struct Flag {
  // {name, value_name, default_value, help}: text, or a switch without a value name.
  Flag(std::string name_, std::string value_name_, std::string default_value_, std::string help_)
      : name(std::move(name_)), value_name(std::move(value_name_)), default_value(std::move(default_value_)),
        help(std::move(help_)) {}
  std::string name;          // without the dashes
  std::string value_name;    // "" for a boolean switch
  std::string default_value; // shown in --help; "" means no default
  std::string help;
  // Set by the helpers below.
  Kind kind = Kind::text;
  Range range;                   // number
  long long lo = 0, hi = 0;      // integer, integer_list
  size_t max_count = 0;          // integer_list
  // text: whether "" may be given. Off for every flag today: an empty value
  // ("$VAR" unset) is refused in one line ("--data is empty; give a path"),
  // as the value was read as "not given" or as "/" before.
  bool may_be_empty = false;
  // An official script's one-letter form ('n': train.py's -n for --dry-run); 0: none.
  char short_name = 0;
  // A switch (or a not_here flag) that is a click option of type=bool in the
  // official script (train.py's --mirror, --cond, --fp32): it also takes its
  // word after a space ("--mirror 1", "--fp32 false"), as click does.
  bool takes_word = false;
  Kind kind_of() const { return kind == Kind::text && value_name.empty() ? Kind::toggle : kind; }
  std::string accepts() const;   // "an integer in [0, 4294967295]", ... ("" for text and switches)
};

Flag integer(std::string name, std::string value_name, std::string default_value, std::string help, long long lo,
             long long hi);
Flag number(std::string name, std::string value_name, std::string default_value, std::string help, Range range);
Flag integer_list(std::string name, std::string value_name, std::string default_value, std::string help,
                  long long lo, long long hi, size_t max_count);
Flag device(std::string name, std::string default_value, std::string help);
// An official program's flag that has no counterpart here (train.py's
// --workers, --subset): given, it is refused with "--<name> <why>" instead of
// "unknown option", so a command copied from the official README says what
// to do. Not listed by --help.
Flag not_here(std::string name, std::string why);
// `flag` also given as -<letter>, as the official script takes it.
Flag with_short_name(char letter, Flag flag);
// `flag` as a click option of type=bool (Flag::takes_word). On a not_here
// flag, its off value (the official default) is then taken and ignored:
// train.py's --fp32=0 asks for nothing this program lacks.
Flag click_bool(Flag flag);

class Args {
 public:
  // Throws gf::Error on an unknown flag, a missing value or a value outside
  // its declaration. Returns with help() true when --help was given.
  Args(int argc, char** argv, std::string program, std::string summary, std::vector<Flag> flags);

  bool help() const { return help_; }
  std::string usage() const;

  bool has(const std::string& name) const;  // given on the command line
  bool flag(const std::string& name) const;  // boolean switch
  bool is_switch(const std::string& name) const;  // declared without a value
  std::string str(const std::string& name) const;  // value or default
  std::optional<std::string> opt(const std::string& name) const;
  long long integer(const std::string& name) const;             // declared with cli::integer
  double number(const std::string& name) const;                 // declared with cli::number
  std::vector<long long> integers(const std::string& name) const;  // declared with cli::integer_list
  Device device(const std::string& name) const;                 // declared with cli::device
  // Every declared flag's name (without dashes) and value, given or by
  // default ("" when neither), in declaration order, so that two command
  // lines that mean the same compare equal: numbers and integers as parsed
  // (--gamma 10 and --gamma 10.0 alike), switches "true" or "false".
  std::vector<std::pair<std::string, std::string>> values() const;

 private:
  const Flag& find(const std::string& name) const;
  const Flag& find(const std::string& name, Kind kind) const;
  std::string value(const Flag& f) const;  // given or default; throws when neither
  std::string program_, summary_;
  std::vector<Flag> flags_;
  std::map<std::string, std::string> given_;
  bool help_ = false;
};

// The checks Args applies, for values that arrive inside another syntax
// (generate's --grid WxH). `flag` is named in the error, without dashes.
long long parse_integer(const std::string& text, const std::string& flag, long long lo, long long hi);
double parse_number(const std::string& text, const std::string& flag, Range range);
// A boolean value as click's type=bool takes it (an official --save-video
// true): 1/0, true/false, t/f, yes/no, y/n, on/off, any case.
bool parse_bool(const std::string& text, const std::string& flag);
// A number's text as Python's int() and float() take it (click's INT and
// FLOAT call them on the official scripts' flags): spaces around it, and
// single underscores between digits ("1_000"); nullopt for an underscore
// anywhere else, which Python refuses.
std::optional<std::string> python_numeral(const std::string& text);
// --data-from-files (DatasetOptions::from_files, data/dataset.h).
Flag data_from_files_flag();
// A double as text that reads back to the same double ("0.002", "10"); a
// whole one below 1e15 in full ("1000000", where %g wrote "1e+06"), as
// Python writes an int (train.py's kimg).
std::string number_text(double v);
// "cpu", "cuda", "cuda:N" (gf::Device::parse), refused unless this build and
// machine can serve it.
Device parse_device(const std::string& text, const std::string& flag);
// "0-3,7,10-11" -> {0,1,2,3,7,10,11} (the official --seeds syntax).
std::vector<long long> parse_integer_list(const std::string& text, const std::string& flag, long long lo,
                                          long long hi, size_t max_count);

// The old unbounded form, kept so code from before ranges compiles: integers
// in [0, 2^63-1], at most a million. Declare cli::integer_list flags instead.
std::vector<long long> parse_range_list(const std::string& text, const std::string& flag);

// count_text and one_line (engine/strings.h) as the programs have always
// called them.
using gf::count_text;
using gf::one_line;

}  // namespace gf::cli
