#include "data/images/image_io.h"

#include <stb_image.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstring>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/input_file.h"
#include "engine/io/atomic_file.h"
#include "data/images/bmp_as_pil.h"
#include "data/byte_order.h"
#include "data/images/gif_as_pil.h"
#include "data/images/jpeg2000_image.h"
#include "data/images/jpeg_image.h"
#include "data/images/pcx_as_pil.h"
#include "data/images/png_image.h"
#include "data/images/pnm_as_pil.h"
#include "data/images/psd_as_pil.h"
#include "data/images/tga_as_pil.h"
#include "data/images/tiff_image.h"
#include "data/images/webp_image.h"
#include "data/archives/zip_reader.h"

namespace gf {
namespace {

int as_int_size(size_t n, const std::string& name) {
  if (n > INT_MAX) throw Error(name + ": over 2 GiB, more than stb_image reads");
  return static_cast<int>(n);
}

std::vector<uint8_t> read_file(const std::string& path) {
  return io::read_input(path);
}

bool starts(const uint8_t* d, size_t n, std::string_view magic, size_t at = 0) {
  return n >= at + magic.size() && std::memcmp(d + at, magic.data(), magic.size()) == 0;
}

// The format by its magic bytes: stb_image's own (TGA has none: what stb
// accepts without another match), or, for a file stb_image refused, one it
// cannot read, named so the message can say what the file is.
struct Sniffed {
  std::string name;
  bool readable;
};
Sniffed sniff(const uint8_t* d, size_t n) {
  using namespace std::literals;
  if (starts(d, n, "\x89PNG\r\n\x1a\n"sv)) return {"PNG", true};
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return {"JPEG", true};
  if (starts(d, n, "GIF8")) return {"GIF", true};
  if (is_jpeg2000(d, n)) return {"JPEG 2000", true};  // OpenJPEG (data/images/jpeg2000_image.h)
  if (starts(d, n, "BM")) return {"BMP", true};
  if (starts(d, n, "8BPS")) {  // RGB: stb_image's; Pillow's other modes: data/images/psd_as_pil.h
    const PsdMode psd = psd_mode(d, n);
    return {psd.refused.empty() ? "PSD" : psd.refused, psd.refused.empty()};
  }
  if (starts(d, n, "#?RADIANCE") || starts(d, n, "#?RGBE")) return {"HDR", true};
  if (starts(d, n, "\x53\x80\xF6\x34")) return {"PIC", true};
  // P5, P6: stb_image's; P1-P4 as Pillow reads them (data/images/pnm_as_pil.h).
  if (n >= 2 && d[0] == 'P' && d[1] >= '1' && d[1] <= '6') return {"PNM", true};
  if (n >= 2 && d[0] == 'P' && d[1] == '7') return {"PNM P7 (PAM)", false};
  if (starts(d, n, "ftyp"sv, 4)) return {"HEIF/AVIF", false};
  if (starts(d, n, "\xFF\x0A"sv) || starts(d, n, "\0\0\0\x0CJXL "sv)) return {"JPEG XL", false};
  if (starts(d, n, "\0\0\1\0"sv)) return {"ICO", false};
  if (starts(d, n, "%PDF")) return {"PDF", false};
  // Pillow's test: a TGA of a 10-byte ID is one too (Pillow fails on it
  // unless its header is no PCX's: header_info).
  if (n >= 2 && d[0] == 0x0A && (d[1] == 0 || d[1] == 2 || d[1] == 3 || d[1] == 5)) return {"PCX", true};
  return {"", true};  // TGA, or not an image: stb_image decides
}

}  // namespace

int exif_block_orientation(const uint8_t* p, size_t n) {
  if (n >= 6 && std::memcmp(p, "Exif\0\0", 6) == 0) p += 6, n -= 6;  // the APP1 header, which some WebP writers keep
  if (n < 8) return 1;
  const bool le = p[0] == 'I' && p[1] == 'I';
  if (!le && !(p[0] == 'M' && p[1] == 'M')) return 1;
  auto u16 = [&](size_t at) { return le ? uint32_t(p[at] | p[at + 1] << 8) : uint32_t(p[at] << 8 | p[at + 1]); };
  auto u32 = [&](size_t at) { return le ? u16(at) | u16(at + 2) << 16 : u16(at) << 16 | u16(at + 2); };
  if (u16(2) != 42) return 1;
  const size_t ifd = u32(4);
  if (ifd + 2 > n) return 1;
  const size_t count = u16(ifd);
  for (size_t i = 0; i < count && ifd + 2 + 12 * (i + 1) <= n; ++i) {
    const size_t e = ifd + 2 + 12 * i;
    if (u16(e) == 0x0112 && u16(e + 2) == 3) {  // SHORT
      const uint32_t v = u16(e + 8);
      return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
    }
  }
  return 1;
}

namespace {

// A size of 0 (or -2^31) in any format's header is refused, as PIL refuses
// it, and one of more pixels than PIL opens.
void check_pil_pixels(int64_t w, int64_t h, const std::string& format, const std::string& name) {
  const std::string size = std::to_string(w) + "x" + std::to_string(h);
  if (w <= 0 || h <= 0) throw Error(name + ": a " + format + " of " + size + " pixels (corrupt header)");
  if (uint64_t(w) * uint64_t(h) > kPilMaxPixels || w > INT_MAX || h > INT_MAX)
    throw Error(name + ": a " + format + " of " + size + " pixels, more than PIL opens (" +
                std::to_string(kPilMaxPixels) + ": its decompression-bomb limit, which the official tools fail on)");
}

// A PNG's eXIf orientation, and the first chunk whose CRC does not match, by
// name ("" when all do). PIL checks the CRCs of the chunks before the image
// data only (it decodes a damaged IDAT as it is): a deviation, which refuses
// the damage instead.
std::string png_metadata(const uint8_t* d, size_t n, ImageInfo& info) {
  std::string bad_crc;
  for_each_png_chunk(d, n, [&](size_t at, size_t len) {
    const uint8_t* type = d + at + 4;
    if (crc32(type, 4 + len) != be32(d + at + 8 + len)) {
      bad_crc = png_chunk_name(type);
      return false;
    }
    if (std::memcmp(type, "eXIf", 4) == 0) info.orientation = exif_block_orientation(d + at + 8, len);
    return true;
  });
  return bad_crc;
}

// JPEG markers up to the scan: the frame's component count (4: CMYK or YCCK)
// and an APP1 EXIF orientation.
void jpeg_metadata(const uint8_t* d, size_t n, ImageInfo& info) {
  for (size_t at = 2; at + 4 <= n;) {
    if (d[at] != 0xFF) return;
    const uint8_t m = d[at + 1];
    if (m == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (m == 0xD8 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // no length
      at += 2;
      continue;
    }
    if (m == 0xDA || m == 0xD9) return;  // start of scan, end of image
    const size_t len = size_t(d[at + 2]) << 8 | d[at + 3];
    if (len < 2 || at + 2 + len > n) return;
    const uint8_t* seg = d + at + 4;
    const size_t seg_n = len - 2;
    if (m == 0xE1 && seg_n > 6 && std::memcmp(seg, "Exif\0\0", 6) == 0) info.orientation = exif_block_orientation(seg, seg_n);
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC && seg_n >= 6) info.is_cmyk = seg[5] == 4;
    at += 2 + len;
  }
}

// A binary PNM header's width, height and maxval (its samples run
// 0..maxval, which stb_image takes as 0..255 or 0..65535 unscaled), capped
// at 2^20; why it is unusable ("" when it is), in the words of a message.
struct PnmHeader {
  long field[3] = {-1, -1, -1};
  std::string problem;
  size_t data_at = 0;  // after the one whitespace byte that ends the maxval
};
PnmHeader pnm_header(const uint8_t* d, size_t n) {
  static const char* const kNames[3] = {"width", "height", "maxval"};
  PnmHeader h;
  size_t at = 2;
  auto space = [](uint8_t c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  auto digit = [](uint8_t c) { return c >= '0' && c <= '9'; };
  for (int field = 0; field < 3; ++field) {
    for (;;) {  // whitespace, and comments from '#' to the end of the line
      while (at < n && space(d[at])) ++at;
      if (at >= n || d[at] != '#') break;
      while (at < n && d[at] != '\n' && d[at] != '\r') ++at;
    }
    if (at >= n || !digit(d[at])) {
      h.problem = std::string("its ") + kNames[field] + " is not a whole number";
      return h;
    }
    long v = 0;
    for (; at < n && digit(d[at]); ++at) v = std::min(v * 10 + (d[at] - '0'), 1L << 20);
    h.field[field] = v;
  }
  h.data_at = at + 1;
  if (h.field[0] == 0 || h.field[1] == 0) h.problem = "its width or height is 0";
  else if (h.field[2] < 1 || h.field[2] > 65535) h.problem = "its maxval is not in [1, 65535]";
  return h;
}

// Why stb_image 2.27 must not decode a Radiance HDR ("" when it may): on
// run-length data its decoder loops forever on a run count of zero, which
// is also what it reads past the end of a cut file; flat data shorter than
// its pixels it would fill in whole first. Walks the scanlines as it does.
constexpr const char* kHdrCut = "the file ends before its pixels do";
std::string hdr_data_problem(const uint8_t* d, size_t n) {
  // Header lines up to an empty one, then the size line "-Y h +X w".
  size_t at = 0;
  auto line = [&] {
    const size_t start = at;
    while (at < n && d[at] != '\n') ++at;
    const std::string l(reinterpret_cast<const char*>(d + start), at - start);
    if (at < n) ++at;
    return l;
  };
  line();
  while (at < n && !line().empty()) {
  }
  const std::string size = line();
  long h = 0, w = 0;
  if (std::sscanf(size.c_str(), "-Y %ld +X %ld", &h, &w) != 2 || w <= 0 || h <= 0) return "";  // stb refuses it
  // Flat rows take 4 bytes a pixel: a file shorter is refused before stb
  // allocates and fills the image (as for the other uncompressed formats).
  auto flat = [&](long rows) { return uint64_t(n - at) / 4 / uint64_t(w) < uint64_t(rows) ? kHdrCut : ""; };
  if (w < 8 || w >= 32768) return flat(h);
  for (long y = 0; y < h; ++y) {
    if (at + 4 > n) return kHdrCut;
    if (d[at] != 2 || d[at + 1] != 2 || (d[at + 2] & 0x80)) return flat(h - y);  // not run-length encoded from here: read flat
    if ((long(d[at + 2]) << 8 | d[at + 3]) != w) return "";  // stb refuses the scanline length itself
    at += 4;
    for (int channel = 0; channel < 4; ++channel)
      for (long x = 0; x < w;) {
        if (at >= n) return kHdrCut;
        const int count = d[at++];
        if (count == 0) return "a run of length zero in scanline " + std::to_string(y);
        const long len = count > 128 ? count - 128 : count;
        if (len > w - x) return "";  // stb refuses a run past the scanline's end
        at += count > 128 ? 1 : size_t(len);
        x += len;
      }
  }
  return "";
}

// stb_image reads past the end of its input as zeros, and its BMP, TGA,
// PNM, GIF and HDR decoders finish a cut file without an error. Fed through
// callbacks instead, the decoder's reads show whether it wanted bytes the
// file does not have. stb refills its own buffer whatever it needs, so a
// short refill is normal; a read once everything was given, or a direct
// read (into the caller's memory, not that buffer) of more than is left,
// is a read past the end. The first read is always a refill: it names the
// buffer.
struct Feed {
  const uint8_t* data;
  size_t n, pos = 0;
  bool past_end = false;
  const char* refill_buffer = nullptr;
  static int read(void* user, char* out, int size) {
    Feed& f = *static_cast<Feed*>(user);
    if (!f.refill_buffer) f.refill_buffer = out;
    const size_t left = f.n - f.pos, want = size > 0 ? size_t(size) : 0;
    if (want > 0 && (left == 0 || (out != f.refill_buffer && want > left))) f.past_end = true;
    const size_t k = std::min(left, want);
    std::memcpy(out, f.data + f.pos, k);
    f.pos += k;
    return static_cast<int>(k);
  }
  static void skip(void* user, int k) {
    Feed& f = *static_cast<Feed*>(user);
    f.pos = k < 0 ? f.pos : std::min(f.n, f.pos + size_t(k));  // skipping row padding past the end needs no bytes
  }
  static int eof(void* user) {
    const Feed& f = *static_cast<const Feed*>(user);
    return f.pos >= f.n;
  }
};
const stbi_io_callbacks kFeedCallbacks = {&Feed::read, &Feed::skip, &Feed::eof};

// The fewest bytes a file handed to stb_image must hold for its pixels, in
// the layouts whose data cannot be smaller than the pixels (uncompressed
// BMP, TGA, PNM and PSD; a PSD's run-length row table): stb allocates and
// fills the whole image before it finds the data cut short (a 170-byte BMP
// claiming 13000x13000 took 1.3 GB and 5 s to refuse). 0 where the data
// may be compressed.
uint64_t stb_least_bytes(const uint8_t* d, size_t n, const std::string& format) {
  if (format == "BMP") return bmp_least_bytes(d, n);  // data/images/bmp_as_pil.h
  if (format == "PSD") return psd_least_bytes(d, n);  // data/images/psd_as_pil.h
  if (format == "TGA" && n >= 18 && (d[2] == 1 || d[2] == 2 || d[2] == 3)) {  // colour-mapped, true-colour, grey
    const uint64_t map = d[1] ? uint64_t(le16(d + 5)) * ((d[7] + 7u) / 8) : 0;
    return 18 + uint64_t(d[0]) + map + uint64_t(le16(d + 12)) * le16(d + 14) * ((d[16] + 7u) / 8);
  }
  if (format == "PNM") {  // (an HDR's flat rows: hdr_data_problem)
    const PnmHeader pnm = pnm_header(d, n);
    if (!pnm.problem.empty()) return 0;
    return pnm.data_at + uint64_t(pnm.field[0]) * uint64_t(pnm.field[1]) * (d[1] == '6' ? 3 : 1) * (pnm.field[2] > 255 ? 2 : 1);
  }
  return 0;
}

// stb_image 2.27 returns a 16-bit PNM's big-endian samples in the file's
// byte order (later versions swap them); asked once, of a one-pixel image.
bool stb_pnm16_in_file_order() {
  static const bool in_file_order = [] {
    const uint8_t pgm[] = {'P', '5', ' ', '1', ' ', '1', ' ', '6', '5', '5', '3', '5', '\n', 0x01, 0x02};
    int w = 0, h = 0, c = 0;
    stbi_us* p = stbi_load_16_from_memory(pgm, sizeof pgm, &w, &h, &c, 1);
    const bool raw = p && p[0] != 0x0102;
    stbi_image_free(p);
    return raw;
  }();
  return in_file_order;
}

// Pixel (x, y) of the upright image is pixel src(x, y) of the stored one,
// for the eight EXIF orientations (w, h: the stored size).
std::vector<uint8_t> orient(const std::vector<uint8_t>& px, int w, int h, int c, int o) {
  const bool swap = o >= 5;
  const int W = swap ? h : w, H = swap ? w : h;
  std::vector<uint8_t> out(px.size());
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      int sx = x, sy = y;
      switch (o) {
        case 2: sx = w - 1 - x; break;                       // mirrored left-right
        case 3: sx = w - 1 - x, sy = h - 1 - y; break;       // turned 180
        case 4: sy = h - 1 - y; break;                       // mirrored top-bottom
        case 5: sx = y, sy = x; break;                       // transposed
        case 6: sx = y, sy = h - 1 - x; break;               // to be turned 90 clockwise
        case 7: sx = w - 1 - y, sy = h - 1 - x; break;       // transversed
        case 8: sx = w - 1 - y, sy = x; break;               // to be turned 90 counter-clockwise
        default: break;
      }
      std::memcpy(&out[(size_t(y) * W + x) * c], &px[(size_t(sy) * w + sx) * c], size_t(c));
    }
  return out;
}

}  // namespace

bool pil_lists_extension(const std::string& ext) {
  static const char* const kPil[] = {
      "apng", "blp", "bmp", "bufr", "bw",  "cur", "dcx", "dds", "dib",  "emf", "eps", "fit",  "fits", "flc",
      "fli",  "ftc", "ftu", "gbr",  "gif", "grib", "h5", "hdf", "icb",  "icns", "ico", "iim", "im",   "j2c",
      "j2k",  "jfif", "jp2", "jpc", "jpe", "jpeg", "jpf", "jpg", "jpx", "mpeg", "mpg", "mpo", "msp",  "palm",
      "pbm",  "pcd", "pcx", "pdf",  "pgm", "png", "pnm", "ppm", "ps",   "psd",  "pxr", "ras", "rgb",  "rgba",
      "sgi",  "tga", "tif", "tiff", "vda", "vst", "webp", "wmf", "xbm", "xpm"};
  std::string e = ext;
  for (char& c : e) c = char(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(std::begin(kPil), std::end(kPil), [&](const char* x) { return e == x; });
}

std::string pil_only_format(const uint8_t* data, size_t n) {
  const Sniffed fmt = sniff(data, n);
  // Of the formats sniff() names and no decoder here reads, those Pillow 9.4 opens.
  if (fmt.readable) return "";
  if (fmt.name == "ICO") return fmt.name;
  if (fmt.name.rfind("PSD in ", 0) == 0) return psd_mode(data, n).pil_reads ? fmt.name : "";
  return "";
}

std::string splitext_extension(const std::string& name) {
  const size_t slash = name.rfind('/');
  const std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  const size_t first = base.find_first_not_of('.');
  const size_t dot = base.rfind('.');
  if (first == std::string::npos || dot == std::string::npos || dot < first) return "";
  return base.substr(dot + 1);
}

namespace {

ImageInfo header_info(const uint8_t* data, size_t n, const std::string& name) {
  ImageInfo info;
  if (is_webp(data, n)) {  // libwebp, not stb_image
    const WebpImage webp = webp_info(data, n, name);
    info.format = "WebP";
    info.width = webp.width, info.height = webp.height;
    info.channels = webp.alpha ? 4 : 3;  // Pillow opens every WebP as RGB or RGBA
    info.alpha = webp.alpha;
    info.orientation = webp.orientation;
    if (info.orientation >= 5) std::swap(info.width, info.height);
    return info;
  }
  if (is_tiff(data, n)) {  // libtiff, not stb_image
    const TiffImage tiff = tiff_info(data, n, name);
    info.format = "TIFF";
    info.width = tiff.width, info.height = tiff.height;
    info.channels = (tiff.colour ? 3 : 1) + (tiff.alpha ? 1 : 0);
    info.alpha = tiff.alpha;
    info.is_16_bit = tiff.is_16_bit;
    info.is_cmyk = tiff.is_cmyk;
    info.bilevel = tiff.bilevel;
    info.orientation = tiff.orientation;
    if (info.orientation >= 5) std::swap(info.width, info.height);
    return info;
  }
  if (is_jpeg2000(data, n)) {  // OpenJPEG, not stb_image
    const Jpeg2000Image j2k = jpeg2000_info(data, n, name);
    info.format = "JPEG 2000";
    info.width = j2k.width, info.height = j2k.height;
    info.channels = (j2k.colour ? 3 : 1) + (j2k.alpha ? 1 : 0);
    info.alpha = j2k.alpha;
    info.is_16_bit = j2k.is_16_bit;
    return info;
  }
  Sniffed fmt = sniff(data, n);
  if (fmt.name == "PNG") {  // its chunks as Pillow reads them (data/images/png_header.h), not stb_image
    const PngHeader png = png_header(data, n);
    if (!png.problem.empty()) throw Error(name + ": " + png.problem);
    check_pil_pixels(png.width, png.height, "PNG", name);
    info.format = "PNG";
    info.width = int(png.width), info.height = int(png.height);
    info.alpha = png.alpha();
    info.channels = png.colour_channels() + (info.alpha ? 1 : 0);
    info.is_16_bit = png.depth == 16;
    info.bilevel = png.depth == 1 && png.colour == 0;
    const std::string chunk = png_metadata(data, n, info);
    if (!chunk.empty()) throw Error(name + ": corrupt PNG (the CRC of its " + chunk + " chunk does not match)");
    if (info.orientation >= 5) std::swap(info.width, info.height);
    return info;
  }
  const int len = as_int_size(n, name);
  // As Pillow reads it (data/images/bmp_as_pil.h).
  const BmpAsPil bmp = fmt.name == "BMP" ? bmp_as_pil(data, n) : BmpAsPil{};
  if (bmp.stb_refuses && (bmp.palette || bmp.plain)) {  // run-length data and other layouts stb refuses
    info.format = "BMP";
    info.width = bmp.width, info.height = bmp.height;
    info.channels = bmp.grey ? 1 : bmp.alpha ? 4 : 3;
    info.alpha = bmp.alpha;
    return info;
  }
  const PsdMode psd = fmt.name == "PSD" ? psd_mode(data, n) : PsdMode{};
  if (psd.applies) {  // a mode other than RGB, which stb does not read (data/images/psd_as_pil.h)
    info.format = "PSD";
    info.width = int(std::min<int64_t>(psd.width, INT_MAX)), info.height = int(std::min<int64_t>(psd.height, INT_MAX));
    info.channels = psd.channels;
    info.bilevel = psd.bilevel;
    info.is_cmyk = psd.cmyk;
    return info;
  }
  // A PNM header's fault in its own words: stb_image's is the last format it
  // tried ("Image not of any known type"), or none (a width of -16 passed).
  if (fmt.name == "JPEG") {  // libjpeg-turbo's reading, as Pillow's (data/images/jpeg_image.h)
    const JpegImage jpeg = jpeg_info(data, n, name);
    if (jpeg.components != 1 && jpeg.components != 3 && jpeg.components != 4)
      throw Error(name + ": unreadable JPEG (" + std::to_string(jpeg.components) +
                  " components: Pillow reads 1, 3 or 4, and so does this reader)");
    info.format = "JPEG";
    info.width = jpeg.width, info.height = jpeg.height;
    info.channels = jpeg.components == 1 ? 1 : 3;
    jpeg_metadata(data, n, info);
    info.is_cmyk = jpeg.components == 4;  // libjpeg's count, which decode_jpeg goes by
    if (info.orientation >= 5) std::swap(info.width, info.height);
    return info;
  }
  const PcxHeader pcx = fmt.name == "PCX" ? pcx_header(data, n) : PcxHeader{};
  if (pcx.not_pcx) fmt = {"", true};  // Pillow tries its other formats: a TGA, to stb_image
  if (fmt.name == "PCX") {  // decoded as Pillow (data/images/pcx_as_pil.h)
    if (!pcx.problem.empty()) throw Error(name + ": " + pcx.problem);
    check_pil_pixels(pcx.width, pcx.height, "PCX", name);
    info.format = "PCX";
    info.width = int(pcx.width), info.height = int(pcx.height);
    info.channels = pcx.mode == '1' || pcx.mode == 'L' ? 1 : 3;
    info.bilevel = pcx.mode == '1';
    return info;
  }
  const PnmPlainHeader plain = fmt.name == "PNM" ? pnm_plain_header(data, n) : PnmPlainHeader{};
  if (plain.kind != 0) {  // P1-P4, decoded as Pillow (data/images/pnm_as_pil.h)
    if (!plain.problem.empty()) throw Error(name + ": unreadable PNM (" + plain.problem + ")");
    info.format = "PNM";
    info.width = int(std::clamp<int64_t>(plain.width, INT_MIN, INT_MAX));
    info.height = int(std::clamp<int64_t>(plain.height, INT_MIN, INT_MAX));
    info.channels = plain.channels;
    info.bilevel = plain.kind == '1' || plain.kind == '4';
    if (!info.bilevel) info.max_value = int(plain.maxval);
    return info;
  }
  const PnmHeader pnm = fmt.name == "PNM" ? pnm_header(data, n) : PnmHeader{};
  if (!pnm.problem.empty()) throw Error(name + ": unreadable PNM (" + pnm.problem + ")");
  if (!stbi_info_from_memory(data, len, &info.width, &info.height, &info.channels)) {
    if (fmt.name.rfind("PSD in ", 0) == 0)
      throw Error(name + ": " + fmt.name + ", which " +
                  (pil_only_format(data, n).empty() ? "Pillow 9.4 does not read either" : "no decoder here reads") +
                  " (convert it to PNG)");
    if (!fmt.readable) throw Error(name + ": " + fmt.name + ", which stb_image cannot read (convert it to PNG)");
    const std::string why = stbi_failure_reason();
    throw Error(name + ": " + (fmt.name.empty() ? "not an image stb_image reads" : "unreadable " + fmt.name) + " (" +
                why + ")");
  }
  info.format = fmt.name.empty() ? "TGA" : fmt.name;
  if (info.format == "GIF") {  // Pillow's size: the screen grown to hold the first frame
    const GifFirstFrame gif = gif_first_frame(data, n);
    if (!gif.problem.empty()) throw Error(name + ": unreadable GIF (" + gif.problem + ")");
    if (gif.descriptor == 0) throw Error(name + ": unreadable GIF (no image before its end)");
    if (gif.width > 65535 || gif.height > 65535)
      throw Error(name + ": a GIF whose first frame reaches past 65535 pixels of its screen (" + std::to_string(gif.width) +
                  "x" + std::to_string(gif.height) + "), more than stb_image decodes");
    info.width = gif.width, info.height = gif.height;
    info.channels = gif.grey ? 2 : 4;  // stb's alpha, and Pillow's mode L or P
  }
  // stb_image's info gives a top-down BMP's height as the file stores it,
  // negative (its loader takes the magnitude): the image's height is that.
  if (info.height < 0 && info.height != INT_MIN) info.height = -info.height;
  if (info.format == "PSD" && psd_extra_channels(data, n)) info.channels = 3;  // data/images/psd_as_pil.h
  if (bmp.grey) info.channels = 1;
  if (bmp.no_alpha) info.channels = 3;
  info.alpha = info.channels == 2 || info.channels == 4;
  info.is_16_bit = stbi_is_16_bit_from_memory(data, len);
  info.is_hdr = stbi_is_hdr_from_memory(data, len);
  if (info.format == "PNM") info.max_value = static_cast<int>(pnm.field[2]);
  if (info.orientation >= 5) std::swap(info.width, info.height);
  return info;
}

}  // namespace

ImageInfo image_info(const uint8_t* data, size_t n, const std::string& name) {
  const ImageInfo info = header_info(data, n, name);
  check_pil_pixels(int64_t(info.width), int64_t(info.height), info.format, name);
  return info;
}

std::vector<uint8_t> decode_image(const uint8_t* data, size_t n, const std::string& name, int channels,
                                  ImageInfo* info_out, Conversions* done_out, bool upright) {
  GF_CHECK(channels == 1 || channels == 3, "decode_image", "channels must be 1 or 3, got " << channels);
  ImageInfo info = image_info(data, n, name);
  if (channels < info.colour_channels())
    throw Error(name + ": is in colour, but grey was asked for (converting would lose the colour)");
  Conversions done;
  // The alpha comes along to be checked, then goes.
  as_int_size(n, name);
  const int want = channels + (info.alpha ? 1 : 0);
  int w = 0, h = 0, file_c = 0;
  std::vector<uint8_t> px;
  if (info.format == "HDR") {
    const std::string why = hdr_data_problem(data, n);
    if (!why.empty()) throw Error(name + (why == kHdrCut ? ": truncated HDR: " : ": corrupt HDR: ") + why);
  }
  // What stb_image is given when not the file: a palette BMP, colour-mapped
  // TGA or GIF with its palette as Pillow has it, a PSD with the channels
  // Pillow reads.
  std::vector<uint8_t> for_stb;
  // Samples to 8 bits, top being 255, 65535 or a PNM's maxval (sample_to_8_bit).
  const uint32_t top = info.max_value > 0 ? uint32_t(info.max_value) : info.is_16_bit ? 65535u : 255u;
  const bool swap = info.format == "PNM" && info.is_16_bit && stb_pnm16_in_file_order();
  const BmpAsPil bmp = info.format == "BMP" ? bmp_as_pil(data, n) : BmpAsPil{};
  if (bmp.palette) {  // the palette as Pillow has it
    std::string why;
    for_stb = bmp_palette_rebuilt(data, n, &why);
    if (!why.empty()) throw Error(name + ": truncated BMP: " + why);
  }
  if (bmp.plain) for_stb = bmp_plain_rebuilt(data, n);  // a layout stb refuses, made plain
  if (info.format == "TGA") {  // likewise
    std::string why;
    for_stb = tga_colour_map_rebuilt(data, n, &why);
    if (!why.empty()) throw Error(name + ": unreadable TGA: " + why);
  }
  if (info.format == "PSD") for_stb = psd_first_three_channels(data, n);  // the channels Pillow reads
  const GifFirstFrame gif = info.format == "GIF" ? gif_first_frame(data, n) : GifFirstFrame{};
  if (info.format == "GIF") for_stb = gif_rebuilt(data, n, gif);  // as Pillow composes its first frame
  Feed feed = for_stb.empty() ? Feed{data, n} : Feed{for_stb.data(), for_stb.size()};
  auto check_length = [&] {  // before stb allocates the image
    if (stb_least_bytes(feed.data, feed.n, info.format) > feed.n)
      throw Error(name + ": truncated " + info.format + ": the file ends before its pixels do");
  };
  // p holds pc channels a pixel: want, or 1 (grey, replicated here).
  auto take = [&](auto* p, int pc) {
    if (!p) throw Error(name + ": cannot decode " + info.format + " (" + stbi_failure_reason() + ")");
    px.resize(size_t(w) * h * want);
    for (size_t i = 0; i < px.size(); ++i) {
      const size_t at = pc == want ? i : i / want;
      const uint32_t v = swap ? (p[at] & 0xFFu) << 8 | p[at] >> 8 : p[at];
      px[i] = top == 255 ? static_cast<uint8_t>(v) : sample_to_8_bit(v, top);
    }
    stbi_image_free(p);
    if (feed.past_end) throw Error(name + ": truncated " + info.format + ": the file ends before its pixels do");
  };
  // libwebp's and libtiff's RGBA: the channels asked for (grey: R = G = B), then the alpha if the file has one.
  auto from_rgba = [&](const std::vector<uint8_t>& rgba) {
    px.resize(size_t(w) * h * want);
    for (size_t p = 0; p < size_t(w) * h; ++p) {
      for (int c = 0; c < channels; ++c) px[p * want + c] = rgba[p * 4 + c];
      if (info.alpha) px[p * want + channels] = rgba[p * 4 + 3];
    }
  };
  // A decoder's grey or RGB pixels (`got` channels a pixel, no alpha): grey asked for as RGB is replicated.
  auto from_grey_or_rgb = [&](std::vector<uint8_t> pixels, int got, const char* decoder) {
    GF_CHECK(pixels.size() == size_t(w) * h * size_t(got), "decode_image",
             name << ": " << decoder << " gave " << pixels.size() << " bytes for " << w << "x" << h);
    if (got == want) {
      px = std::move(pixels);
    } else {
      px.resize(size_t(w) * h * want);
      for (size_t i = 0; i < px.size(); ++i) px[i] = pixels[i / want];
    }
  };
  if (info.format == "PNG") {  // libpng, as Pillow reads it (data/images/png_image.h)
    if (n >= 16 && std::memcmp(data + 12, "CgBI", 4) == 0)
      throw Error(name + ": an Apple CgBI PNG (made for iOS: raw deflate, BGR order), which PIL cannot read");
    PngImage png = decode_png(data, n, name);  // reads png_header again: the header is cheap
    w = png.width, h = png.height;
    GF_CHECK(png.alpha == info.alpha && png.colour_channels == info.colour_channels(), "decode_image",
             name << ": libpng's channels differ from the header's");
    if (png.colour_channels == channels) {
      px = std::move(png.pixels);
    } else {  // grey asked for as RGB: replicated, the alpha after
      const size_t pc = info.alpha ? 2 : 1;
      px.resize(size_t(w) * h * want);
      for (size_t p = 0; p < size_t(w) * h; ++p) {
        for (int c = 0; c < channels; ++c) px[p * want + c] = png.pixels[p * pc];
        if (info.alpha) px[p * want + channels] = png.pixels[p * pc + 1];
      }
    }
    // 16 bits: colour and alpha by the high byte, as PIL opens them (RGB;16B,
    // RGBA;16B, LA;16B); grey, which PIL keeps as I;16, rounded.
    done.to_8_bit = png.rounded;
    done.high_byte = png.high_byte;
  } else if (info.format == "WebP") {
    const WebpImage webp = decode_webp(data, n, name, webp_info(data, n, name));
    w = webp.width, h = webp.height;
    from_rgba(webp.rgba);
    done.frames = webp.frames;
  } else if (info.format == "TIFF") {
    const TiffImage tiff = decode_tiff(data, n, name);
    w = tiff.width, h = tiff.height;
    from_rgba(tiff.rgba);
    done.frames = tiff.pages;
    // 16 bits to 8 by the high byte, as Pillow's unpackers (data/images/tiff_image.h).
    done.high_byte = tiff.is_16_bit;
  } else if (info.format == "JPEG 2000") {  // OpenJPEG, as Pillow (data/images/jpeg2000_image.h)
    const Jpeg2000Image j2k = decode_jpeg2000(data, n, name);
    w = j2k.width, h = j2k.height;
    from_rgba(j2k.rgba);
    done.to_8_bit = j2k.is_16_bit;
  } else if (info.format == "JPEG") {  // libjpeg-turbo, as Pillow (data/images/jpeg_image.h)
    JpegImage jpeg = decode_jpeg(data, n, name);
    w = jpeg.width, h = jpeg.height;
    from_grey_or_rgb(std::move(jpeg.pixels), jpeg.components == 1 ? 1 : 3, "libjpeg");
  } else if (info.format == "PCX") {  // as Pillow (data/images/pcx_as_pil.h)
    w = info.width, h = info.height;
    from_grey_or_rgb(decode_pcx(data, n, name), info.channels, "the PCX decoder");
  } else if (info.format == "PNM" && pnm_plain_header(data, n).kind != 0) {  // P1-P4, as Pillow (pnm_as_pil.h)
    w = info.width, h = info.height;
    from_grey_or_rgb(decode_pnm_plain(data, n, name), info.channels, "the PNM decoder");
    done.rescaled = top < 255;
    done.to_8_bit = top > 255;
  } else if (info.format == "PSD" && psd_mode(data, n).applies) {  // not RGB: decoded as Pillow (psd_as_pil.h)
    w = info.width, h = info.height;
    from_grey_or_rgb(decode_psd_mode(data, n, name), info.channels, "the PSD decoder");
  } else if (info.is_16_bit) {
    // stb_image 2.27 converts a 16-bit PNM's channels with its 8-bit
    // converter, into half the buffer it returns (read past its end): a
    // PNM (never alpha) comes as the file's channels, grey replicated here.
    const int pc = info.format == "PNM" ? info.channels : want;
    check_length();
    take(stbi_load_16_from_callbacks(&kFeedCallbacks, &feed, &w, &h, &file_c, pc), pc);
    done.to_8_bit = true;
  } else {
    check_length();
    take(stbi_load_from_callbacks(&kFeedCallbacks, &feed, &w, &h, &file_c, want), want);  // a GIF's first frame
    done.hdr_to_8_bit = info.is_hdr;
    done.rescaled = top != 255;
  }
  // Callers index the pixels by image_info's size: a decoder that disagrees
  // with its header is refused, never read past.
  const bool turned = info.orientation >= 5;
  if (w != (turned ? info.height : info.width) || h != (turned ? info.width : info.height))
    throw Error(name + ": decodes to " + std::to_string(w) + "x" + std::to_string(h) + " pixels where its header says " +
                std::to_string(turned ? info.height : info.width) + "x" + std::to_string(turned ? info.width : info.height) +
                " (corrupt " + info.format + ")");
  if (info.format == "TGA" && tga_right_to_left(data, n))  // Pillow mirrors it; stb ignores the bit
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w / 2; ++x)
        std::swap_ranges(&px[(size_t(y) * w + x) * want], &px[(size_t(y) * w + x) * want] + want,
                         &px[(size_t(y) * w + (w - 1 - x)) * want]);
  if (bmp.field_bits[0] > 0)  // 16 bits: Pillow's truncated scaling of each field
    for (size_t p = 0; p < size_t(w) * h; ++p)
      for (int c = 0; c < channels; ++c) px[p * want + c] = bmp_field_as_pil(px[p * want + c], bmp.field_bits[c]);
  if (info.format == "GIF") {
    done.frames = gif_frame_count(data, n);
    // Without a transparency index every pixel the frame draws is opaque:
    // the transparent ones are those it leaves, Pillow's index 0. (With
    // one, Pillow leaves them its transparency index: transparent too.)
    if (!gif.transparency)
      for (size_t p = 0; p < size_t(w) * h; ++p)
        if (px[p * want + channels] == 0) {
          for (int c = 0; c < channels; ++c) px[p * want + c] = gif.fill[c];
          px[p * want + channels] = 255;
        }
  }
  done.cmyk_to_rgb = info.is_cmyk;
  done.grey_to_rgb = channels == 3 && info.colour_channels() == 1;
  if (info.alpha) {
    const size_t pixels = size_t(w) * h;
    size_t see_through = 0;
    for (size_t p = 0; p < pixels; ++p) see_through += px[p * want + channels] != 255;
    if (see_through > 0)
      throw TransparentImageError(name + ": has transparent pixels (alpha below 255 in " + std::to_string(see_through) + " of " +
                  std::to_string(pixels) +
                  "); the networks see no alpha, so they would take in the colours hidden under them. Flatten the "
                  "images onto the background you want first (e.g. ImageMagick: mogrify -background white -alpha "
                  "remove -alpha off *.png); images whose alpha is opaque everywhere are used as they are");
    for (size_t p = 0; p < pixels; ++p)
      for (int c = 0; c < channels; ++c) px[p * channels + c] = px[p * want + c];
    px.resize(pixels * channels);
    done.alpha_dropped = info.format != "GIF";  // stb gives every GIF an alpha channel; opaque, it was never there
  }
  // Pillow turns a TIFF as its Orientation tag says when it loads it, so the
  // programs that read as PIL does see it turned too.
  if (info.orientation != 1 && (upright || info.format == "TIFF")) {
    px = orient(px, w, h, channels, info.orientation);
    done.oriented = true;
  } else if (info.orientation >= 5) {  // image_info gave the turned size
    std::swap(info.width, info.height);
  }
  if (info_out) *info_out = info;
  if (done_out) *done_out = done;
  return px;
}

Tensor read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  const ImageInfo info = image_info(bytes.data(), bytes.size(), path);
  const int c = info.colour_channels();
  const std::vector<uint8_t> hwc = decode_image(bytes.data(), bytes.size(), path, c);
  const int64_t h = info.height, w = info.width;
  std::vector<double> v(hwc.size());
  for (int64_t ch = 0; ch < c; ++ch)
    for (int64_t i = 0; i < h * w; ++i) v[ch * h * w + i] = hwc[i * c + ch] / 127.5 - 1.0;
  return Tensor::from_vector(v, {1, c, h, w});
}

