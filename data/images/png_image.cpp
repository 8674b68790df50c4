#include "data/images/png_image.h"

#include <png.h>
#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "engine/error.h"
#include "engine/io/crc32.h"
#include "data/images/image_io.h"

namespace gf {
namespace {

void put_chunk(std::vector<uint8_t>& out, const char* type, const std::vector<uint8_t>& data) {
  uint8_t word[4];
  put_be32(word, uint32_t(data.size()));
  out.insert(out.end(), word, word + 4);
  const size_t from = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  put_be32(word, crc32(out.data() + from, 4 + data.size()));
  out.insert(out.end(), word, word + 4);
}

// A part of the stream libpng reads: bytes of ours, or of the file's image
// data chunk `piece` (-1: ours).
struct Segment {
  const uint8_t* bytes;
  size_t len;
  long piece;
};

// The stream libpng reads: the signature; the header Pillow reads as an IHDR
// (compression and filter method 0, Adam7 or none); for a palette image a
// PLTE of 256 entries (its values unused: the indices are looked up below,
// in the palette Pillow has); then the image data as Pillow reads it, each chunk's
// bytes (an fdAT's past its sequence number, a DDAT's) under an IDAT header
// of ours (split below 2^31 bytes, libpng's limit) with a CRC libpng does not
// check; then an IEND. `ours` holds the bytes of ours.
std::vector<Segment> libpng_stream(const PngHeader& h, std::vector<uint8_t>& ours) {
  ours = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr(13, 0);
  put_be32(ihdr.data(), h.width);
  put_be32(ihdr.data() + 4, h.height);
  ihdr[8] = uint8_t(h.depth), ihdr[9] = uint8_t(h.colour), ihdr[12] = h.interlaced ? 1 : 0;
  put_chunk(ours, "IHDR", ihdr);
  if (h.colour == 3) put_chunk(ours, "PLTE", std::vector<uint8_t>(768, 0));
  // Each chunk's bytes in pieces below 2^31, each an 8-byte header and 4
  // bytes of CRC in `ours`, reserved whole first so that pointers into it hold.
  constexpr size_t kMaxIdat = 0x7fffffff;
  size_t pieces = 0;
  for (const PngHeader::Data& d : h.image_data) pieces += std::max<size_t>(1, (d.len + kMaxIdat - 1) / kMaxIdat);
  ours.reserve(ours.size() + 12 * pieces + 12);
  std::vector<Segment> out = {{ours.data(), ours.size(), -1}};
  for (size_t i = 0; i < h.image_data.size(); ++i) {
    const PngHeader::Data& d = h.image_data[i];
    for (size_t from = 0; from == 0 || from < d.len; from += kMaxIdat) {
      const size_t len = std::min(kMaxIdat, d.len - from), at = ours.size();
      uint8_t word[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T'};  // the header, then a CRC of 0s
      put_be32(word, uint32_t(len));
      ours.insert(ours.end(), word, word + 12);
      out.push_back({ours.data() + at, 8, -1});
      out.push_back({d.bytes + from, len, long(i)});
      out.push_back({ours.data() + at + 8, 4, -1});
    }
  }
  put_chunk(ours, "IEND", {});
  out.push_back({ours.data() + ours.size() - 12, 12, -1});
  return out;
}

// What libpng's callbacks reach, on the heap: locals changed between setjmp
// and the jump back are indeterminate after it.
struct PngJob {
  std::vector<Segment> stream;  // libpng_stream's
  size_t segment = 0, at = 0;   // read up to byte `at` of stream[segment]
  long last_piece = -1;         // the last image data chunk libpng read from
  const uint8_t* file_end = nullptr;  // just past the last file byte it read
  char message[256] = {};
  png_uint_32 width = 0, height = 0;
  int depth = 0, colour = 0;
  bool interlaced = false;
  size_t pixel_bytes = 0;       // a pixel's in `raw`: its samples, a byte each below 8 bits, two at 16
  uint64_t rows_total = 0, rows_taken = 0;  // the rows of every pass
  bool complete = false;        // the last row is in: the jump back is the end, not an error
  // The pixels as stored: a byte per sample below 8 bits, two (big-endian)
  // at 16. Its capacity is the image's, but it grows as rows come (to the
  // whole image at an interlaced image's first row), so a header's size is
  // not touched before its data is there; what no row wrote is 0.
  std::vector<uint8_t> raw;
  size_t raw_size = 0;
};

// libpng's fatal errors end here and jump back to decode_png's setjmp.
[[noreturn]] void png_on_error(png_structp png, png_const_charp message) {
  PngJob* job = static_cast<PngJob*>(png_get_error_ptr(png));
  std::snprintf(job->message, sizeof job->message, "%s", message);
  png_longjmp(png, 1);
}
// Warnings (ancillary chunks libpng drops, benign errors) are not Pillow's concern either.
void png_on_warning(png_structp, png_const_charp) {}

void png_on_read(png_structp png, png_bytep out, size_t len) {
  PngJob* job = static_cast<PngJob*>(png_get_io_ptr(png));
  while (len > 0) {
    // (The stream ends in an IEND, which libpng never reads past.)
    if (job->segment == job->stream.size()) png_error(png, "read past the stream's end");
    const Segment& s = job->stream[job->segment];
    const size_t take = std::min(len, s.len - job->at);
    std::memcpy(out, s.bytes + job->at, take);
    if (s.piece >= 0 && take > 0) job->last_piece = s.piece, job->file_end = s.bytes + job->at + take;
    out += take, len -= take, job->at += take;
    if (job->at == s.len) ++job->segment, job->at = 0;
  }
}

// Every row (of each interlace pass) as libpng has unfiltered and unpacked
// it, before libpng would widen or copy it: placed in `raw` here. The last
// one ends the read with a jump back, so libpng never goes on past the rows,
// as PIL does not: libpng would inflate the rest of the stream to check its
// end (a bomb's gigabytes after a few rows took seconds), and refuse a
// stream without a proper end whose rows are all there, which PIL reads.
void png_take_row(png_structp png, png_row_infop row, png_bytep data) {
  PngJob* job = static_cast<PngJob*>(png_get_user_transform_ptr(png));
  const png_uint_32 r = png_get_current_row_number(png);
  const int pass = png_get_current_pass_number(png);
  const size_t px = job->pixel_bytes, stride = size_t(job->width) * px;
  // Reserved at the first row, not before: a header that claims a large
  // image over no image data (a dataset read from its files decodes
  // thousands of such files one by one) maps nothing.
  if (job->raw.capacity() == 0) job->raw.reserve(job->raw_size);
  if (!job->interlaced) {
    if (job->raw.size() < (size_t(r) + 1) * stride) job->raw.resize((size_t(r) + 1) * stride);
    std::memcpy(job->raw.data() + size_t(r) * stride, data, size_t(row->width) * px);
  } else {  // a pass's pixel j of its row r is at (PNG_ROW_FROM_PASS_ROW, PNG_COL_FROM_PASS_COL)
    job->raw.resize(job->raw_size);
    uint8_t* dst = job->raw.data() + size_t(PNG_ROW_FROM_PASS_ROW(size_t(r), pass)) * stride;
    for (png_uint_32 j = 0; j < row->width; ++j)
      std::memcpy(dst + size_t(PNG_COL_FROM_PASS_COL(size_t(j), pass)) * px, data + size_t(j) * px, px);
  }
  if (++job->rows_taken == job->rows_total) {
    job->complete = true;
    png_longjmp(png, 1);
  }
}

// Reads the rows into job->raw, leaving job->complete, or why not (message).
void read_rows(PngJob* job) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, png_on_error, png_on_warning);
  if (!png) throw std::bad_alloc();
  png_infop info = png_create_info_struct(png);
  struct Destroy {
    png_structp* png;
    png_infop* info;
    ~Destroy() { png_destroy_read_struct(png, info, nullptr); }
  } destroy{&png, &info};
  if (!info) throw std::bad_alloc();
  if (setjmp(png_jmpbuf(png))) return;  // the last row taken (job->complete), or an error
  png_set_read_fn(png, job, png_on_read);
  png_set_user_limits(png, 0x7fffffff, 0x7fffffff);  // image_info bounds the size, as PIL does
  png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);  // image_info checked every CRC
  png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
  // zlib's 32 KiB window whatever the stream's header claims, as PIL inflates.
  png_set_option(png, PNG_MAXIMUM_INFLATE_WINDOW, PNG_OPTION_ON);
  png_set_check_for_invalid_index(png, 0);  // the PLTE given is not the palette (below)
  png_read_info(png, info);
  int interlace = 0;
  png_get_IHDR(png, info, &job->width, &job->height, &job->depth, &job->colour, &interlace, nullptr, nullptr);
  job->interlaced = interlace != PNG_INTERLACE_NONE;
  if (job->depth < 8) png_set_packing(png);
  png_set_read_user_transform_fn(png, png_take_row);
  png_set_user_transform_info(png, job, 0, 0);
  png_read_update_info(png, info);
  const int samples = png_get_channels(png, info);
  job->pixel_bytes = size_t(samples) * (job->depth == 16 ? 2 : 1);
  job->raw_size = size_t(job->width) * job->height * job->pixel_bytes;
  for (int pass = 0; pass < (job->interlaced ? 7 : 1); ++pass)
    if (!job->interlaced || PNG_PASS_COLS(uint64_t(job->width), pass) > 0)
      job->rows_total += job->interlaced ? PNG_PASS_ROWS(uint64_t(job->height), pass) : job->height;
  // No interlace handling: libpng hands each pass's rows in turn (png_take_row), the empty passes skipped.
  for (uint64_t r = 0; r < job->rows_total; ++r) png_read_row(png, nullptr, nullptr);
  // (png_take_row jumps back after the last row: not reached)
  std::snprintf(job->message, sizeof job->message, "libpng gave %llu of its %llu rows",
                static_cast<unsigned long long>(job->rows_taken), static_cast<unsigned long long>(job->rows_total));
}

