#include "engine/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f.good()) throw Error(who + ": cannot write " + tmp);
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
      throw Error(who + ": write to " + tmp + " failed");
    }
  }
  // The data reaches the disk before the rename, and the rename before we
  // return: after a power loss path holds the old file or the new one.
  if (!sync_path(tmp)) {
    std::remove(tmp.c_str());
    throw Error(who + ": cannot flush " + tmp + " to the disk");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error(who + ": cannot rename " + tmp + " to " + path);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  sync_path(dir.empty() ? "." : dir);  // best effort: some file systems refuse a folder fsync
}

}  // namespace gf::io
