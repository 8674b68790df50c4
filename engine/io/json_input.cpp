#include "engine/io/json_input.h"

#include <cctype>
#include <cmath>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <set>
#include <vector>

#include "engine/error.h"
#include "engine/host_memory.h"
#include "engine/io/utf8.h"

namespace gf::io {
namespace {

struct TooDeep {};
struct RepeatedKey {
  std::string key;
};
struct TooLarge {
  uint64_t values, bytes, usable;
};

// What nlohmann's tree takes, allocations counted (malloc's 16 bytes
// each): a 16-byte value, twice over in an array that grew by doubling; a
// container's own map or vector; a string's heap object and characters; an
// object member's map node with its key. An estimate (within 2x of what 20M
// empty objects or 4M numbers measured) for refusing a tree that cannot fit:
// building it until an allocation fails ends the process (nlohmann's
// destructor allocates as it frees the half-built tree, and may not throw).
constexpr uint64_t kJsonValueBytes = 32, kJsonObjectBytes = 64, kJsonArrayBytes = 48, kJsonStringBytes = 48,
                   kJsonMemberBytes = 96;

// Walks the text's SAX events before any tree is built: a value deeper than
// kMaxJsonDepth throws TooDeep (so every later walk, dump and our
// converters, stays within the cap), and with unique_keys a key repeated in
// one object throws RepeatedKey (it would replace the first in silence).
// Linear in the text: the same checks as a parser callback made the DOM
// parse quadratic in an object's members (nlohmann's callback parser scans
// the parent at each nested object's end: a 10 MB header of 160k tensors
// ran for minutes). A syntax error stops the walk; the parse then reports it.
class CapCheck {
 public:
  explicit CapCheck(bool unique_keys) : unique_keys_(unique_keys) {}
  uint64_t values() const { return values_; }
  uint64_t tree_bytes() const { return bytes_; }  // the estimate above
  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(nlohmann::json::number_integer_t) { return value(); }
  bool number_unsigned(nlohmann::json::number_unsigned_t) { return value(); }
  bool number_float(nlohmann::json::number_float_t, const std::string&) { return value(); }
  bool string(std::string& v) { return value(kJsonStringBytes + v.size()); }
  bool binary(nlohmann::json::binary_t& v) { return value(kJsonStringBytes + v.size()); }
  bool start_object(std::size_t) {
    open(true);
    return true;
  }
  bool key(std::string& k) {
    value(kJsonMemberBytes + k.size() - kJsonValueBytes);  // a key sits at its members' depth
    if (unique_keys_ && !keys_.back().insert(k).second) throw RepeatedKey{k};
    return true;
  }
  bool end_object() {
    close(true);
    return true;
  }
  bool start_array(std::size_t) {
    open(false);
    return true;
  }
  bool end_array() {
    close(false);
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

 private:
  // The depth a parser callback would see: the containers around the value.
  bool value(uint64_t extra = 0) {
    if (depth_ > kMaxJsonDepth) throw TooDeep{};
    ++values_;
    bytes_ += kJsonValueBytes + extra;
    return true;
  }
  void open(bool object) {
    value(object ? kJsonObjectBytes : kJsonArrayBytes);
    ++depth_;
    if (object && unique_keys_) keys_.emplace_back();
  }
  void close(bool object) {
    --depth_;
    if (object && unique_keys_) keys_.pop_back();
  }
  bool unique_keys_;
  int depth_ = 0;
  uint64_t values_ = 0;  // every value and key
  uint64_t bytes_ = 0;
  std::vector<std::set<std::string>> keys_;  // each open object's keys, with unique_keys
};

nlohmann::json parse_capped(std::string_view text, bool allow_exceptions, bool unique_keys = false) {
  CapCheck check(unique_keys);
  nlohmann::json::sax_parse(text.begin(), text.end(), &check);
  // A tree of over 256 MiB must fit in half of what this process may use
  // (asked only then: small texts are parsed often).
  const uint64_t bytes = check.tree_bytes() + text.size();
  if (bytes > (uint64_t(1) << 28)) {
    const uint64_t usable = usable_host_memory().bytes;
    if (usable > 0 && bytes > usable / 2) throw TooLarge{check.values(), bytes, usable};
  }
  return nlohmann::json::parse(text.begin(), text.end(), nullptr, allow_exceptions);
}

}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& what, bool unique_keys) {
  // nlohmann's lexer takes a NUL byte for the end of input: what follows it
  // would be ignored, not refused (JSON has no NUL outside escapes).
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos)
    throw Error(what + ": not JSON: a NUL byte at byte " + std::to_string(nul));
  try {
    return parse_capped(text, /*allow_exceptions=*/true, unique_keys);
  } catch (const TooDeep&) {
    throw Error(what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const TooLarge& t) {
    throw Error(what + ": JSON of " + std::to_string(t.values) + " values, which would take about " +
                std::to_string(t.bytes >> 20) + " MiB in memory, more than half of the " + std::to_string(t.usable >> 20) +
                " MiB this process may use");
  } catch (const RepeatedKey& r) {
    throw Error(what + ": the key " + json_excerpt(nlohmann::json(r.key)) + " appears twice in one object");
  } catch (const nlohmann::json::parse_error& e) {
    // NaN, Infinity and -Infinity: Python's json reads and writes them, JSON
    // has none (nlohmann: "invalid literal").
    for (const char* word : {"-Infinity", "NaN", "Infinity"}) {
      const std::string_view w(word);
      const size_t at = e.byte > 0 ? e.byte - 1 : 0;
      for (size_t from = at >= w.size() ? at - w.size() + 1 : 0; from <= at && from < text.size(); ++from)
        if (text.substr(from, w.size()) == w) {
          const size_t newline = text.substr(0, from).rfind('\n');  // npos on the first line
          const size_t column = newline == std::string_view::npos ? from + 1 : from - newline;
          const size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + from, '\n'));
          throw Error(what + ": not JSON: " + std::string(word) + " at line " + std::to_string(line) + ", column " +
                      std::to_string(column) + " (Python's json reads it; JSON, and ganforge, take finite numbers only)");
        }
    }
    throw Error(what + ": not JSON: " + json_error_text(e));
  } catch (const nlohmann::json::out_of_range& e) {
    if (e.id == 406)  // "number overflow parsing '1e400'"
      throw Error(what + ": not JSON ganforge reads: " + json_error_text(e) +
                  ", a number beyond float64's range (Python's json reads it as inf; ganforge takes finite numbers only)");
    throw Error(what + ": not JSON: " + json_error_text(e));
  } catch (const nlohmann::json::exception& e) {
    throw Error(what + ": not JSON: " + json_error_text(e));
  }
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string s = e.what();
  if (s.rfind("[json.exception.", 0) == 0) {
    const size_t end = s.find("] ");
    if (end != std::string::npos) s = s.substr(end + 2);
  }
  // type_error.302: "type must be number, but is string"
  const std::string must = "type must be ", but = ", but is ";
  const size_t b = s.find(but);
  if (s.rfind(must, 0) == 0 && b != std::string::npos) {
    auto noun = [](const std::string& kind) {
      if (kind == "boolean") return std::string("true or false");
      if (kind == "null") return kind;
      return std::string(kind == "array" || kind == "object" ? "an " : "a ") + kind;
    };
    s = "expected " + noun(s.substr(must.size(), b - must.size())) + ", got " + noun(s.substr(b + but.size()));
  }
  return s;
}

