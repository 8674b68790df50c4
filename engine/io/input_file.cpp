#include "engine/io/input_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdint>
#include <filesystem>

#include "engine/error.h"

namespace gf::io {

std::ifstream open_input(const std::string& path, std::string& why, bool seekable) {
  // A folder opens as a stream on Linux, and reads as garbage or nothing.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    why = "is a folder, not a file";
    return std::ifstream();
  }
  // A device reads as an endless (/dev/zero, /dev/urandom) or empty
  // (/dev/null) stream: a reader took its bytes as a damaged file, or read
  // until memory ran out. A pipe stays allowed (--z <(python ...)).
  const auto type = std::filesystem::status(path, ec).type();
  if (type == std::filesystem::file_type::character || type == std::filesystem::file_type::block) {
    why = "is a device, not a file";
    return std::ifstream();
  }
  if (seekable && (type == std::filesystem::file_type::fifo || type == std::filesystem::file_type::socket)) {
    why = std::string(type == std::filesystem::file_type::fifo ? "is a pipe" : "is a socket") +
          ", not a file (it is read with seeks: save it to a file first)";
    return std::ifstream();
  }
  errno = 0;
  std::ifstream f(path, std::ios::binary);
  if (!f) why = std::string("cannot open: ") + (errno ? std::strerror(errno) : "unknown error");
  // The official scripts open their networks by URL (dnnlib's open_url):
  // "No such file or directory" named the URL as a missing file.
  if (!f && errno == ENOENT && (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0))
    why = "a URL, and nothing is downloaded here: download the file first (an official pickle: then convert it with "
          "tools/convert_weights.py import and give the .bin)";
  return f;
}

std::vector<uint8_t> read_input(const std::string& path) {
  std::string why;
  std::ifstream f = open_input(path, why);
  if (!f.is_open()) throw Error(path + ": " + why);
  // Read in blocks: a regular file's size (plus the byte that finds its end)
  // is the first block, so one read takes it; a pipe or a /proc file (size 0)
  // grows by doubling. An istreambuf_iterator copy, a byte at a time, read
  // 0.14 GB/s: a dataset's two passes over its files were mostly that.
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  size_t block = !ec && size > 0 && size < SIZE_MAX / 2 ? size_t(size) + 1 : size_t(1) << 16;
  std::vector<uint8_t> bytes;
  size_t have = 0;
  errno = 0;
  try {  // libstdc++'s filebuf throws from a failed read(2) whatever the stream's exception mask
    for (;;) {
      bytes.resize(have + block);
      f.read(reinterpret_cast<char*>(bytes.data() + have), static_cast<std::streamsize>(block));
      have += static_cast<size_t>(f.gcount());
      if (f.bad()) throw std::ios_base::failure("bad stream");
      if (have < bytes.size()) break;  // the end
      block = have;
    }
  } catch (const std::ios_base::failure&) {
    throw Error(path + ": read error" + (errno ? std::string(" (") + std::strerror(errno) + ")" : std::string()));
  }
  bytes.resize(have);
  return bytes;
}

bool is_within(const std::filesystem::path& path, const std::filesystem::path& folder) {
  // Both ranges bounded: path may have fewer components than folder.
  return std::mismatch(folder.begin(), folder.end(), path.begin(), path.end()).first == folder.end();
}

}  // namespace gf::io
