// The zip compression methods Python's zipfile reads beside stored and
// deflate (data/archives/zip_reader.h), so a dataset zip that the official
// dataset_tool.py and training loader read is read here too:
//   12  bzip2 (libbz2): one bzip2 stream, "BZh" header included;
//   14  LZMA (liblzma): APPNOTE 5.8.8's layout, a 2-byte version, a 2-byte
//       properties size (5), the LZMA1 properties, then raw LZMA1 data, with
//       or without an end marker; decoded up to `size` and no further, as
//       Python's zipfile reads it (a stream without the marker may decode
//       its last bytes into more symbols past the end).
// Each gives exactly `size` bytes (the central directory's uncompressed size)
// from the n bytes at data, or throws gf::Error "<what>: <problem>": corrupt
// data, a stream that ends short of `size`, or (bzip2) runs past it; the
// caller's CRC check covers what LZMA kept. The output grows as the decoder
// fills it, so a header that claims gigabytes for a few bytes of input
// allocates only what the data really gives; a claim past 2^60 is refused.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// With `prefix`, the stream's first `size` bytes alone (ZipReader::read_head):
// decoding stops there, and what follows is not checked.
std::vector<uint8_t> unzip_bzip2(const uint8_t* data, size_t n, uint64_t size, const std::string& what,
                                 bool prefix = false);
std::vector<uint8_t> unzip_lzma(const uint8_t* data, size_t n, uint64_t size, const std::string& what);

}  // namespace gf
