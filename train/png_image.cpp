#include "train/png_image.h"

#include <png.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

#include "engine/error.h"
#include "engine/io/crc32.h"
#include "train/image_io.h"

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

// What libpng reads before the file's image data: the signature, the header
// Pillow reads as an IHDR (compression and filter method 0, Adam7 or none),
// and for a palette image a PLTE of 256 entries (never read: the indices
// are looked up below, in the palette Pillow has).
std::vector<uint8_t> stream_head(const PngHeader& h) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<uint8_t> ihdr(13, 0);
  put_be32(ihdr.data(), h.width);
  put_be32(ihdr.data() + 4, h.height);
  ihdr[8] = uint8_t(h.depth), ihdr[9] = uint8_t(h.colour), ihdr[12] = h.interlaced ? 1 : 0;
  put_chunk(out, "IHDR", ihdr);
  if (h.colour == 3) put_chunk(out, "PLTE", std::vector<uint8_t>(768, 0));
  return out;
}

// What libpng's callbacks reach, on the heap: locals changed between setjmp
// and the jump back are indeterminate after it.
struct PngJob {
  std::vector<uint8_t> head;     // stream_head's, read first
  const uint8_t* data = nullptr;  // then the file from its first IDAT
  size_t n = 0, at = 0;           // at: read of head and data together
  bool past_end = false;
  char message[256] = {};
  png_uint_32 width = 0, height = 0;
  int depth = 0, colour = 0;
  bool interlaced = false;
  size_t pixel_bytes = 0;       // a pixel's in `raw`: its samples, a byte each below 8 bits, two at 16
  uint64_t rows_total = 0, rows_taken = 0;  // the rows of every pass
  bool complete = false;        // the last row is in: the jump back is the end, not an error
  std::vector<uint8_t> raw;     // the pixels as stored: a byte per sample below 8 bits, two (big-endian) at 16
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
  const size_t head = job->head.size();
  if (len > head + job->n - job->at) {
    job->past_end = true;
    png_error(png, "the file ends");
  }
  for (; len > 0 && job->at < head; --len) *out++ = job->head[job->at++];
  std::memcpy(out, job->data + (job->at - head), len);
  job->at += len;
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
  if (!job->interlaced) {
    std::memcpy(job->raw.data() + size_t(r) * stride, data, size_t(row->width) * px);
  } else {  // a pass's pixel j of its row r is at (PNG_ROW_FROM_PASS_ROW, PNG_COL_FROM_PASS_COL)
    uint8_t* dst = job->raw.data() + size_t(PNG_ROW_FROM_PASS_ROW(size_t(r), pass)) * stride;
    for (png_uint_32 j = 0; j < row->width; ++j)
      std::memcpy(dst + size_t(PNG_COL_FROM_PASS_COL(size_t(j), pass)) * px, data + size_t(j) * px, px);
  }
  if (++job->rows_taken == job->rows_total) {
    job->complete = true;
    png_longjmp(png, 1);
  }
}

// Reads the rows into job->raw, leaving job->complete, or why not (past_end,
// message). `byte_at_a_time`: libpng asks for the image data a byte at a
// time (else 8 KiB), so that a file cut inside its last read, after the
// rows, is read as far as the rows need.
void read_rows(PngJob* job, bool byte_at_a_time) {
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
  if (byte_at_a_time) png_set_compression_buffer_size(png, 1);  // on a read struct: the image data's read size
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
  job->raw.resize(size_t(job->width) * job->height * job->pixel_bytes);
  for (int pass = 0; pass < (job->interlaced ? 7 : 1); ++pass)
    if (!job->interlaced || PNG_PASS_COLS(uint64_t(job->width), pass) > 0)
      job->rows_total += job->interlaced ? PNG_PASS_ROWS(uint64_t(job->height), pass) : job->height;
  // No interlace handling: libpng hands each pass's rows in turn (png_take_row), the empty passes skipped.
  for (uint64_t r = 0; r < job->rows_total; ++r) png_read_row(png, nullptr, nullptr);
  // (png_take_row jumps back after the last row: not reached)
  std::snprintf(job->message, sizeof job->message, "libpng gave %llu of its %llu rows",
                static_cast<unsigned long long>(job->rows_taken), static_cast<unsigned long long>(job->rows_total));
}

}  // namespace

