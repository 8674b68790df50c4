// The records of an LMDB environment (a folder holding data.mdb, as LSUN's
// category_lmdb folders are), read in key order with liblmdb (Debian:
// liblmdb-dev), as the official dataset_tool.py's open_lmdb iterates
// txn.cursor() of lmdb.open(path, readonly=True, lock=False): the main
// database, read only, without the lock file. A data.mdb cut short is
// refused (its pages past the end would be a SIGBUS); other damage inside
// the file is not detected (liblmdb trusts its pages, as py-lmdb does).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace gf {

class LmdbRecords {
 public:
  // Throws gf::Error "<folder>: <liblmdb's words>" when it is no LMDB environment.
  explicit LmdbRecords(const std::string& folder);
  ~LmdbRecords();
  LmdbRecords(const LmdbRecords&) = delete;
  LmdbRecords& operator=(const LmdbRecords&) = delete;

  // The main database's entry count (txn.stat()['entries']).
  size_t entries() const { return entries_; }
  // The next record in key order; false after the last.
  bool next(std::string& key, std::vector<uint8_t>& value);

 private:
  struct Handles;
  std::unique_ptr<Handles> h_;
  std::string folder_;
  size_t entries_ = 0;
  bool started_ = false;
};

}  // namespace gf
