#include "data/python_int.h"

#include <limits>

namespace gf {

std::optional<int64_t> python_int(const std::string& text) {
  auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  size_t at = 0, end = text.size();
  while (at < end && space(text[at])) ++at;
  while (end > at && space(text[end - 1])) --end;
  const bool negative = at < end && text[at] == '-';
  if (at < end && (text[at] == '+' || text[at] == '-')) ++at;
  if (at == end) return std::nullopt;
  // Accumulated negative, which reaches int64's minimum too.
  int64_t v = 0;
  bool digit_before = false;
  for (; at < end; ++at) {
    const char c = text[at];
    if (c >= '0' && c <= '9') {
      const int d = c - '0';
      if (v < (std::numeric_limits<int64_t>::min() + d) / 10) return std::nullopt;
      v = v * 10 - d;
      digit_before = true;
    } else if (c == '_' && digit_before && at + 1 < end) {
      digit_before = false;
    } else {
      return std::nullopt;
    }
  }
  if (!digit_before) return std::nullopt;
  if (negative) return v;
  if (v == std::numeric_limits<int64_t>::min()) return std::nullopt;
  return -v;
}

}  // namespace gf
