#include "data/archives/zip_reader.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <cstring>

#include "engine/error.h"
#include "engine/io/input_file.h"
#include "engine/io/utf8.h"
#include "data/byte_order.h"
#include "data/python_order.h"
#include "data/archives/zip_methods.h"

namespace gf {
namespace {

// Code page 437's bytes 0x80-0xFF as Unicode code points (its lower half is ASCII).
constexpr uint16_t kCp437High[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7,
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5,
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9,
    0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192,
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA,
    0x00BF, 0x2310, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x03B1, 0x00DF, 0x0393, 0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4,
    0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6, 0x03B5, 0x2229,
    0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0,
};

// An entry's name as Python's zipfile reads it: UTF-8 when the header's flag
// bit 11 says so, else code page 437, the format's default, which archives
// made on Windows and by older tools use for names with accents. (Read as
// bytes, such names sorted and matched dataset.json's labels otherwise.)
std::string name_text(const uint8_t* p, size_t n, uint16_t flags) {
  if (flags & 0x800) return std::string(reinterpret_cast<const char*>(p), n);
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) io::append_utf8(out, p[i] < 0x80 ? p[i] : kCp437High[p[i] - 0x80]);
  return out;
}

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;
constexpr size_t kZip64EndSize = 56, kZip64LocatorSize = 20;
constexpr size_t kLocalSize = 30, kCentralSize = 46, kEndSize = 22;

}  // namespace

std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t n, size_t size, const std::string& what) {
  // Deflate gives at most 1032 bytes per compressed byte: a header that
  // claims more is corrupt, and is refused before its size is allocated
  // (and zeroed: 2 GiB for a few bytes). Checked first: a corrupt size near
  // 4 GiB is corrupt, not too large.
  if (size / 1032 > n + 1)
    throw_error(what, "claims " + std::to_string(size) + " bytes from " + std::to_string(n) +
                  " compressed bytes, more than deflate can give (corrupt header)");
  // The readers of what comes out (stb_image, the npy reader) take int sizes.
  if (n > INT_MAX - 8 || size > INT_MAX - 1) throw_error(what, "compressed data over 2 GiB is not supported");
  // zlib's raw inflate (no header, as zip stores it) into exactly `size`
  // bytes, then one spare: a stream that gives more fails the size check
  // instead of being silently cut.
  if (n == 0 && size == 0) return {};  // no stream at all: Python's zipfile reads it as empty too
  std::vector<uint8_t> out(size + 1);
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) throw_error(what, "cannot start zlib");
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(n);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&zs, Z_FINISH);
  const size_t got = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && got == out.size()))
    throw_error(what, rc == Z_BUF_ERROR ? "deflate data ends early (a cut entry)" : "corrupt deflate data");
  if (got != size)
    throw_error(what, "deflate data gives " + (got > size ? "more than " + std::to_string(size) : std::to_string(got)) +
                  " bytes, expected " + std::to_string(size));
  out.pop_back();
  return out;
}

std::vector<uint8_t> inflate_head(const uint8_t* data, size_t n, size_t want, const std::string& what) {
  if (n > INT_MAX - 8) throw_error(what, "compressed data over 2 GiB is not supported");
  std::vector<uint8_t> out(want);
  if (want == 0) return out;
  z_stream zs{};
  if (inflateInit2(&zs, -15) != Z_OK) throw_error(what, "cannot start zlib");
  zs.next_in = const_cast<Bytef*>(data);
  zs.avail_in = static_cast<uInt>(n);
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(want);
  const int rc = inflate(&zs, Z_SYNC_FLUSH);  // stops when `want` bytes are out
  const size_t got = zs.total_out;
  inflateEnd(&zs);
  if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) throw_error(what, "corrupt deflate data");
  if (got < want)
    throw_error(what, rc == Z_STREAM_END ? "deflate data gives " + std::to_string(got) + " bytes, fewer than its header's size"
                                 : std::string("deflate data ends early (a cut entry)"));
  return out;
}

