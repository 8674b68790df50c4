// Command-line flags in the StyleGAN style: --name=value or --name value,
// bare --flag for booleans, --help. The one place where every program's
// flags are parsed and checked: unknown flags, missing or empty values, and
// numbers that are not decimal, not finite or outside their declared range end the
// program with one line on stderr naming the flag and what it accepts (see
// run_main), before the program does anything.
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
#include <functional>
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
// --resume of a checkpoint: the settings its run fixed. Each flag in `kept`
// may be given again only with the run's own value (the same number, the
// same boolean, or the same text; a switch given is "true"), so the first
// run's command plus --resume works; another value throws one line naming
// both and the checkpoint `path`. `value` is the setting as the flag would
// be written (number_text for a double).
struct KeptValue {
  std::string flag, value;
};
void check_kept_on_resume(const Args& args, const std::string& path, const std::vector<KeptValue>& kept);
// --resume-kimg and --resume-time (the official TensorFlow trainers'
// resume_kimg and resume_time) set where a resumed pickle or snapshot
// continues the schedule and the time column: they need --resume, and a
// checkpoint (from_checkpoint) resumes at its own count (and report.html adds
// its earlier ticks' time), so both are refused.
void check_resume_point(const Args& args, const std::string& resume_path, bool from_checkpoint);
// The --resume-time SEC flag (at most 1e12 s); `scope` leads its help
// ("--arch stylegan, ") where only part of a program takes it.
Flag resume_time_flag(const std::string& scope = "");
// --data-from-files (DatasetOptions::from_files, data/dataset.h).
Flag data_from_files_flag();
// A double as text that reads back to the same double ("0.002", "10"); a
// whole one below 1e15 in full ("1000000", where %g wrote "1e+06"), as
// Python writes an int (train.py's kimg).
std::string number_text(double v);
// A fresh run's --cfg against its data: `widest` is the highest resolution
// at which the cfg's network widths (`widths`, as "channel_base 128") still
// give a channel. Larger images throw one line naming --cfg, the widths, the
// data and what to do; the networks' own check named neither flag nor data.
void check_cfg_resolution(const std::string& cfg, const std::string& widths, int widest, const std::string& data,
                          int resolution);
// "cpu", "cuda", "cuda:N" (gf::Device::parse), refused unless this build and
// machine can serve it.
Device parse_device(const std::string& text, const std::string& flag);
// "0-3,7,10-11" -> {0,1,2,3,7,10,11} (the official --seeds syntax).
std::vector<long long> parse_integer_list(const std::string& text, const std::string& flag, long long lo,
                                          long long hi, size_t max_count);

// The old unbounded form, kept so code from before ranges compiles: integers
// in [0, 2^63-1], at most a million. Declare cli::integer_list flags instead.
std::vector<long long> parse_range_list(const std::string& text, const std::string& flag);

// --lod of a PGGAN or StyleGAN (v1) network of `resolution` (`path`): its
// levels are [0, log2(resolution) - 2] (0 the full resolution, the last 4x4),
// and the networks take a lod past them as the nearest level, so
// `generate --lod 25` gave the --lod 3 images. A --lod past the network's
// levels throws "--lod 25 is outside [0, 3], the levels of <path> (0: 32x32,
// 3: 4x4)"; without --lod, `stored` (the network's own lod).
double lod_flag(const Args& args, int resolution, double stored, const std::string& path);

// Refuses an output that would replace one of the program's inputs (the same
// file by any path or link: `generate --raw net.bin --network net.bin` wrote
// images over the network): throws gf::Error "<what> <path> is the --<flag>
// file; choose another name" for the first given flag of `inputs` that names
// the same file as `path`. `what` names the output ("--raw", "--outdir out:
// latents.npy").
void check_not_input(const Args& args, const std::string& what, const std::string& path,
                     const std::vector<std::string>& inputs);

// The checks of an output file flag (--raw, --out), made before any work:
// the path is not empty and not a folder ("--out out/: a folder; give a file
// name"), it is none of the inputs (check_not_input), and its folder can be
// made (io::check_parent_folder: a file in the way fails here, before the
// inputs are read). Nothing is made: the program makes the folder right
// before it writes the file (io::create_parent_folder), as it does its
// --outdir, so that a run refused later leaves no new folder. When the file
// is the process's standard output (/dev/stdout, a pipe, the file stdout
// was redirected to; not a device), std::cout goes to standard error from
// here on, so that the program's lines stay out of the data.
void check_output_file(const Args& args, const std::string& flag, const std::vector<std::string>& inputs);
// Refuses an output file flag (generate's and psp's --raw) that names one of
// the files the program writes under --outdir (`outputs`: names in that
// folder), which would replace it or share its temporary; links and "./"
// resolved, an --outdir not made yet included.
void check_not_an_output(const Args& args, const std::string& flag, const std::vector<std::string>& outputs);

// Refuses a folder the program writes into (dir: its --outdir, or a folder
// under it) that is, or lies inside, a folder input named by one of `inputs`
// (psp's --images, the trainers' --data): such an input is read whole, every
// subfolder included, so outputs there replace inputs or join them
// (`psp encode --images photos --outdir photos` wrote
// photos/inference_results/, among the images). Compared after resolving
// links, before any work; an input that is a file or absent is left to the
// other checks. Throws gf::Error "<what> <dir> is inside the --<flag> folder
// <input> ..." ("is the --<flag> folder" for the folder itself).
void check_not_in_input_folder(const Args& args, const std::string& what, const std::string& dir,
                               const std::vector<std::string>& inputs);

// check_not_in_input_folder for each folder output among `outputs` (flag
// names: a trainer's "outdir", "record-draws") that has a value, given or by
// default, against the folder inputs among `inputs` ("data"): a trainer's
// run folder and draw logs would join its dataset. <what> is "--<flag>".
void check_output_folders(const Args& args, const std::vector<std::string>& outputs,
                          const std::vector<std::string>& inputs);

// Runs body and turns any exception into "<program>: error: <what>" on
// stderr and exit code 1, the line also recorded in the run folder of a
// training run (record_run_stopped, train/run_dir.h); an Interrupted
// (train/stop_signal.h) ends the process by its signal after that, so the
// exit status stays 130/143. --help exits 0 from inside body via Args.
int run_main(const char* program, const std::function<int()>& body);

// count_text and one_line (engine/strings.h) as the programs have always
// called them.
using gf::count_text;
using gf::one_line;

}  // namespace gf::cli
