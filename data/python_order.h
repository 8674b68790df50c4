// Python's order of file names: how the official loaders sort what
// os.listdir / os.walk / pathlib give them (str, decoded from the bytes with
// the file system's surrogateescape).
#pragma once
#include <string>

namespace gf {

// a < b as Python compares the two names as str: code point by code point,
// where a byte that is no part of a valid UTF-8 sequence stands for U+DC80 +
// (byte - 0x80), as surrogateescape decodes it. For valid UTF-8 this is the
// order of the bytes; a name holding other bytes (a Latin-1 file name)
// sorts below U+E000 and the astral planes, not above every valid name.
bool python_name_less(const std::string& a, const std::string& b);

// Whether Python's UTF-8 decoder (strict) reads s: well-formed sequences
// only, no overlong form, no surrogate, nothing past U+10FFFF.
bool python_utf8_valid(const std::string& s);

}  // namespace gf