// Where a gzip member's deflate data begins: its header read as Python's
// gzip module reads it (_read_gzip_header): the method must be deflate (8),
// the optional extra field, name and comment are skipped, and the header's
// CRC (FHCRC) is skipped unchecked; reserved flag bits are ignored. (zlib's
// own gzip mode refuses reserved bits and checks that CRC, so it refused
// files Python reads.) 0 when the data ends inside the header.
size_t gzip_deflate_start(const std::vector<uint8_t>& raw, size_t pos, const std::string& path) {
  constexpr uint8_t kExtra = 4, kName = 8, kComment = 16, kHeaderCrc = 2;
  const size_t n = raw.size();
  if (n - pos < 10) return 0;
  if (raw[pos + 2] != 8)
    throw_error(path, "corrupt gzip data (unknown compression method " + std::to_string(raw[pos + 2]) + ")");
  const uint8_t flags = raw[pos + 3];
  size_t at = pos + 10;  // magic, method, flags, mtime, extra flags, OS
  if (flags & kExtra) {
    if (n - at < 2) return 0;
    at += 2 + (size_t(raw[at]) | size_t(raw[at + 1]) << 8);
  }
  for (const uint8_t zero_ended : {kName, kComment})
    if (flags & zero_ended) {
      while (at < n && raw[at] != 0) ++at;
      ++at;
    }
  if (flags & kHeaderCrc) at += 2;
  return at < n ? at : 0;  // a member's deflate data is never empty
}

std::vector<uint8_t> read_gzip_file(const std::string& path, const GzipHead& head,
                                    const std::function<size_t(const uint8_t* data, size_t n)>& whole_length) {
  const std::vector<uint8_t> raw = io::read_input(path);
  if (raw.size() < 2 || raw[0] != 0x1f || raw[1] != 0x8b) throw_error(path, "not a gzip file");
  // The output grows as it is decoded (a trailer's size is only a claim,
  // and the members' sum is known at the end), to stb_image's and the
  // readers' int limit.
  constexpr size_t kMaxOut = size_t(INT_MAX) - 1;
  bool head_due = static_cast<bool>(head.check);
  size_t stop_at = SIZE_MAX;  // once this many bytes are out, decoding stops (past the head's limit)
  // Sized once from the last member's trailer (the whole size for one
  // member, as gzip writes it), as far as the data and the head's limit
  // allow: growing by doubling from nothing copied and zeroed the output
  // several times. With a head to check, only after it. Not where the data
  // may end early (whole_length): the file's last bytes may then be no
  // trailer, and the data need not be decoded to them.
  std::vector<uint8_t> out;
  auto presize = [&] {
    if (raw.size() < 18 || whole_length) return;
    const size_t claimed = le32(&raw[raw.size() - 4]);
    // +1: the end is seen in one pass.
    const size_t want = std::min({claimed, stop_at, kMaxOut, raw.size() * size_t(1032)}) + 1;
    if (want > out.size()) out.resize(want);
  };
  if (!head_due) presize();
  size_t used = 0, pos = 0;
  auto check_head = [&] {
    head_due = false;
    const size_t limit = head.check(out.data(), used);
    // A claim past the cap is refused at once (decoding up to it took seconds and 2 GB).
    if (limit != SIZE_MAX && limit >= kMaxOut)
      throw_error(path, "its header gives a size of " + std::to_string(limit) + " bytes, over the 2 GiB supported");
    if (limit != SIZE_MAX) stop_at = limit + 1;
    presize();
  };
  bool cut = false;  // stopped at stop_at
  size_t whole = 0;  // whole_length's answer: the data ends there
  for (int member = 0; pos < raw.size(); ++member) {
    if (member > 0) {  // after a member: zero padding, then another member or the end
      while (pos < raw.size() && raw[pos] == 0) ++pos;
      if (pos == raw.size()) break;
      if (raw.size() - pos < 2 || raw[pos] != 0x1f || raw[pos + 1] != 0x8b)
        throw_error(path, std::to_string(raw.size() - pos) + (raw.size() - pos == 1 ? " byte" : " bytes") +
                      " after its gzip data at byte " + std::to_string(pos) + (raw.size() - pos == 1 ? " is" : " are") +
                      " no gzip member (corrupt or appended data)");
    }
    auto truncated = [&] {
      throw_error(path, "truncated gzip file: its data ends inside member " + std::to_string(member + 1) +
                    " (a cut download or copy?)");
    };
    const size_t start = gzip_deflate_start(raw, pos, path), member_begin = used;
    if (start == 0) truncated();
    z_stream zs{};
    if (inflateInit2(&zs, -15) != Z_OK) throw_error(path, "cannot start zlib");  // raw deflate: the header is read above
    zs.next_in = const_cast<Bytef*>(raw.data() + start);
    zs.avail_in = static_cast<uInt>(std::min<size_t>(raw.size() - start, UINT_MAX));
    int rc = Z_OK;
    while (rc == Z_OK) {
      if (used == out.size()) {
        if (out.size() >= kMaxOut) {
          inflateEnd(&zs);
          throw_error(path, "gives over 2 GiB uncompressed, which is not supported");
        }
        out.resize(std::min(kMaxOut, std::max<size_t>(out.size() * 2, size_t(1) << 16)));
      }
      // Never past the head while it is unchecked, nor past stop_at; a MiB a
      // step where whole_length may end it early.
      const size_t step = whole_length ? size_t(1) << 20 : size_t(UINT_MAX);
      const size_t room = std::min({out.size() - used, (head_due ? head.size : stop_at) - used, step});
      zs.next_out = out.data() + used;
      zs.avail_out = static_cast<uInt>(room);
      rc = inflate(&zs, Z_NO_FLUSH);
      used += room - zs.avail_out;
      // What was decoded counts even where the stream then ends, is cut or is damaged.
      if (whole_length && !head_due) {
        try {
          whole = whole_length(out.data(), used);
        } catch (...) {
          inflateEnd(&zs);
          throw;
        }
        if (whole != 0) break;
      }
      if (rc == Z_BUF_ERROR && zs.avail_out > 0) break;  // no progress: the input ran out
      if (rc == Z_BUF_ERROR) rc = Z_OK;                   // the output was full
      if (head_due && used == head.size) {
        try {
          check_head();
        } catch (...) {
          inflateEnd(&zs);
          throw;
        }
      }
      if (used >= stop_at) cut = true;
      if (cut) break;
    }
    const size_t consumed = zs.total_in;  // avail_in was capped at 4 GiB
    const std::string msg = zs.msg ? zs.msg : "";
    inflateEnd(&zs);
    if (whole != 0) {
      out.resize(whole);
      return out;
    }
    if (cut) break;
    if (rc == Z_BUF_ERROR) truncated();
    if (rc != Z_STREAM_END) throw_error(path, "corrupt gzip data (" + (msg.empty() ? "zlib error" : msg) + ")");
    // The trailer: the member's CRC-32 and its size modulo 2^32, checked as Python checks them.
    pos = start + consumed;
    if (raw.size() - pos < 8) truncated();
    if (crc32(out.data() + member_begin, used - member_begin) != le32(&raw[pos])) throw_error(path, "CRC mismatch (corrupt file)");
    if (uint32_t(used - member_begin) != le32(&raw[pos + 4])) throw_error(path, "its size check fails (corrupt file)");
    pos += 8;
  }
  if (head_due) check_head();  // all the data is shorter than the head
  out.resize(used);
  return out;
}

