// Python's int() of text, in base 10: what the official scripts' integer
// options read (click's INT, generate.py's num_range) and what Pillow's PPM
// plugin reads a plain PNM's numbers with.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace gf {

// Whitespace around it, an optional sign, then decimal digits with single
// underscores between them ("+8", " 8 ", "007", "1_000"); nullopt where
// int() raises ("", "+", "_1", "1__0", "1.5", "0x10") or the value does not
// fit an int64.
std::optional<int64_t> python_int(const std::string& text);

}  // namespace gf
