#include "data/archives/tar_reader.h"

#include <algorithm>
#include <cstring>

#include "engine/error.h"

namespace gf {

namespace {

constexpr size_t kBlock = 512;

// A NUL- (or full-width) terminated header field.
std::string field(const uint8_t* h, size_t at, size_t width) {
  const char* s = reinterpret_cast<const char*>(h + at);
  return std::string(s, strnlen(s, width));
}

// A size field: octal digits (spaces or NULs around them), or base-256
// (GNU, for sizes past 8 GiB) when its first byte has the high bit.
uint64_t number(const uint8_t* h, size_t at, size_t width, const std::string& what) {
  if (h[at] & 0x80) {
    uint64_t v = h[at] & 0x7F;
    for (size_t i = 1; i < width; ++i) {
      if (v >> 55) throw_error(what, "a tar header's number is past 64 bits");
      v = (v << 8) | h[at + i];
    }
    return v;
  }
  uint64_t v = 0;
  size_t i = 0;
  while (i < width && h[at + i] == ' ') ++i;
  for (; i < width && h[at + i] >= '0' && h[at + i] <= '7'; ++i) {
    if (v >> 60) throw_error(what, "a tar header's number is past 64 bits");
    v = v * 8 + (h[at + i] - '0');
  }
  for (; i < width; ++i)
    if (h[at + i] != ' ' && h[at + i] != 0) throw_error(what, "a tar header holds a malformed number (corrupt archive?)");
  return v;
}

// The "path" record of a pax extended header: records "<len> <key>=<value>\n",
// <len> counting the whole record in decimal digits. A malformed one throws,
// as Python's tarfile refuses it ("invalid header").
std::string pax_path(const std::string& body, const std::string& what) {
  std::string path;
  size_t i = 0;
  while (i < body.size() && body[i] != '\0') {  // NUL padding may follow the records
    size_t len = 0, j = i;
    for (; j < body.size() && body[j] >= '0' && body[j] <= '9' && len < body.size(); ++j) len = len * 10 + size_t(body[j] - '0');
    // "<digits> " then at least "k=\n", all inside the body.
    if (j == i || j >= body.size() || body[j] != ' ' || len > body.size() - i || i + len < j + 4 || body[i + len - 1] != '\n')
      throw_error(what, "a pax header's record is malformed (corrupt archive?)");
    const std::string record = body.substr(j + 1, i + len - j - 2);  // without the '\n'
    if (record.rfind("path=", 0) == 0) path = record.substr(5);
    i += len;
  }
  return path;
}

bool all_zero(const uint8_t* h) {
  return std::all_of(h, h + kBlock, [](uint8_t b) { return b == 0; });
}

// The checksum: the header's bytes summed with its own field as spaces, as
// unsigned bytes or, as old Sun tars wrote it, signed ones (Python's tarfile
// takes either). A malformed checksum field throws.
bool header_sum_matches(const uint8_t* h, const std::string& what) {
  int64_t sum = 0, signed_sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const uint8_t b = (i >= 148 && i < 156) ? uint8_t(' ') : h[i];
    sum += b;
    signed_sum += int8_t(b);
  }
  const uint64_t stored = number(h, 148, 8, what);
  return stored == uint64_t(sum) || stored == uint64_t(signed_sum);
}

void check_header_sum(const uint8_t* h, size_t pos, const std::string& what) {
  if (!header_sum_matches(h, what))
    throw_error(what, "a tar header at byte " + std::to_string(pos) +
                          " fails its checksum (not a tar archive, or corrupt)");
}

}  // namespace

void check_tar_start(const uint8_t* data, size_t n, const std::string& what) {
  if (n == 0) return;  // an empty archive lists no member, as list_tar's
  if (n < kBlock) throw_error(what, "the tar archive ends inside a header (truncated archive?)");
  if (!all_zero(data)) check_header_sum(data, 0, what);
}

size_t tar_end_so_far(const uint8_t* data, size_t n, size_t* pos, const std::string& what) {
  constexpr size_t kGaveUp = SIZE_MAX;
  while (*pos != kGaveUp && n >= kBlock && *pos <= n - kBlock) {
    const uint8_t* h = data + *pos;
    if (all_zero(h)) return *pos + kBlock;
    if (!header_sum_matches(h, what)) {
      *pos = kGaveUp;
      break;
    }
    const uint64_t size = number(h, 124, 12, what);
    const uint64_t blocks = size / kBlock + (size % kBlock != 0);
    if (blocks > (kGaveUp - *pos) / kBlock - 1) {  // past any memory: list_tar names it
      *pos = kGaveUp;
      break;
    }
    *pos += kBlock + size_t(blocks) * kBlock;
  }
  return 0;
}

std::map<std::string, TarMember> list_tar(const std::vector<uint8_t>& tar, const std::string& what) {
  std::map<std::string, TarMember> out;
  std::string long_name;  // from a GNU 'L' or pax 'x' header, for the next member
  size_t pos = 0;
  bool ended = false;
  while (pos + kBlock <= tar.size()) {
    const uint8_t* h = tar.data() + pos;
    if (all_zero(h)) {
      ended = true;
      break;
    }
    check_header_sum(h, pos, what);
    const uint64_t size = number(h, 124, 12, what);
    const char type = char(h[156]);
    const size_t data = pos + kBlock;
    if (size > tar.size() - data) throw_error(what, "the tar member at byte " + std::to_string(pos) + " runs past the end (truncated archive?)");
    std::string name = field(h, 0, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0) {
      const std::string prefix = field(h, 345, 155);
      if (!prefix.empty()) name = prefix + "/" + name;
    }
    if (type == 'L') {
      long_name = field(tar.data() + data, 0, size_t(size));
    } else if (type == 'x') {
      const std::string p = pax_path(std::string(reinterpret_cast<const char*>(tar.data() + data), size_t(size)), what);
      if (!p.empty()) long_name = p;
    } else if (type != 'g') {
      if (!long_name.empty()) name = long_name;
      long_name.clear();
      if (type == '0' || type == '\0' || type == '7') out[name] = TarMember{data, size_t(size)};
    }
    pos = data + (size_t(size) + kBlock - 1) / kBlock * kBlock;
  }
  if (!ended && pos < tar.size()) throw_error(what, "the tar archive ends inside a header (truncated archive?)");
  return out;
}

}  // namespace gf