nlohmann::json parse_json_or_discarded(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return nlohmann::json(nlohmann::json::value_t::discarded);
  try {
    return parse_capped(text, /*allow_exceptions=*/false);
  } catch (const TooDeep&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  } catch (const TooLarge&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

std::string json_file_text(const std::vector<uint8_t>& b, const std::string& what) {
  const size_t n = b.size();
  auto starts = [&](std::initializer_list<uint8_t> p) { return n >= p.size() && std::equal(p.begin(), p.end(), b.begin()); };
  int unit = 1;  // bytes per code unit: 1 (UTF-8), 2 (UTF-16) or 4 (UTF-32)
  bool big = false;
  size_t at = 0;  // past a BOM
  if (starts({0x00, 0x00, 0xFE, 0xFF})) unit = 4, big = true, at = 4;
  else if (starts({0xFF, 0xFE, 0x00, 0x00})) unit = 4, at = 4;
  else if (starts({0xFE, 0xFF})) unit = 2, big = true, at = 2;
  else if (starts({0xFF, 0xFE})) unit = 2, at = 2;
  else if (starts({0xEF, 0xBB, 0xBF})) unit = 1;
  else if (n >= 4 && b[0] == 0) unit = b[1] ? 2 : 4, big = true;
  else if (n >= 4 && b[1] == 0) unit = b[2] || b[3] ? 2 : 4;
  else if (n == 2 && b[0] == 0) unit = 2, big = true;
  else if (n == 2 && b[1] == 0) unit = 2;
  if (unit == 1) return std::string(b.begin(), b.end());
  const std::string name = unit == 2 ? "UTF-16" : "UTF-32";
  if ((n - at) % unit != 0) throw Error(what + ": " + name + " text cut short (" + std::to_string(n) + " bytes)");
  auto word = [&](size_t i) {
    uint32_t v = 0;
    for (int k = 0; k < unit; ++k) v |= uint32_t(b[i + (big ? unit - 1 - k : k)]) << (8 * k);
    return v;
  };
  std::string out;
  out.reserve(n / unit);
  for (size_t i = at; i < n; i += unit) {
    uint32_t c = word(i);
    if (unit == 2 && c >= 0xD800 && c < 0xDC00 && i + 2 < n && word(i + 2) >= 0xDC00 && word(i + 2) < 0xE000) {
      c = 0x10000 + ((c - 0xD800) << 10) + (word(i + 2) - 0xDC00);
      i += 2;
    }
    if ((c >= 0xD800 && c < 0xE000) || c > 0x10FFFF)
      throw Error(what + ": not valid " + name + " (a code unit 0x" + [&] {
        char h[16];
        std::snprintf(h, sizeof h, "%X", c);
        return std::string(h);
      }() + " at byte " + std::to_string(i) + ")");
    append_utf8(out, c);
  }
  return out;
}

nlohmann::json parse_python_json_or_discarded(std::string_view text) {
  std::string strict;
  strict.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      strict += c;
      if (c == '\\' && i + 1 < text.size()) strict += text[++i];
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    const bool word_start = i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1]));
    bool replaced = false;
    for (std::string_view token : {std::string_view("-Infinity"), std::string_view("Infinity"), std::string_view("NaN")}) {
      const size_t end = i + token.size();
      if (word_start && text.compare(i, token.size(), token) == 0 &&
          (end == text.size() || !std::isalnum(static_cast<unsigned char>(text[end])))) {
        strict += "null";
        i = end - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) strict += c;
  }
  return parse_json_or_discarded(strict);
}

