// A minimal reader for .zip archives (stored and deflated entries, zip64, no
// encryption) and for .gz files, enough for image datasets and the IDX
// files of Fashion-MNIST. Inflation is stb_image's. Every offset and size read
// from a file is checked against the file before it is used, and every entry's
// CRC-32 is verified, so a truncated or corrupt archive throws gf::Error
// naming the file (and the entry) instead of yielding garbage.
#pragma once
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/io/crc32.h"  // crc32, which the zip entries and the gzip trailer use

namespace gf {

// Raw deflate stream -> exactly `size` bytes; throws naming `what` otherwise.
std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t n, size_t size, const std::string& what);
// The stream's first `want` bytes alone (it may give more), decoding no further.
std::vector<uint8_t> inflate_head(const uint8_t* data, size_t n, size_t want, const std::string& what);

// Decompresses a whole .gz file as Python's gzip module reads it (the
// official tools' MNIST and CIFAR-10 loaders): every member in turn (`cat
// a.gz b.gz`, pigz), zero padding after one, each member's header as Python
// reads it (reserved flag bits ignored, the header's CRC skipped unchecked)
// and its CRC-32 and size checked. Throws naming `path` for a cut, damaged or non-gzip file,
// bytes after a member that are no member, or over 2 GiB of output.
//
// `head`, where given, sees the data's first `head.size` bytes (all of them
// for shorter data) before anything more is decoded: it throws to refuse the
// file, or returns the most bytes the caller takes (SIZE_MAX: any). Decoding
// stops one byte past that, the trailers unchecked, so the caller's own size
// check refuses the file: a header's claim bounds the work, not the 2 GiB
// cap (a 2 MB file inflated to 2 GB before MNIST's 16-byte header was read).
// A claim past the cap is refused at once.
//
// `whole`, where given, is asked after each MiB decoded (after the head's
// check) for the data's whole length: 0 while unknown, else decoding stops
// there and the first that many bytes are returned, the file's later bytes
// unread and its trailers unchecked, as Python's tarfile reads a .tar.gz no
// further than the archive's end block (tar_end_so_far).
struct GzipHead {
  size_t size = 0;
  std::function<size_t(const uint8_t* data, size_t n)> check;
};
std::vector<uint8_t> read_gzip_file(const std::string& path, const GzipHead& head = {},
                                    const std::function<size_t(const uint8_t* data, size_t n)>& whole = {});

class ZipReader {
 public:
  struct Entry {
    std::string name;  // '/' separated, relative; UTF-8 (stored as code page 437 unless flagged UTF-8, as Python's zipfile reads it)
    uint16_t method = 0;  // 0 stored, 8 deflate, 12 bzip2, 14 LZMA (data/archives/zip_methods.h)
    uint32_t crc = 0;
    uint64_t compressed_size = 0;
    uint64_t size = 0;
    uint64_t header_offset = 0;  // of the local file header
    // Where the next entry's local header (or the central directory) begins:
    // the entry's data must end there (entries that overlap are a zip bomb's
    // way to inflate one stretch many times; Python's zipfile refuses them).
    uint64_t data_end = 0;
    // Why read() cannot give this entry (encrypted, a compression
    // method Python's zipfile cannot read either); "" when it can. The archive
    // stays usable: such entries are skipped, not fatal.
    std::string unreadable;
    bool is_dir() const { return !name.empty() && name.back() == '/'; }
  };

  // Reads and validates the central directory.
  explicit ZipReader(const std::string& path);
  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }
  // The index of the entry named `name`, or -1. A name the directory holds
  // twice or more is one entry, its last record (as zipfile.open(name)).
  int64_t find(const std::string& name) const;
  // How many of the directory's records bear `name` (zipfile's namelist()
  // lists each): 1 for most, 0 for none.
  size_t records(const std::string& name) const;
  // The entry's uncompressed bytes, CRC-checked; throws for an unreadable entry.
  std::vector<uint8_t> read(const Entry& e);
  // The entry's first min(n, e.size) uncompressed bytes, decoded no further
  // and not CRC-checked (read() checks the whole): for a reader that checks
  // what a file's header says the rest must be before the entry's claimed
  // size is allocated (an .npz entry whose few compressed bytes claim 2 GB).
  // Throws as read() for an unreadable, damaged or cut entry.
  std::vector<uint8_t> read_head(const Entry& e, size_t n);
  // The archive file's first min(n, its size) bytes: for a loader that, as
  // its Python original, tells a zip by its first bytes (numpy.load), where
  // zipfile itself would read past bytes put in front.
  std::vector<uint8_t> file_head(size_t n);

 private:
  void read_at(uint64_t offset, void* dst, size_t n, const std::string& what);
  // The first min(limit, compressed size) bytes of the entry's data, after
  // its local header is checked against the directory.
  std::vector<uint8_t> compressed(const Entry& e, uint64_t limit);
  std::string path_;
  std::ifstream file_;
  uint64_t file_size_ = 0;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // name -> entry
  std::unordered_map<std::string, size_t> repeated_;  // names of more than one record -> their count
};

}  // namespace gf