// Whether Pillow's zip decoder (ZipDecode.c) stops after `rows` rows: it
// inflates the data in reads of a chunk's bytes (at most 64 KiB each), a
// row at a time (its filter byte and samples, each pass's rows in turn), and
// stops, the rows after it black, when the inflate that completes a row
// ends the stream; a stream that ends inside a row, or after a row in a
// later read, it waits on ("image file is truncated"). Replayed here on the
// rows' sizes; *chunk: the image data chunk that read was from.
bool pillow_stops_after(const PngHeader& h, uint64_t rows, size_t* chunk_out) {
  const uint64_t bits = uint64_t(h.samples()) * uint64_t(h.depth);
  z_stream z{};
  if (inflateInit(&z) != Z_OK) throw std::bad_alloc();
  struct End {
    z_stream* z;
    ~End() { inflateEnd(z); }
  } end{&z};
  unsigned char out[1 << 14];  // the rows' bytes, counted (their values do not matter)
  size_t chunk = 0, in_chunk = 0;
  uint64_t done = 0;
  for (int pass = 0; pass < (h.interlaced ? 7 : 1); ++pass) {
    const uint64_t w = h.interlaced ? PNG_PASS_COLS(uint64_t(h.width), pass) : h.width;
    const uint64_t n = h.interlaced ? PNG_PASS_ROWS(uint64_t(h.height), pass) : h.height;
    for (uint64_t r = 0; w > 0 && r < n && done < rows; ++r, ++done) {
      for (uint64_t left = (w * bits + 7) / 8 + 1; left > 0;) {
        if (z.avail_in == 0) {  // Pillow's next read
          while (chunk < h.image_data.size() && in_chunk == h.image_data[chunk].len) ++chunk, in_chunk = 0;
          if (chunk == h.image_data.size()) return false;  // the data runs out
          const size_t take = std::min<size_t>(h.image_data[chunk].len - in_chunk, 65536);
          z.next_in = const_cast<Bytef*>(h.image_data[chunk].bytes + in_chunk), z.avail_in = uInt(take);
          in_chunk += take;
        }
        z.next_out = out, z.avail_out = uInt(std::min<uint64_t>(left, sizeof out));
        const uInt room = z.avail_out;
        const int err = inflate(&z, Z_NO_FLUSH);
        left -= room - z.avail_out;
        if (err == Z_STREAM_END) {
          *chunk_out = chunk;
          return left == 0 && done + 1 == rows;
        }
        if (err != Z_OK && err != Z_BUF_ERROR) return false;  // broken data
      }
    }
  }
  return false;
}

}  // namespace

