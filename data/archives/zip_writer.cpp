// The layout written (PKWARE APPNOTE 4.3, 4.5.3 for zip64): per entry a local
// file header and the bytes, then the central directory and its end record.
// Method 0 (stored), no data descriptor (sizes are known before the bytes),
// DOS time 1980-01-01 00:00 so that the bytes depend on the contents only.
#include "data/archives/zip_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "engine/error.h"
#include "data/archives/zip_reader.h"

namespace gf {
namespace {

// Why a stream write failed, when the system said (ENOSPC on a full disk).
std::string errno_note() { return errno ? std::string(" (") + std::strerror(errno) + ")" : std::string(); }

constexpr uint16_t kVersion = 20;    // 2.0: what a stored file needs
constexpr uint16_t kVersion64 = 45;  // 4.5: zip64 extensions
constexpr uint16_t kDosDate = 0x21;  // 1980-01-01
constexpr uint64_t kMax32 = 0xffffffffu;
constexpr uint64_t kMax16 = 0xffffu;

void put16(std::string& s, uint64_t v) {
  s += char(v & 0xff);
  s += char((v >> 8) & 0xff);
}
void put32(std::string& s, uint64_t v) {
  put16(s, v & 0xffff);
  put16(s, (v >> 16) & 0xffff);
}
void put64(std::string& s, uint64_t v) {
  put32(s, v & kMax32);
  put32(s, v >> 32);
}

}  // namespace

ZipWriter::ZipWriter(std::ostream& out, std::string who) : out_(out), who_(std::move(who)) {}

void ZipWriter::add(const std::string& name, const void* data, uint64_t n) {
  GF_CHECK(!finished_, who_, "entry '" << name << "' added after the archive was finished");
  GF_CHECK(!name.empty() && name.front() != '/' && ("/" + name + "/").find("/../") == std::string::npos &&
               name.size() < kMax16,
           who_, "bad entry name '" << name << "'");
  GF_CHECK(names_.insert(name).second, who_, "entry '" << name << "' given twice");
  const uint32_t crc = crc32(static_cast<const uint8_t*>(data), size_t(n));
  const bool big = n >= kMax32;  // sizes in a zip64 extra field
  const bool far = offset_ >= kMax32;  // the local header's offset too (central directory only)
  // The fields a local header and a central directory record share, from
  // "version needed" to the name's length.
  std::string common;
  put16(common, big || far ? kVersion64 : kVersion);  // version needed to extract
  // Flag bit 11: the name is UTF-8. Without it a reader takes a name's
  // non-ASCII bytes as code page 437 (Python's zipfile does), as
  // ZipReader does; ASCII names leave it clear, as zipfile writes them.
  const bool ascii = std::all_of(name.begin(), name.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; });
  put16(common, ascii ? 0 : 0x800);  // flags
  put16(common, 0);  // method: stored
  put16(common, 0);  // time
  put16(common, kDosDate);
  put32(common, crc);
  put32(common, big ? kMax32 : n);  // compressed size
  put32(common, big ? kMax32 : n);  // size
  put16(common, name.size());

  std::string local;
  put32(local, 0x04034b50);
  local += common;
  std::string local_extra;
  if (big) {
    put16(local_extra, 0x0001);
    put16(local_extra, 16);
    put64(local_extra, n);
    put64(local_extra, n);
  }
  put16(local, local_extra.size());
  local += name + local_extra;
  errno = 0;
  out_.write(local.data(), std::streamsize(local.size()));
  out_.write(static_cast<const char*>(data), std::streamsize(n));
  GF_CHECK(bool(out_), who_, "writing entry '" << name << "' failed" << errno_note());

  std::string extra;  // only the fields that overflow, in the APPNOTE's order
  if (big || far) {
    put16(extra, 0x0001);
    put16(extra, (big ? 16 : 0) + (far ? 8 : 0));
    if (big) put64(extra, n), put64(extra, n);
    if (far) put64(extra, offset_);
  }
  put32(directory_, 0x02014b50);
  put16(directory_, big || far ? kVersion64 : kVersion);  // version made by (MS-DOS attributes)
  directory_ += common;
  put16(directory_, extra.size());
  put16(directory_, 0);  // comment length
  put16(directory_, 0);  // disk number
  put16(directory_, 0);  // internal attributes
  put32(directory_, 0);  // external attributes
  put32(directory_, far ? kMax32 : offset_);
  directory_ += name + extra;
  offset_ += local.size() + n;
  ++count_;
}

void ZipWriter::finish() {
  GF_CHECK(!finished_, who_, "the archive is finished already");
  finished_ = true;
  const uint64_t dir_offset = offset_, dir_size = directory_.size();
  std::string end;
  const bool zip64 = count_ >= kMax16 || dir_offset >= kMax32 || dir_size >= kMax32;
  if (zip64) {
    put32(end, 0x06064b50);  // zip64 end of central directory record
    put64(end, 44);          // its size after this field
    put16(end, kVersion64);  // version made by
    put16(end, kVersion64);  // version needed
    put32(end, 0);           // this disk
    put32(end, 0);           // the directory's disk
    put64(end, count_);
    put64(end, count_);
    put64(end, dir_size);
    put64(end, dir_offset);
    put32(end, 0x07064b50);  // its locator
    put32(end, 0);           // the disk of the record
    put64(end, dir_offset + dir_size);
    put32(end, 1);           // disks
  }
  put32(end, 0x06054b50);
  put16(end, 0);  // this disk
  put16(end, 0);  // the directory's disk
  put16(end, zip64 ? kMax16 : count_);
  put16(end, zip64 ? kMax16 : count_);
  put32(end, zip64 ? kMax32 : dir_size);
  put32(end, zip64 ? kMax32 : dir_offset);
  put16(end, 0);  // comment length
  errno = 0;
  out_.write(directory_.data(), std::streamsize(directory_.size()));
  out_.write(end.data(), std::streamsize(end.size()));
  GF_CHECK(bool(out_), who_, "writing the zip directory failed" << errno_note());
}

}  // namespace gf