ZipReader::ZipReader(const std::string& path) : path_(path) {
  std::string why;
  file_ = io::open_input(path, why, /*seekable=*/true);
  if (!file_.is_open()) throw_error(path, why);
  file_.seekg(0, std::ios::end);
  file_size_ = static_cast<uint64_t>(file_.tellg());
  if (file_size_ < kEndSize) throw_error(path, "not a zip file (too short)");

  // The end-of-central-directory record, as Python's zipfile (the official
  // loader's) finds it (_EndRecData): the last 22 bytes when they are a
  // record without a comment; else the last signature in the last 22 +
  // 65536 bytes, whatever its comment length says and whatever bytes follow
  // (padding added by a transfer, `cat a.zip extra`); one too near the end
  // to hold a record is no zip there either.
  const uint64_t tail = std::min<uint64_t>(file_size_, kEndSize + 0x10000);
  std::vector<uint8_t> buf(tail);
  read_at(file_size_ - tail, buf.data(), tail, "end of central directory");
  int64_t eocd = -1;
  const uint8_t* last = &buf[static_cast<size_t>(tail - kEndSize)];
  if (le32(last) == kEndSig && le16(last + 20) == 0) {
    eocd = static_cast<int64_t>(tail - kEndSize);
  } else {
    for (int64_t i = static_cast<int64_t>(tail) - 4; i >= 0; --i) {
      if (le32(&buf[static_cast<size_t>(i)]) == kEndSig) {
        if (static_cast<uint64_t>(i) + kEndSize <= tail) eocd = i;
        break;
      }
    }
  }
  if (eocd < 0) throw_error(path, "not a zip file (no end of central directory)");
  const uint8_t* e = &buf[static_cast<size_t>(eocd)];
  // The entry counts are not read: the directory's records, which fill its
  // size, are the entries, as Python's zipfile reads them (a count wraps past
  // 65535 entries in writers without zip64, and others leave it wrong).
  uint64_t cd_size = le32(e + 12), cd_offset = le32(e + 16);
  // Disk numbers say a split archive.
  if (le16(e + 4) != 0 || le16(e + 6) != 0) throw_error(path, "multi-disk zip files are not supported");
  const uint64_t eocd_pos = file_size_ - tail + static_cast<uint64_t>(eocd);
  uint64_t cd_end = eocd_pos;  // the directory ends before this
  // Zip64 (over 65535 entries, or 4 GiB: the official dataset_tool's zip of
  // FFHQ): a locator just before the end record points at the zip64 end
  // record, which holds the 64-bit count, size and offset. It is looked for
  // whatever the end record holds, as Python's zipfile looks: Info-ZIP
  // writes one with plain values in the end record (`zip a.zip -`, an entry
  // from a pipe). A count of exactly 65535 without a locator is a plain zip
  // of 65535 entries (Python's zipfile, which the official dataset_tool
  // uses, turns to zip64 only above that); a saturated size or offset needs
  // the zip64 record.
  const bool saturated = cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF;
  uint8_t loc[kZip64LocatorSize];
  bool has_locator = false;
  if (eocd_pos >= kZip64LocatorSize) {
    read_at(eocd_pos - kZip64LocatorSize, loc, kZip64LocatorSize, "zip64 end locator");
    has_locator = le32(loc) == kZip64LocatorSig;
  }
  if (saturated && !has_locator) throw_error(path, "corrupt zip64 archive (no zip64 end locator)");
  bool zip64 = false;
  if (has_locator) {
    // Where the locator says, or (in an archive after other bytes, whose
    // offsets are its own) just before the locator, where Python's zipfile
    // reads it; without either, the end record's plain values, as there.
    const uint64_t locator_pos = eocd_pos - kZip64LocatorSize;
    uint8_t z[kZip64EndSize];
    uint64_t z_offset = 0;
    for (const uint64_t at : {le64(loc + 8), locator_pos >= kZip64EndSize ? locator_pos - kZip64EndSize : locator_pos}) {
      if (at > locator_pos || locator_pos - at < kZip64EndSize) continue;
      read_at(at, z, kZip64EndSize, "zip64 end record");
      if (le32(z) == kZip64EndSig) {
        zip64 = true, z_offset = at;
        break;
      }
    }
    if (saturated && !zip64) throw_error(path, "corrupt zip64 archive (no zip64 end record)");
    if (zip64) {
      if (le32(z + 16) != 0 || le32(z + 20) != 0) throw_error(path, "multi-disk zip files are not supported");
      cd_size = le64(z + 40), cd_offset = le64(z + 48);
      cd_end = z_offset;
    }
  }
  if (cd_size > cd_end) throw_error(path, "central directory lies outside the file");
  // The directory ends where the end records begin. Where its recorded
  // offset says otherwise, the archive follows other bytes (a
  // self-extracting stub, `cat stub a.zip`) or lost some from its front (a
  // stripped self-extractor), and its offsets count from its own start: the
  // difference shifts every offset, as Python's zipfile (the official
  // dataset loader's) shifts them.
  const uint64_t cd_start = cd_end - cd_size;
  const bool forward = cd_start >= cd_offset;
  const uint64_t shift = forward ? cd_start - cd_offset : cd_offset - cd_start;
  auto shifted = [&](uint64_t& offset) {  // false when the shift leaves 64 bits
    if (forward ? offset > UINT64_MAX - shift : offset < shift) return false;
    offset = forward ? offset + shift : offset - shift;
    return true;
  };
  cd_offset = cd_start;

  std::vector<uint8_t> cd(cd_size);
  read_at(cd_offset, cd.data(), cd_size, "central directory");
  // Every record the directory holds: the end record's 16-bit count wraps
  // past 65535 entries when a writer that lacks zip64 writes it (older
  // Java, some archivers), and was then all that was read, silently. The
  // records fill the directory's size exactly, as Python's zipfile reads
  // them: bytes that are no record are damage (a wrong name length stopped
  // the reading there, dropping the entries after it).
  std::vector<uint64_t> starts;  // every record's local header, a replaced one's too
  size_t pos = 0;
  while (pos < cd.size()) {
    if (pos + kCentralSize > cd.size() || le32(&cd[pos]) != kCentralSig)
      throw_error(path, "corrupt central directory (no entry record at its byte " + std::to_string(pos) + " of " +
                    std::to_string(cd.size()) + ")");
    const uint8_t* c = &cd[pos];
    Entry en;
    const uint16_t flags = le16(c + 8);
    en.method = le16(c + 10);
    en.crc = le32(c + 16);
    en.compressed_size = le32(c + 20);
    en.size = le32(c + 24);
    const size_t name_len = le16(c + 28), extra_len = le16(c + 30), comment_len = le16(c + 32);
    en.header_offset = le32(c + 42);
    pos += kCentralSize;
    if (pos + name_len + extra_len + comment_len > cd.size()) throw_error(path, "corrupt central directory");
    en.name = name_text(&cd[pos], name_len, flags);
    // Python's zipfile decodes a name flagged UTF-8 strictly: an archive with
    // one that is not refuses to open there (here it was read as bytes).
    if ((flags & 0x800) && !python_utf8_valid(en.name)) {
      std::string shown;  // its bytes past ASCII as \xNN
      for (const char ch : en.name) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(ch)));
        shown += static_cast<unsigned char>(ch) < 0x80 ? std::string(1, ch) : std::string(hex);
      }
      throw_error(path, "an entry's name is flagged UTF-8 but is not UTF-8 ('" + shown +
                            "'); Python's zipfile refuses the archive too");
    }
    pos += name_len + extra_len + comment_len;
    const std::string what = path + ": entry '" + en.name + "'";
    // Zip64 extra field (0x0001): the 64-bit values of the fields set to
    // 0xFFFFFFFF, in this order.
    for (size_t x = pos - extra_len - comment_len, x_end = x + extra_len; x + 4 <= x_end;) {
      const uint16_t id = le16(&cd[x]), len = le16(&cd[x + 2]);
      x += 4;
      if (len > x_end - x) throw_error(what, "has a corrupt extra field");
      if (id == 0x0001) {
        size_t at = x;
        for (uint64_t* field : {&en.size, &en.compressed_size, &en.header_offset}) {
          if (*field != 0xFFFFFFFF) continue;
          if (at + 8 > x + len) throw_error(what, "has a corrupt zip64 extra field");
          *field = le64(&cd[at]), at += 8;
        }
      }
      x += len;
    }
    if (flags & 0x01) en.unreadable = "is encrypted";
    else if (en.compressed_size == 0xFFFFFFFF || en.size == 0xFFFFFFFF || en.header_offset == 0xFFFFFFFF)
      en.unreadable = "lacks its zip64 sizes (corrupt entry)";
    else if (en.method != 0 && en.method != 8 && en.method != 12 && en.method != 14)
      en.unreadable = "uses compression method " + std::to_string(en.method) +
                      " (stored, deflate, bzip2 and LZMA are read, as Python's zipfile reads them)";
    const bool located = shifted(en.header_offset);
    if (en.unreadable.empty()) {
      if (!located) throw_error(what, "lies outside the file");
      if (en.method == 0 && en.compressed_size != en.size) throw_error(what, "is stored but its sizes differ");
      if (en.header_offset > cd_offset || cd_offset - en.header_offset < kLocalSize ||
          en.compressed_size > cd_offset - en.header_offset - kLocalSize)
        throw_error(what, "lies outside the file");
    }
    starts.push_back(en.header_offset);
    // A name written twice (zipfile's append mode writes a file again): the
    // last record is the entry, as zipfile.open(name) reads it, in the
    // first one's place.
    const auto [at, fresh] = index_.emplace(en.name, entries_.size());
    if (fresh) {
      entries_.push_back(std::move(en));
    } else {
      size_t& n = repeated_[en.name];
      n = n == 0 ? 2 : n + 1;
      entries_[at->second] = std::move(en);
    }
  }
  // Each entry's data ends where the next local header in the file begins
  // (or the directory), as Python's zipfile bounds it (3.11.8 and 3.12.2 on,
  // and Debian's 3.11: "Overlapped entries").
  std::sort(starts.begin(), starts.end());
  for (Entry& en : entries_) {
    const auto next = std::upper_bound(starts.begin(), starts.end(), en.header_offset);
    en.data_end = next == starts.end() ? cd_offset : *next;
  }
}

