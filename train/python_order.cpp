#include "train/python_order.h"

#include <cstdint>

namespace gf {
namespace {

// The code point starting at s[i] (advancing i past it), as Python's UTF-8
// decoder reads it: a well-formed sequence (no overlong form, no surrogate,
// at most U+10FFFF), else the one byte, escaped to U+DC80..U+DCFF.
uint32_t next_code_point(const std::string& s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return ++i, b0;
  int len = 0;
  uint32_t cp = 0, min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07, min = 0x10000;
  bool ok = len > 0 && i + size_t(len) <= s.size();
  for (int k = 1; ok && k < len; ++k) {
    const uint8_t b = byte(i + size_t(k));
    ok = (b & 0xC0) == 0x80;
    cp = (cp << 6) | (b & 0x3F);
  }
  ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
  if (!ok) return ++i, 0xDC00u + b0;  // surrogateescape: this byte alone
  i += size_t(len);
  return cp;
}

}  // namespace

bool python_utf8_valid(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const uint8_t b = static_cast<uint8_t>(s[i]);
    const uint32_t cp = next_code_point(s, i);
    if (cp >= 0xDC80 && cp <= 0xDCFF && b >= 0x80) return false;  // a byte escaped: no UTF-8
  }
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
