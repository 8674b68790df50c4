// A .zip built in memory for the tests that read zips (datasets, psp):
// every file stored (method 0) with its CRC-32, as `zip -0` writes them;
// or deflated (method 8), for entries far larger than their archive.
#pragma once
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "data/archives/zip_reader.h"

namespace gf::test {

inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out, cd;
  auto u16 = [](std::string& s, uint32_t v) { s.push_back(char(v & 0xFF)), s.push_back(char(v >> 8 & 0xFF)); };
  auto u32 = [&](std::string& s, uint32_t v) { u16(s, v & 0xFFFF), u16(s, v >> 16); };
  for (const auto& [name, data] : files) {
    const uint32_t crc = gf::crc32(reinterpret_cast<const uint8_t*>(data.data()), data.size());
    const uint32_t offset = static_cast<uint32_t>(out.size());
    u32(out, 0x04034b50), u16(out, 20), u16(out, 0), u16(out, 0), u16(out, 0), u16(out, 0);
    u32(out, crc), u32(out, uint32_t(data.size())), u32(out, uint32_t(data.size()));
    u16(out, uint32_t(name.size())), u16(out, 0);
    out += name + data;
    u32(cd, 0x02014b50), u16(cd, 20), u16(cd, 20), u16(cd, 0), u16(cd, 0), u16(cd, 0), u16(cd, 0);
    u32(cd, crc), u32(cd, uint32_t(data.size())), u32(cd, uint32_t(data.size()));
    u16(cd, uint32_t(name.size())), u16(cd, 0), u16(cd, 0), u16(cd, 0), u16(cd, 0), u32(cd, 0), u32(cd, offset);
    cd += name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += cd;
  u32(out, 0x06054b50), u16(out, 0), u16(out, 0), u16(out, uint32_t(files.size())), u16(out, uint32_t(files.size()));
  u32(out, uint32_t(cd.size())), u32(out, cd_offset), u16(out, 0);
  return out;
}

// An entry's raw deflate stream (as zip stores it), for `head` followed by
// `zeros` zero bytes, deflated a megabyte at a time: gigabytes of entry
// never sit in memory.
struct DeflatedEntry {
  std::string data;   // the compressed bytes
  uint32_t crc = 0;   // CRC-32 of the whole entry
  uint64_t size = 0;  // its bytes inflated
};

inline DeflatedEntry deflate_padded(const std::string& head, uint64_t zeros) {
  DeflatedEntry e;
  e.size = head.size() + zeros;
  e.crc = uint32_t(::crc32(0, reinterpret_cast<const Bytef*>(head.data()), uInt(head.size())));
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::vector<unsigned char> out(1 << 16);
  auto feed = [&](const char* data, size_t n, int flush) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    zs.avail_in = uInt(n);
    do {
      zs.next_out = out.data();
      zs.avail_out = uInt(out.size());
      if (deflate(&zs, flush) == Z_STREAM_ERROR) throw std::runtime_error("deflate");
      e.data.append(reinterpret_cast<char*>(out.data()), out.size() - zs.avail_out);
    } while (zs.avail_out == 0);
  };
  const std::vector<char> block(1 << 20, 0);
  feed(head.data(), head.size(), zeros == 0 ? Z_FINISH : Z_NO_FLUSH);
  for (uint64_t left = zeros; left > 0;) {
    const size_t n = size_t(std::min<uint64_t>(left, block.size()));
    left -= n;
    feed(block.data(), n, left == 0 ? Z_FINISH : Z_NO_FLUSH);
    e.crc = uint32_t(::crc32(e.crc, reinterpret_cast<const Bytef*>(block.data()), uInt(n)));
  }
  deflateEnd(&zs);
  return e;
}

// A zip of deflated entries (method 8), sizes under 4 GiB.
inline std::string deflated_zip(const std::vector<std::pair<std::string, DeflatedEntry>>& files) {
  std::string out, cd;
  auto le = [](std::string& b, uint64_t v, int bytes) {
    for (int k = 0; k < bytes; ++k) b += char(v >> (8 * k) & 0xFF);
  };
  for (const auto& named : files) {
    // Named, not bound: C++17 lambdas may not capture structured bindings (clang refuses; GCC lets it pass).
    const std::string& name = named.first;
    const DeflatedEntry& e = named.second;
    auto common = [&](std::string& b) {  // version needed .. extra length, shared by both headers
      le(b, 20, 2), le(b, 0, 2), le(b, 8, 2), le(b, 0, 4), le(b, e.crc, 4), le(b, e.data.size(), 4), le(b, e.size, 4);
      le(b, name.size(), 2), le(b, 0, 2);
    };
    const size_t offset = out.size();
    le(out, 0x04034b50, 4), common(out), out += name, out += e.data;
    le(cd, 0x02014b50, 4), le(cd, 20, 2), common(cd), le(cd, 0, 2), le(cd, 0, 2), le(cd, 0, 2), le(cd, 0, 4);
    le(cd, offset, 4), cd += name;
  }
  const size_t cd_offset = out.size();
  out += cd;
  le(out, 0x06054b50, 4), le(out, 0, 2), le(out, 0, 2), le(out, files.size(), 2), le(out, files.size(), 2);
  le(out, cd.size(), 4), le(out, cd_offset, 4), le(out, 0, 2);
  return out;
}

// zlib's deflate of `data` at `level`: raw (window_bits -15) or one gzip
// member, as gzip writes it (15 + 16).
inline std::string deflate_bytes(const std::string& data, int level, int window_bits) {
  std::string out(data.size() + 4096, '\0');
  z_stream zs{};
  if (deflateInit2(&zs, level, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate did not finish");
  out.resize(zs.total_out);
  return out;
}

}  // namespace gf::test
