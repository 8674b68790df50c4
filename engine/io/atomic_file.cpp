#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "engine/error.h"

namespace gf::io {

namespace {

// Flushes a file's (or folder's) data to the disk; false when that fails.
bool sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string temp_name(const std::string& path) { return path + "." + std::to_string(::getpid()) + ".tmp"; }

void write_atomic(const std::string& path, const std::function<void(std::ostream&)>& write, const std::string& who) {
  // The process id keeps concurrent writers (two test suites, two runs) off each other's temporary.
  const std::string tmp = temp_name(path);
  {
    errno = 0;
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    // The reason (no such folder, permission denied, a full disk) is open(2)'s.
    if (!f.good()) throw Error(who + ": cannot write " + path + (errno ? std::string(": ") + std::strerror(errno) : ""));
    errno = 0;  // a failed write below leaves its reason here
    try {
      write(f);
    } catch (...) {
      f.close();
      std::remove(tmp.c_str());
      throw;
    }
    f.close();  // a full disk may only show here
    if (f.fail()) {
      std::remove(tmp.c_str());
      throw Error(who + ": write to " + tmp + " failed" + (errno ? std::string(": ") + std::strerror(errno) : ""));
    }
  }
  // The data reaches the disk before the rename, and the rename before we
  // return: after a power loss path holds the old file or the new one.
  if (!sync_path(tmp)) {
    std::remove(tmp.c_str());
    throw Error(who + ": cannot flush " + tmp + " to the disk");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw Error(who + ": cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  sync_path(dir.empty() ? "." : dir);  // best effort: some file systems refuse a folder fsync
}

void create_folder(const std::string& dir, const std::string& what) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (!ec && !std::filesystem::is_directory(dir, ec)) ec = std::make_error_code(std::errc::not_a_directory);
  if (ec) throw Error(what + " " + dir + ": " + ec.message());
}

}  // namespace gf::io