PngImage decode_png(const uint8_t* data, size_t n, const std::string& name) {
  const PngHeader header = png_header(data, n);
  if (!header.problem.empty()) throw Error(name + ": " + header.problem);
  auto job_for = [&] {
    std::unique_ptr<PngJob> job = std::make_unique<PngJob>();
    job->head = stream_head(header);
    job->data = data + header.image_data_at, job->n = n - header.image_data_at;
    return job;
  };
  std::unique_ptr<PngJob> job = job_for();
  read_rows(job.get(), false);
  if (!job->complete && job->past_end) {  // cut inside libpng's last 8 KiB read: its rows may all be there
    job = job_for();
    read_rows(job.get(), true);
  }
  if (!job->complete) {
    if (job->past_end) throw Error(name + ": truncated PNG: the file ends before its pixels do");
    std::string m = job->message;
    const std::string own = " (libpng)";  // libpng's mark on a check of its own: the prefix says so
    if (m.size() > own.size() && m.compare(m.size() - own.size(), own.size(), own) == 0) m.resize(m.size() - own.size());
    if (m.rfind("IDAT: ", 0) == 0) throw Error(name + ": corrupt PNG image data (libpng: " + m.substr(6) + ")");
    throw Error(name + ": cannot decode PNG (libpng: " + m + ")");
  }
  const png_uint_32 w = job->width, h = job->height;
  const int depth = job->depth, colour = job->colour;

  PngImage img;
  img.width = int(w), img.height = int(h);
  img.bytes_read = header.image_data_at + (job->at - std::min(job->at, job->head.size()));
  const int samples = colour == 2 ? 3 : colour == 4 ? 2 : colour == 6 ? 4 : 1;  // a pixel's, as stored
  img.colour_channels = colour == 2 || colour == 3 || colour == 6 ? 3 : 1;
  const PngHeader& pc = header;
  img.alpha = colour == 4 || colour == 6 || pc.has_trns;  // as image_info says it
  const int out_c = img.colour_channels + (img.alpha ? 1 : 0);
  const size_t pixels = size_t(w) * h;
  if (depth == 8 && samples == out_c && colour != 3) {  // 8-bit grey, RGB, with their alpha: the rows as they are
    img.pixels = std::move(job->raw);
    return img;
  }
  img.pixels.resize(pixels * size_t(out_c));
  uint8_t* out = img.pixels.data();
  const uint8_t* raw = job->raw.data();
  if (colour == 3) {  // a palette of 256 entries: past the PLTE's, greys; alphas past the tRNS's, 255
    uint8_t table[256][4];
    for (int i = 0; i < 256; ++i) {
      const bool listed = size_t(i) * 3 + 3 <= pc.plte_len;
      for (int c = 0; c < 3; ++c) table[i][c] = listed ? pc.plte[i * 3 + c] : uint8_t(i);
      table[i][3] = size_t(i) < pc.trns_len ? pc.trns[i] : 255;
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
  const bool keyed = (colour == 0 || colour == 2) && pc.has_trns;
  const bool key_valid = keyed && pc.trns_len >= size_t(samples) * 2;  // its first samples, as Pillow; shorter: opaque
  uint32_t key[3] = {};
  for (int c = 0; keyed && key_valid && c < samples; ++c) key[c] = uint32_t(pc.trns[2 * c]) << 8 | pc.trns[2 * c + 1];
  for (size_t p = 0; p < pixels; ++p, raw += samples * bytes, out += out_c) {
    bool is_key = key_valid;
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
