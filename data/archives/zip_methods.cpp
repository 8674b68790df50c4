#include "data/archives/zip_methods.h"

#include <bzlib.h>
#include <lzma.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "engine/error.h"

namespace gf {
namespace {

// Room for the next output: doubles what there is, up to `cap`, from at most 1 MiB.
void grow(std::vector<uint8_t>& out, uint64_t cap) {
  out.resize(static_cast<size_t>(std::min<uint64_t>(cap, std::max<uint64_t>(out.size() * 2, std::min<uint64_t>(cap, 1 << 20)))));
}

// A claim past this is corrupt (and size + 1 must not wrap).
void check_claim(uint64_t size, const std::string& what) {
  if (size > (uint64_t(1) << 60))
    throw_error(what, "claims " + std::to_string(size) + " bytes, more than any file holds (corrupt header)");
}

std::string too_long(uint64_t size) {
  return "decompresses to more than the " + std::to_string(size) + " bytes its header gives (corrupt entry)";
}

std::string too_short(uint64_t got, uint64_t size) {
  return "decompresses to " + std::to_string(got) + " bytes, its header gives " + std::to_string(size) +
         " (corrupt or cut entry)";
}

}  // namespace

std::vector<uint8_t> unzip_bzip2(const uint8_t* data, size_t n, uint64_t size, const std::string& what, bool prefix) {
  check_claim(size, what);
  bz_stream s{};
  if (BZ2_bzDecompressInit(&s, 0, 0) != BZ_OK) throw_error(what, "cannot start the bzip2 decoder (out of memory)");
  std::vector<uint8_t> out;
  uint64_t got = 0;
  size_t used = 0;
  int rc = BZ_OK;
  // One spare byte tells a stream that runs past `size`; a prefix stops there.
  const uint64_t room = prefix ? size : size + 1;
  // libbz2 counts in unsigned int: the input is fed in pieces.
  while (rc == BZ_OK) {
    if (got == out.size()) {
      if (out.size() == room) break;
      grow(out, room);
    }
    const size_t in_piece = std::min<size_t>(n - used, UINT_MAX);
    const size_t out_piece = std::min<size_t>(out.size() - got, UINT_MAX);
    s.next_in = reinterpret_cast<char*>(const_cast<uint8_t*>(data + used));
    s.avail_in = static_cast<unsigned>(in_piece);
    s.next_out = reinterpret_cast<char*>(out.data() + got);
    s.avail_out = static_cast<unsigned>(out_piece);
    rc = BZ2_bzDecompress(&s);
    used += in_piece - s.avail_in;
    const uint64_t made = out_piece - s.avail_out;
    got += made;
    if (rc == BZ_OK && made == 0 && in_piece - s.avail_in == 0 && s.avail_out > 0) {
      rc = BZ_UNEXPECTED_EOF;  // no progress: the input ended inside the stream
    }
  }
  BZ2_bzDecompressEnd(&s);
  if (prefix && got == size) return out;
  if (got > size) throw_error(what, too_long(size));
  if (rc == BZ_DATA_ERROR || rc == BZ_DATA_ERROR_MAGIC) throw_error(what, "corrupt bzip2 data");
  if (rc == BZ_MEM_ERROR) throw_error(what, "out of memory in the bzip2 decoder");
  if (rc != BZ_STREAM_END) throw_error(what, "bzip2 data ends inside its stream (cut entry)");
  if (got != size) throw_error(what, too_short(got, size));
  out.resize(static_cast<size_t>(got));
  return out;
}

std::vector<uint8_t> unzip_lzma(const uint8_t* data, size_t n, uint64_t size, const std::string& what) {
  check_claim(size, what);
  if (n < 4) throw_error(what, "LZMA data shorter than its 4-byte header (corrupt entry)");
  const size_t props_size = size_t(data[2]) | size_t(data[3]) << 8;
  if (props_size != 5 || n < 4 + props_size)
    throw_error(what, "LZMA properties of " + std::to_string(props_size) + " bytes (LZMA1's are 5; corrupt entry)");
  lzma_filter filters[2] = {{LZMA_FILTER_LZMA1, nullptr}, {LZMA_VLI_UNKNOWN, nullptr}};
  if (lzma_properties_decode(&filters[0], nullptr, data + 4, props_size) != LZMA_OK)
    throw_error(what, "corrupt LZMA properties");
  lzma_stream s = LZMA_STREAM_INIT;
  const lzma_ret init = lzma_raw_decoder(&s, filters);
  free(filters[0].options);  // the decoder keeps its own copy (liblzma allocates options with malloc)
  if (init != LZMA_OK) throw_error(what, "cannot start the LZMA decoder");
  std::vector<uint8_t> out;
  s.next_in = data + 4 + props_size;
  s.avail_in = n - 4 - props_size;
  lzma_ret rc = LZMA_OK;
  uint64_t got = 0;
  // Up to `size`, where Python's zipfile stops too: without the end marker
  // the decoder, not told the size, may read the range coder's last bytes
  // as more symbols past it. (The entry's CRC still checks what is kept.)
  while (rc == LZMA_OK && got < size) {
    if (got == out.size()) grow(out, size);
    s.next_out = out.data() + got;
    s.avail_out = out.size() - got;
    const size_t in_before = s.avail_in;
    rc = lzma_code(&s, LZMA_RUN);
    const uint64_t made = (out.size() - got) - s.avail_out;
    got += made;
    // Without an end marker the data just stops: all input read and no more
    // output is the end (Python's zipfile reads it so).
    if (rc == LZMA_OK && made == 0 && s.avail_in == in_before) break;
  }
  lzma_end(&s);
  if (rc == LZMA_DATA_ERROR || rc == LZMA_FORMAT_ERROR || rc == LZMA_OPTIONS_ERROR) throw_error(what, "corrupt LZMA data");
  if (rc == LZMA_MEM_ERROR || rc == LZMA_MEMLIMIT_ERROR) throw_error(what, "out of memory in the LZMA decoder");
  if (rc != LZMA_OK && rc != LZMA_STREAM_END && rc != LZMA_BUF_ERROR) throw_error(what, "LZMA decoder error " + std::to_string(rc));
  if (got != size) throw_error(what, too_short(got, size));
  out.resize(static_cast<size_t>(got));
  return out;
}

}  // namespace gf