PngImage decode_png(const uint8_t* data, size_t n, const std::string& name) {
  const PngHeader header = png_header(data, n);
  if (!header.problem.empty()) throw Error(name + ": " + header.problem);
  std::unique_ptr<PngJob> job = std::make_unique<PngJob>();
  std::vector<uint8_t> ours;
  job->stream = libpng_stream(header, ours);
  read_rows(job.get());
  // Pillow's load_end reads the image data chunks after the one its last row came from.
  size_t last_chunk = size_t(std::max(job->last_piece, 0L));
  size_t stream_end = 0;
  if (!job->complete && std::strcmp(job->message, "Not enough image data") == 0 && job->rows_taken > 0 &&
      pillow_stops_after(header, job->rows_taken, &stream_end)) {
    // A stream that ends on a row's last byte: Pillow's rows after it are black (raw's 0s).
    job->raw.resize(job->raw_size);
    job->complete = true;
    last_chunk = stream_end;  // (libpng read on, into the next chunk, before it failed)
  }
  if (!job->complete) {
    std::string m = job->message;
    const std::string own = " (libpng)";  // libpng's mark on a check of its own: the prefix says so
    if (m.size() > own.size() && m.compare(m.size() - own.size(), own.size(), own) == 0) m.resize(m.size() - own.size());
    if (m == "Not enough image data")
      throw Error(name + (header.data_cut ? ": truncated PNG: the file ends before its pixels do"
                                          : ": corrupt PNG image data (it ends before the image's rows do)"));
    if (m.rfind("IDAT: ", 0) == 0) throw Error(name + ": corrupt PNG image data (libpng: " + m.substr(6) + ")");
    throw Error(name + ": cannot decode PNG (libpng: " + m + ")");
  }
  const std::string unread = png_unread_data_problem(header, last_chunk);
  if (!unread.empty()) throw Error(name + ": " + unread);
  const png_uint_32 w = job->width, h = job->height;
  const int depth = job->depth, colour = job->colour;

  PngImage img;
  img.width = int(w), img.height = int(h);
  img.bytes_read = job->file_end ? size_t(job->file_end - data) : 0;
  const int samples = header.samples();
  img.colour_channels = header.colour_channels();
  img.alpha = header.alpha();  // as image_info says it
  const int out_c = img.colour_channels + (img.alpha ? 1 : 0);
  const size_t pixels = size_t(w) * h;
  if (depth == 8 && samples == out_c && colour != 3) {  // 8-bit grey, RGB, with their alpha: the rows as they are
    img.pixels = std::move(job->raw);
    return img;
  }
  const uint8_t* raw = job->raw.data();
  img.pixels.resize(pixels * size_t(out_c));
  uint8_t* out = img.pixels.data();
  using T = PngHeader::Transparency;
  if (colour == 3) {  // a palette of 256 entries: past the PLTE's, greys; alphas past the tRNS's, 255
    uint8_t table[256][4];
    for (int i = 0; i < 256; ++i) {
      const bool listed = size_t(i) * 3 + 3 <= header.plte_len;
      for (int c = 0; c < 3; ++c) table[i][c] = listed ? header.plte[i * 3 + c] : uint8_t(i);
      table[i][3] = header.transparency == T::bytes ? (size_t(i) < header.alphas_len ? header.alphas[i] : 255)
                    : header.transparency == T::value && header.key[0] == uint32_t(i) ? 0 : 255;
    }
    for (size_t p = 0; p < pixels; ++p, out += out_c) std::memcpy(out, table[raw[p]], size_t(out_c));
    return img;
  }
  // Grey or RGB, maybe with alpha: 8 bits a sample, or 16 (high byte, or
  // grey rounded), or 1, 2, 4 (scaled); a tRNS key of a sample each.
  img.high_byte = depth == 16 && colour != 0;
  img.rounded = depth == 16 && colour == 0;
  const int bytes = depth == 16 ? 2 : 1;
  const uint32_t scale = depth == 1 ? 255 : depth == 2 ? 85 : depth == 4 ? 17 : 1;
  const bool keyed = (colour == 0 || colour == 2) && img.alpha;  // a key of the image's mode (PngHeader::alpha)
  const uint32_t* key = header.key;
  for (size_t p = 0; p < pixels; ++p, raw += samples * bytes, out += out_c) {
    bool is_key = keyed;
    for (int c = 0; c < samples; ++c) {
      const uint32_t v = bytes == 2 ? uint32_t(raw[2 * c]) << 8 | raw[2 * c + 1] : raw[c];
      if (c < img.colour_channels) is_key = is_key && v == key[c];
      out[c] = img.rounded ? sample_to_8_bit(v, 65535) : bytes == 2 ? uint8_t(v >> 8) : uint8_t(v * scale);
    }
    if (keyed) out[samples] = is_key ? 0 : 255;
  }
  return img;
}

}  // namespace gf
