// CRC-32 (IEEE 802.3: zip, gzip, PNG and zlib.crc32's), for the archives
// and images the project reads and for the check a .bin carries over its
// tensor data (engine/io/safetensors.h). zlib's (Debian: zlib1g-dev).
#pragma once
#include <cstddef>
#include <cstdint>

namespace gf {

// The CRC-32 of n bytes; pass a previous result as crc to continue it over
// more bytes. crc32("123456789") is 0xCBF43926, the standard check value.
uint32_t crc32(const void* data, size_t n, uint32_t crc = 0);

}  // namespace gf