size_t ZipReader::records(const std::string& name) const {
  const auto it = repeated_.find(name);
  return it != repeated_.end() ? it->second : index_.count(name);
}

int64_t ZipReader::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::vector<uint8_t> ZipReader::file_head(size_t n) {
  std::vector<uint8_t> out(static_cast<size_t>(std::min<uint64_t>(n, file_size_)));
  read_at(0, out.data(), out.size(), "the file's start");
  return out;
}

void ZipReader::read_at(uint64_t offset, void* dst, size_t n, const std::string& what) {
  if (offset > file_size_ || n > file_size_ - offset) throw_error(path_, what + " lies outside the file");
  file_.clear();
  file_.seekg(static_cast<std::streamoff>(offset));
  file_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
  if (!file_) throw_error(path_, "read error in " + what);
}

std::vector<uint8_t> ZipReader::compressed(const Entry& e, uint64_t limit) {
  const std::string what = path_ + ": entry '" + e.name + "'";
  if (!e.unreadable.empty()) throw_error(what, e.unreadable);
  // The local header and its name, which must be the directory's, as
  // Python's zipfile checks (each read by its own header's flag): another is
  // a damaged or spliced archive.
  std::vector<uint8_t> header(kLocalSize);
  const uint8_t* local = header.data();
  read_at(e.header_offset, header.data(), kLocalSize, "entry '" + e.name + "'");
  if (le32(local) != kLocalSig) throw_error(what, "has no local header");
  std::vector<uint8_t> local_name(le16(local + 26));
  read_at(e.header_offset + kLocalSize, local_name.data(), local_name.size(), "entry '" + e.name + "'");
  if (name_text(local_name.data(), local_name.size(), le16(local + 6)) != e.name)
    throw_error(what, "has another name in its local header (corrupt archive)");
  // The local header's own name and extra lengths locate the data (the extra
  // field may differ from the central directory's).
  const uint64_t data_offset = e.header_offset + kLocalSize + le16(local + 26) + le16(local + 28);
  if (data_offset > e.data_end || e.compressed_size > e.data_end - data_offset)
    throw_error(what, "overlaps the next entry in the archive (a zip bomb or a damaged archive)");
  std::vector<uint8_t> raw(std::min(e.compressed_size, limit));
  read_at(data_offset, raw.data(), raw.size(), "entry '" + e.name + "'");
  return raw;
}