void check_grid_png_size(int64_t h, int64_t w, int64_t c, int64_t gw, int64_t gh, const std::string& what) {
  const long double W = (long double)w * gw, H = (long double)h * gh;
  // stb_image_write holds the filtered rows, (W * c + 1) * H bytes, in an
  // int, and grows its compressed buffer as an int by doubling, which
  // overflows past 2^30 bytes; its fixed-Huffman output can be 9/8 of the
  // input, so the filtered rows must stay under 2^30 * 8 / 9 bytes.
  constexpr long double kMaxFiltered = 1073741824.0L * 8 / 9;
  if ((W * c + 1) * H <= kMaxFiltered) return;
  throw Error(what + ": a grid of " + std::to_string(gw) + "x" + std::to_string(gh) + " images of " + std::to_string(w) + "x" +
              std::to_string(h) + " would be a " + std::to_string((int64_t)W) + "x" + std::to_string((int64_t)H) +
              " PNG, over the 0.95 GB of pixels the PNG writer takes; use a smaller grid, or one PNG per image");
}

uint8_t to_8_bit(float x, To8Bit how) {
  if (std::isnan(x)) return 0;
  // Each operation rounds to float32, as torch and NumPy compute in float32
  // (the build keeps a * b + c unfused: -ffp-contract=off).
  if (how == To8Bit::grid || how == To8Bit::tf_grid) {
    const float scaled = how == To8Bit::grid ? (x + 1.0f) * 127.5f : x * 127.5f + 127.5f;  // adjust_dynamic_range's scale, bias
    return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, std::nearbyint(scaled))));  // np.rint: half to even
  }
  if (how == To8Bit::psp_tensor2im)
    return static_cast<uint8_t>(std::min(1.0f, std::max(0.0f, (x + 1.0f) / 2.0f)) * 255.0f);
  const float shifted = x * 127.5f + 128.0f;
  return static_cast<uint8_t>(std::min(255.0f, std::max(0.0f, shifted)));  // the cast truncates
}

