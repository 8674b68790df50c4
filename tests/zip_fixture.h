// A .zip built in memory for the tests that read zips (datasets, psp):
// every file stored (method 0) with its CRC-32, as `zip -0` writes them.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "train/zip_reader.h"

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

}  // namespace gf::test
