// The benchmarks' flag values, read strictly: std::atoi took "4x" as 4,
// "abc" as 0 and -1 as -1 (a negative time came out). A bad value is one
// line on stderr naming the flag and its range (cli::parse_integer's words),
// and exit status 2, as for an unknown flag.
#pragma once
#include <cstdio>
#include <cstdlib>

#include "engine/error.h"
#include "train/cli.h"

namespace gf::bench {

// read()'s value, or its gf::Error as the one line and exit 2.
template <class Read>
auto value_or_exit(const char* program, Read read) {
  try {
    return read();
  } catch (const Error& e) {
    std::fprintf(stderr, "%s: error: %s\n", program, e.what());
    std::exit(2);
  }
}

inline int int_flag(const char* program, const char* flag, const char* text, long long lo, long long hi) {
  return value_or_exit(program, [&] { return static_cast<int>(cli::parse_integer(text, flag, lo, hi)); });
}

inline double number_flag(const char* program, const char* flag, const char* text, cli::Range range) {
  return value_or_exit(program, [&] { return cli::parse_number(text, flag, range); });
}

}  // namespace gf::bench
