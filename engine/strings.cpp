#include "engine/strings.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>

#include "engine/io/utf8.h"

namespace gf {

std::string g_format(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string count_text(long long n, const std::string& noun) {
  if (n == 1) return "1 " + noun;
  const auto ends = [&](const char* tail) { return ends_with(noun, tail); };
  if (ends("y") && noun.size() >= 2 && std::strchr("aeiou", noun[noun.size() - 2]) == nullptr)
    return std::to_string(n) + " " + noun.substr(0, noun.size() - 1) + "ies";  // entry -> entries
  return std::to_string(n) + " " + noun + (ends("s") || ends("x") || ends("ch") || ends("sh") ? "es" : "s");
}

std::string one_line(const std::string& message, size_t max_chars) {
  std::string out;
  const auto hex = [&out](unsigned v) {
    char b[8];
    std::snprintf(b, sizeof b, "\\x%02x", v);
    out += b;
  };
  const size_t room = max_chars > 3 ? max_chars - 3 : 0;  // before "..."
  size_t cut = 0;  // the longest output within room that ends between units (never inside a character or escape)
  for (size_t i = 0; i < message.size();) {
    if (out.size() <= room) cut = out.size();
    const size_t at = i;
    const std::optional<uint32_t> cp = io::next_utf8(message, i);
    if (!cp) {
      hex(static_cast<unsigned char>(message[i++]));  // no UTF-8 (a Latin-1 name quoted from a file)
    } else if (*cp == '\n') {
      out += "\\n";
    } else if (*cp == '\r') {
      out += "\\r";
    } else if (*cp == '\t') {
      out += "\\t";
    } else if (*cp < 0x20 || *cp == 0x7f || io::is_c1_control(*cp)) {  // C0, DEL and C1 controls
      hex(*cp);
    } else {
      out.append(message, at, i - at);
    }
    if (out.size() > max_chars) {
      out.resize(cut);
      return out + "...";
    }
  }
  return out;
}

}  // namespace gf
