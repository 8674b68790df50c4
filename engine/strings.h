// Small string helpers the C++17 standard library lacks.
#pragma once
#include <string>

namespace gf {

// Whether `s` ends with `tail` (std::string::ends_with is C++20).
inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace gf