std::vector<uint8_t> ZipReader::read(const Entry& e) {
  const std::string what = path_ + ": entry '" + e.name + "'";
  std::vector<uint8_t> raw = compressed(e, e.compressed_size);
  std::vector<uint8_t> out = e.method == 0    ? std::move(raw)
                             : e.method == 12 ? unzip_bzip2(raw.data(), raw.size(), e.size, what)
                             : e.method == 14 ? unzip_lzma(raw.data(), raw.size(), e.size, what)
                                              : inflate_raw(raw.data(), raw.size(), e.size, what);
  if (crc32(out.data(), out.size()) != e.crc) throw_error(what, "CRC mismatch (corrupt archive)");
  return out;
}

std::vector<uint8_t> ZipReader::read_head(const Entry& e, size_t n) {
  const std::string what = path_ + ": entry '" + e.name + "'";
  const uint64_t want = std::min<uint64_t>(n, e.size);
  if (e.method == 0) return compressed(e, want);  // stored: sizes equal (checked with the directory)
  const std::vector<uint8_t> raw = compressed(e, e.compressed_size);
  return e.method == 12 ? unzip_bzip2(raw.data(), raw.size(), want, what, /*prefix=*/true)
         : e.method == 14 ? unzip_lzma(raw.data(), raw.size(), want, what)  // decodes up to `want` and no further
                          : inflate_head(raw.data(), raw.size(), static_cast<size_t>(want), what);
}

}  // namespace gf
