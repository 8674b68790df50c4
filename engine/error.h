// One exception type for user-facing errors: mismatched shapes, dtypes,
// devices, bad arguments. The message names the op and the operands.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace gf {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string shape_str(const std::vector<int64_t>& s);

// Throws Error("<what>: <why>"), the one-line refusal of the file readers:
// `what` names the file or entry, `why` the fault.
[[noreturn]] inline void throw_error(const std::string& what, const std::string& why) { throw Error(what + ": " + why); }

// GF_CHECK(cond, "op", "message " << x): throws gf::Error("op: message x").
#define GF_CHECK(cond, op, msg)                          \
  do {                                                   \
    if (!(cond)) {                                       \
      std::ostringstream gf_os_;                         \
      gf_os_ << op << ": " << msg;                       \
      throw ::gf::Error(gf_os_.str());                   \
    }                                                    \
  } while (0)

}  // namespace gf