void save_image_grid(const Tensor& images, const std::string& path, int gw, int gh, io::AtomicFileSet* together,
                     To8Bit how) {
  GF_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3), "save_image_grid",
           "expected [N, 1 or 3, H, W] images, got " << images.desc());
  GF_CHECK(gw > 0 && gh > 0 && images.size(0) == int64_t(gw) * gh, "save_image_grid",
           "a " << gw << "x" << gh << " grid needs " << int64_t(gw) * gh << " images, got " << images.size(0));
  const int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  check_grid_png_size(h, w, c, gw, gh, path);
  const std::vector<double> v = images.to_vector();
  const int64_t W = w * gw, H = h * gh;
  std::vector<uint8_t> out(static_cast<size_t>(W * H * c));
  for (int64_t gy = 0; gy < gh; ++gy)
    for (int64_t gx = 0; gx < gw; ++gx) {
      const double* img = v.data() + ((gy * gw + gx) * c * h * w);
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t y = 0; y < h; ++y)
          for (int64_t x = 0; x < w; ++x)
            out[static_cast<size_t>(((gy * h + y) * W + gx * w + x) * c + ch)] =
                to_8_bit(static_cast<float>(img[(ch * h + y) * w + x]), how);
    }
  std::string png;
  auto append = [](void* ctx, void* data, int size) {
    static_cast<std::string*>(ctx)->append(static_cast<const char*>(data), static_cast<size_t>(size));
  };
  GF_CHECK(stbi_write_png_to_func(append, &png, static_cast<int>(W), static_cast<int>(H), static_cast<int>(c),
                                  out.data(), static_cast<int>(W * c)),
           "save_image_grid", "PNG encoding failed for " << path);
  io::AtomicFileSet::write(together, path,
                           [&](std::ostream& f) { f.write(png.data(), static_cast<std::streamsize>(png.size())); },
                           "");  // the error names the file
}

}  // namespace gf
