#include "data/python_order.h"

#include <cstdint>
#include <optional>

#include "engine/io/utf8.h"

namespace gf {
namespace {

// The code point at s[i] as Python decodes a file name (advancing i past
// it): a well-formed UTF-8 sequence, else the one byte escaped to
// U+DC80..U+DCFF (surrogateescape).
uint32_t next_code_point(const std::string& s, size_t& i) {
  if (const std::optional<uint32_t> cp = io::next_utf8(s, i)) return *cp;
  return 0xDC00u + static_cast<uint8_t>(s[i++]);
}

}  // namespace

bool python_utf8_valid(const std::string& s) {
  for (size_t i = 0; i < s.size();)
    if (!io::next_utf8(s, i)) return false;
  return true;
}

bool python_name_less(const std::string& a, const std::string& b) {
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const uint32_t x = next_code_point(a, i), y = next_code_point(b, j);
    if (x != y) return x < y;
  }
  return i == a.size() && j < b.size();
}

}  // namespace gf
