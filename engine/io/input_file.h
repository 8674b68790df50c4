// Opening a file a user named for reading, with the reason when it cannot be
// read, so every reader's error says why (a folder given for a file, no such
// file, permission denied) instead of reading a folder's bytes as data.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace gf::io {

// A binary stream on path, or a closed one with `why` set: "is a folder, not
// a file", "is a device, not a file" (/dev/zero), "a URL, and nothing is
// downloaded here: ..." (http:// or https://, no such file) or "cannot open:
// <strerror>". Callers add the path and their name. A pipe is taken (--z
// <(python ...)) unless `seekable`: the readers that seek (.bin, .npy by
// path, zip) refuse a pipe or socket before opening it ("is a pipe, not a
// file"), since a FIFO nobody writes blocked the open forever.
std::ifstream open_input(const std::string& path, std::string& why, bool seekable = false);

// The whole file; throws gf::Error("<path>: <why>") when it cannot be read.
std::vector<uint8_t> read_input(const std::string& path);

// Whether path is folder or lies inside it, by components (no file system
// access: resolve both first, e.g. with std::filesystem::canonical).
bool is_within(const std::filesystem::path& path, const std::filesystem::path& folder);

}  // namespace gf::io
