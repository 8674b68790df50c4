// Command-line flags in the StyleGAN style: --name=value or --name value,
// bare --flag for booleans, --help. Unknown flags, missing values and bad
// numbers end the program with one line on stderr (see run_main).
#pragma once
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gf::cli {

struct Flag {
  std::string name;          // without the dashes
  std::string value_name;    // "" for a boolean switch
  std::string default_value; // shown in --help; "" means no default
  std::string help;
};

class Args {
 public:
  // Throws gf::Error on an unknown flag or a missing value. Returns with
  // help() true when --help was given.
  Args(int argc, char** argv, std::string program, std::string summary, std::vector<Flag> flags);

  bool help() const { return help_; }
  std::string usage() const;

  bool has(const std::string& name) const;  // given on the command line
  bool flag(const std::string& name) const;  // boolean switch
  std::string str(const std::string& name) const;  // value or default
  std::optional<std::string> opt(const std::string& name) const;
  long long integer(const std::string& name) const;
  double number(const std::string& name) const;

 private:
  const Flag& find(const std::string& name) const;
  std::string program_, summary_;
  std::vector<Flag> flags_;
  std::map<std::string, std::string> given_;
  bool help_ = false;
};

// "0-3,7,10-11" -> {0,1,2,3,7,10,11} (the official --seeds syntax).
std::vector<long long> parse_range_list(const std::string& s, const std::string& flag);

// Runs body and turns any exception into "<program>: error: <what>" on
// stderr and exit code 1; --help exits 0 from inside body via Args.
int run_main(const char* program, const std::function<int()>& body);

}  // namespace gf::cli
