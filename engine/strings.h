// Small string helpers the C++17 standard library lacks, and the text the
// programs' lines share: a count with its noun, a message as one line.
#pragma once
#include <cstddef>
#include <string>

namespace gf {

// Whether `s` ends with `tail` (std::string::ends_with is C++20).
inline bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// A count and its noun, singular for one only: count_text(1, "image") is
// "1 image", count_text(3, "image") is "3 images", count_text(2, "pass") is
// "2 passes", count_text(2, "entry") is "2 entries". Regular English plurals only.
std::string count_text(long long n, const std::string& noun);

// An error message as one line of at most max_chars bytes of UTF-8: control
// characters (a newline in a zip entry's name, a JSON key, a header quoted
// from a file; C1 controls too) written as \n, \r, \t or \xNN, bytes that
// are no UTF-8 (a Latin-1 name) as \xNN, and a longer message cut with
// "..." between characters. Every "<program>: error:" line goes through it.
std::string one_line(const std::string& message, size_t max_chars = 4096);

// A number as printf's %g writes it (6 significant digits; "inf", "nan"): as
// Python's f'{v:g}' (but for a negative NaN: "-nan" here) and an ostream's
// default. The official run names and log lines print their settings so.
std::string g_format(double v);

}  // namespace gf
