// Writing .zip archives of stored (uncompressed) entries, streamed: each
// entry's bytes go out as they are added and only the central directory is
// kept, so an archive of many gigabytes (a dataset) never sits in memory.
// numpy's .npz (data/archives/npz.h) and dataset_tool's datasets are written with it;
// data/archives/zip_reader.h reads both.
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_set>

namespace gf {

class ZipWriter {
 public:
  // Writes to out (binary) from its current position, which is offset 0 of the
  // archive; `who` prefixes errors.
  ZipWriter(std::ostream& out, std::string who);
  // A stored entry "name" ('/' separated, relative) holding n bytes. Throws
  // gf::Error on an empty name, an absolute one or one with a ".." part, a
  // name added twice, or a failed write.
  void add(const std::string& name, const void* data, uint64_t n);
  // The central directory and its end record; zip64 records (as Python's
  // zipfile writes them) once the archive has 65535 entries or more, or an
  // entry, an offset or the directory passes 4 GiB. Call once, last.
  void finish();
  uint64_t entries() const { return count_; }

 private:
  std::ostream& out_;
  std::string who_, directory_;
  uint64_t offset_ = 0, count_ = 0;
  std::unordered_set<std::string> names_;
  bool finished_ = false;
};

}  // namespace gf