int json_int(const nlohmann::json& v) {
  const bool fits = v.is_number_integer() &&
                    (v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT_MAX)
                                            : v.get<int64_t>() >= INT_MIN && v.get<int64_t>() <= INT_MAX);
  if (!fits) throw Error("expected a whole number in [" + std::to_string(INT_MIN) + ", " + std::to_string(INT_MAX) + "], got " + json_excerpt(v));
  return static_cast<int>(v.get<int64_t>());
}

std::string json_excerpt(const nlohmann::json& j, size_t max_chars) {
  // The parse cap bounds the recursion of dump(); replace keeps invalid UTF-8 from throwing.
  std::string s = json_text(j);
  if (s.size() > max_chars) s = s.substr(0, max_chars > 3 ? max_chars - 3 : 0) + "...";
  return s;
}

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // The shortest digits that read back as v ("d.ddde+XX"), as repr finds them;
  // nlohmann's Grisu2 is sometimes a digit longer (4.8193660072388544 for
  // Python's 4.819366007238854).
  char buf[64];
  const std::to_chars_result r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, r.ptr);
  const size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i)
    if (sci[i] != '.') digits += sci[i];
  const int exp10 = std::stoi(sci.substr(e + 1));
  std::string out = negative ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {  // float_repr_style 'short': exponent outside [-4, 16)
    out += digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    const int a = exp10 < 0 ? -exp10 : exp10;
    return out + (exp10 < 0 ? "e-" : "e+") + (a < 10 ? "0" : "") + std::to_string(a);
  }
  if (exp10 < 0) return out + "0." + std::string(size_t(-exp10 - 1), '0') + digits;
  const size_t point = size_t(exp10) + 1;
  if (digits.size() <= point) return out + digits + std::string(point - digits.size(), '0') + ".0";
  return out + digits.substr(0, point) + "." + digits.substr(point);
}

std::string python_json_text(const nlohmann::ordered_json& j) {
  if (j.is_array()) {
    std::string s = "[";
    for (size_t i = 0; i < j.size(); ++i) s += (i ? ", " : "") + python_json_text(j[i]);
    return s + "]";
  }
  if (j.is_object()) {
    std::string s = "{";
    bool first = true;
    for (const auto& it : j.items()) {
      s += (first ? "" : ", ") + json_text(nlohmann::ordered_json(it.key()), -1, /*ascii=*/true) + ": " +
           python_json_text(it.value());
      first = false;
    }
    return s + "}";
  }
  if (j.is_number_float() && !std::isfinite(j.get<double>())) {  // json.dumps' allow_nan
    const double v = j.get<double>();
    return std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
  }
  if (j.is_number_float()) return python_float_repr(j.get<double>());
  return json_text(j, -1, /*ascii=*/true);
}

}  // namespace gf::io
