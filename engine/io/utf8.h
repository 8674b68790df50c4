// UTF-8 by code point: the one encoder and the strict decoder that the
// readers share (JSON text in UTF-16/32, zip names in code page 437, file
// names compared as Python compares them).
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace gf::io {

// Appends code point c (at most U+10FFFF) as UTF-8.
inline void append_utf8(std::string& out, uint32_t c) {
  if (c < 0x80) {
    out += char(c);
  } else if (c < 0x800) {
    out += char(0xC0 | (c >> 6));
    out += char(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += char(0xE0 | (c >> 12));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  } else {
    out += char(0xF0 | (c >> 18));
    out += char(0x80 | ((c >> 12) & 0x3F));
    out += char(0x80 | ((c >> 6) & 0x3F));
    out += char(0x80 | (c & 0x3F));
  }
}

// U+0080..U+009F: controls, no text (a terminal may act on them).
inline bool is_c1_control(uint32_t cp) { return cp >= 0x80 && cp <= 0x9F; }

// The code point at s[i] when a well-formed sequence starts there, as
// Python's strict UTF-8 decoder reads it (no overlong form, no surrogate,
// nothing past U+10FFFF), advancing i past it; nullopt (i unchanged) when
// none does.
inline std::optional<uint32_t> next_utf8(const std::string& s, size_t& i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t b0 = byte(i);
  if (b0 < 0x80) return ++i, uint32_t(b0);
  int len = 0;
  uint32_t cp = 0, min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F, min = 0x80;
  else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F, min = 0x800;
  else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07, min = 0x10000;
  if (len == 0 || i + size_t(len) > s.size()) return std::nullopt;
  for (int k = 1; k < len; ++k) {
    const uint8_t b = byte(i + size_t(k));
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  i += size_t(len);
  return cp;
}

}  // namespace gf::io
