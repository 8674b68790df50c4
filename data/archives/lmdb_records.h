// The records of an LMDB environment (a folder holding data.mdb, as LSUN's
// category_lmdb folders are), read in key order with liblmdb (Debian:
// liblmdb-dev), as the official dataset_tool.py's open_lmdb iterates
// txn.cursor() of lmdb.open(path, readonly=True, lock=False): the main
// database, read only, without the lock file.
//
// liblmdb maps data.mdb and trusts its pages: a damaged one is a SIGBUS, a
// SIGFPE or one of its assertions (abort), not an error code. So it runs in
// a child process that sends the records through a pipe; a child that dies
// is one error naming the damage, and the program (and its temporaries)
// lives on. A data.mdb cut short is said as such. Made before any other
// thread starts (the child allocates and throws after the fork).
#pragma once
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace gf {

class LmdbRecords {
 public:
  // Throws gf::Error "<folder>: <liblmdb's words>" when it is no LMDB
  // environment, "<folder>: data.mdb is damaged: ..." when liblmdb dies on it.
  explicit LmdbRecords(const std::string& folder);
  ~LmdbRecords();
  LmdbRecords(const LmdbRecords&) = delete;
  LmdbRecords& operator=(const LmdbRecords&) = delete;

  // The main database's entry count (txn.stat()['entries']).
  size_t entries() const { return entries_; }
  // The next record in key order; false after the last. Throws as above.
  bool next(std::string& key, std::vector<uint8_t>& value);

 private:
  // The child's error (after an 'X' tag), or how it died (at the pipe's end),
  // or, on a stream out of step, the record it sent that cannot be.
  [[noreturn]] void fail_from_child(const std::string& out_of_step = "");
  void stop_child();

  std::string folder_;
  size_t entries_ = 0;
  size_t records_read_ = 0;
  uint64_t file_bytes_ = 0;  // data.mdb's size: no key or value is larger
  pid_t child_ = -1;
  std::FILE* in_ = nullptr;  // the records
  std::vector<char> in_buffer_;
  int err_fd_ = -1;  // the child's stderr (liblmdb's assertion text)
  bool done_ = false;
};

}  // namespace gf
