// JSON text that comes from a file (a .bin's header and metadata,
// dataset.json, stats.jsonl, training_options.json) is parsed here, nowhere
// else: nlohmann's parser takes any depth, but its dump() and every walk of
// ours recurse, so an input nested a million levels deep (a few MB of '[')
// overflowed the stack when a message quoted it. Nesting is capped at
// parse time; values quoted in messages go through json_excerpt.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace gf::io {

// Deeper than any file the project or the official tools write (a few levels).
constexpr int kMaxJsonDepth = 64;

// The JSON value in text; throws gf::Error("<what>: <why>") when text is not
// JSON or nests deeper than kMaxJsonDepth, or, with unique_keys, when an
// object repeats a key (JSON leaves that open; the parser keeps the last),
// or when its tree would take more than half of the memory this process may
// use (engine/host_memory.h; 60 MB of "{}," is a tree of 3 GB).
nlohmann::json parse_json(std::string_view text, const std::string& what, bool unique_keys = false);

// As parse_json, but a bad text gives a discarded value (is_discarded())
// instead of an exception: for readers that count or skip bad lines.
nlohmann::json parse_json_or_discarded(std::string_view text);

// The text of a JSON file's bytes as Python's json.loads(bytes) takes them
// (json.detect_encoding): UTF-8, or UTF-16 / UTF-32 of either byte order,
// with or without a BOM (told apart by where the first bytes are NUL), as
// UTF-8; a UTF-8 BOM is kept (the parser skips it). A file in Windows'
// UTF-16 (PowerShell's > and Out-File) was "not JSON". Throws gf::Error
// "<what>: ..." for UTF-16/32 that is cut or holds no valid character.
std::string json_file_text(const std::vector<uint8_t>& bytes, const std::string& what);

// As parse_json_or_discarded, for text Python's json.dumps wrote: its bare
// NaN, Infinity and -Infinity (an official run's stats.jsonl when a loss
// diverged; JSON has no such numbers) are read as null.
nlohmann::json parse_python_json_or_discarded(std::string_view text);

// A JSON integer that fits an int: get<int>() narrowed 2^40 to 0 and took
// 1.5 as 1 and true as 1 without a word. Throws gf::Error naming the value.
int json_int(const nlohmann::json& v);

// A JSON error's text for a user: nlohmann's "[json.exception.type_error.302]
// type must be number, but is null" becomes "expected a number, got null";
// other errors keep their words without the bracketed tag.
std::string json_error_text(const nlohmann::json::exception& e);

// j as Python's json.dumps writes it by default: ", " and ": " between
// items, every non-ASCII character escaped, NaN and infinities as NaN,
// Infinity, -Infinity, other floats as repr writes them (dataset.json,
// pSp's scores_*.json, the metrics' jsonl lines).
std::string python_json_text(const nlohmann::ordered_json& j);

// repr(v) of a Python float: the shortest digits that read back as v, fixed
// notation for exponents in [-4, 16) ("0.0001", "1e+16", "1e-05", "2.0").
std::string python_float_repr(double v);

// A value as a message quotes it: its JSON text, cut to at most max_chars
// characters (with "..." when cut).
std::string json_excerpt(const nlohmann::json& j, size_t max_chars = 80);

// Bytes of a user's text that are not UTF-8 (a path: Linux allows any
// bytes) become U+FFFD when JSON is written, instead of nlohmann's exception
// ("invalid UTF-8 byte"), which came after the work. Python writes them as
// "\udcff" escapes that give the bytes back; here the record is lossy: a
// reader of it (calc_metrics taking --data from training_options.json) names
// the changed path and needs it given again.
constexpr nlohmann::json::error_handler_t kInvalidUtf8Replaced = nlohmann::json::error_handler_t::replace;

// j (nlohmann::json or ordered_json) as the JSON text ganforge writes: on one
// line for indent -1, else indented by that many spaces; strings' invalid
// UTF-8 replaced (kInvalidUtf8Replaced); ascii: every non-ASCII character as
// a \uXXXX escape (Python's json.dumps default). Every JSON written goes
// through here.
template <class Json>
std::string json_text(const Json& j, int indent = -1, bool ascii = false) {
  return j.dump(indent, ' ', ascii, kInvalidUtf8Replaced);
}

}  // namespace gf::io
