#include "data/images/jpeg2000_image.h"

#include <openjpeg.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstring>

#include "engine/error.h"
#include "data/byte_order.h"
#include "data/images/image_io.h"

namespace gf {
namespace {

constexpr uint8_t kJp2Signature[12] = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A};

bool is_codestream(const uint8_t* d, size_t n) { return n >= 4 && d[0] == 0xFF && d[1] == 0x4F && d[2] == 0xFF && d[3] == 0x51; }

struct HeaderFault {
  std::string why;
};

// Pillow's mode for a component count, and whether the header says more than 9 bits.
std::string pil_mode(uint64_t components, bool over_9_bits) {
  switch (components) {
    case 1: return over_9_bits ? "I;16" : "L";
    case 2: return "LA";
    case 3: return "RGB";
    case 4: return "RGBA";
    default: return "";
  }
}

// Pillow's BoxReader (Jpeg2KImagePlugin.py) over `d`: with a length (the
// contents of a box read whole) reads stop at it; inside a box, at the box's
// end. A read past the data, or past those ends, fails as Pillow's does.
struct BoxReader {
  const uint8_t* d;
  uint64_t n;
  bool has_length;
  uint64_t pos = 0;
  int64_t remaining = -1;  // of the current box's contents; -1 before the first box

  bool can_read(uint64_t k) const {
    if (has_length && (pos > n || k > n - pos)) return false;
    if (remaining >= 0) return k <= uint64_t(remaining);
    return true;
  }
  const uint8_t* read(uint64_t k) {
    if (!can_read(k)) throw HeaderFault{"not enough data in header"};
    if (pos > n || k > n - pos) throw HeaderFault{"the file ends inside its header"};
    const uint8_t* p = d + pos;
    pos += k;
    if (remaining > 0) remaining -= int64_t(k);
    return p;
  }
  bool has_next_box() const { return !has_length || int64_t(pos) + remaining < int64_t(n); }
  std::string next_box_type() {
    if (remaining > 0) pos = uint64_t(remaining) > UINT64_MAX - pos ? UINT64_MAX : pos + uint64_t(remaining);
    remaining = -1;
    const uint8_t* head = read(8);
    uint64_t box = be32(head), header = 8;
    if (box == 1) {
      const uint8_t* large = read(8);
      box = uint64_t(be32(large)) << 32 | be32(large + 4), header = 16;
    }
    if (box < header || !can_read(box - header)) throw HeaderFault{"invalid box length"};
    remaining = box - header > uint64_t(INT64_MAX) ? INT64_MAX : int64_t(box - header);
    return std::string(reinterpret_cast<const char*>(head + 4), 4);
  }
};

// The size and mode Pillow's plugin reads: a codestream's SIZ, or a .jp2's
// ihdr inside its jp2h box.
Jpeg2000Image header_of(const uint8_t* d, size_t n) {
  Jpeg2000Image img;
  int64_t width = 0, height = 0;
  if (is_codestream(d, n)) {
    // Lsiz, then the segment: Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, 4 tile
    // fields, Csiz; Pillow reads component i's three bytes from 36 + 3i
    // (two short of where they are), so its "precision" is the first
    // component's Ssiz.
    if (n < 6) throw HeaderFault{"the file ends inside its SIZ segment"};
    const size_t lsiz = be16(d + 4);
    const size_t siz_bytes = lsiz >= 2 ? std::min(lsiz, n - 4) : n - 4;  // Python's read(negative) reads to the end
    const uint8_t* siz = d + 4;
    if (siz_bytes < 38) throw HeaderFault{"its SIZ segment is cut short"};
    const uint64_t components = be16(siz + 36);
    if (36 + 3 * components > siz_bytes) throw HeaderFault{"its SIZ segment is cut short"};
    width = int64_t(be32(siz + 4)) - int64_t(be32(siz + 12));
    height = int64_t(be32(siz + 8)) - int64_t(be32(siz + 16));
    img.mode = pil_mode(components, components == 1 && (siz[38] & 0x7F) > 8);
  } else {
    BoxReader file{d, n, false};
    file.pos = 12;
    BoxReader header{nullptr, 0, true};
    bool found = false;
    while (!found) {  // without a length, Pillow looks until a read fails
      const std::string box = file.next_box_type();
      if (box == "jp2h") {
        const uint64_t size = uint64_t(file.remaining);
        header = BoxReader{file.read(size), size, true};
        found = true;
      } else if (box == "ftyp") {
        file.read(4);
      }
    }
    bool sized = false;
    while (header.has_next_box()) {
      const std::string box = header.next_box_type();
      if (box == "ihdr") {
        const uint8_t* f = header.read(11);
        height = be32(f), width = be32(f + 4);
        sized = true;
        img.mode = pil_mode(be16(f + 8), (f[10] & 0x7F) > 8);
      } else if (box == "res ") {
        const uint64_t size = uint64_t(header.remaining);
        BoxReader res{header.read(size), size, true};
        while (res.has_next_box())
          if (res.next_box_type() == "resc") {
            res.read(10);
            break;
          }
      }
    }
    if (!sized) img.mode.clear();
  }
  if (img.mode.empty()) throw HeaderFault{"no mode Pillow reads: 1 to 4 components"};
  if (width <= 0 || height <= 0 || width > INT_MAX || height > INT_MAX)
    throw HeaderFault{"a size of " + std::to_string(width) + "x" + std::to_string(height)};
  img.width = int(width), img.height = int(height);
  img.colour = img.mode == "RGB" || img.mode == "RGBA";
  img.alpha = img.mode == "LA" || img.mode == "RGBA";
  img.is_16_bit = img.mode == "I;16";
  return img;
}

// The file as Pillow's decoder reads it: OpenJPEG pulls bytes, and a skip
// answers the position it reaches (Pillow's j2k_skip), not the count.
struct Stream {
  const uint8_t* d;
  size_t n;
  int64_t pos = 0;
};
OPJ_SIZE_T stream_read(void* out, OPJ_SIZE_T k, void* user) {
  Stream& s = *static_cast<Stream*>(user);
  if (s.pos < 0 || uint64_t(s.pos) >= s.n) return OPJ_SIZE_T(-1);
  const size_t m = std::min<size_t>(k, s.n - size_t(s.pos));
  std::memcpy(out, s.d + s.pos, m);
  s.pos += int64_t(m);
  return m;
}
OPJ_OFF_T stream_skip(OPJ_OFF_T k, void* user) {
  Stream& s = *static_cast<Stream*>(user);
  if (k < -s.pos || k > INT64_MAX - s.pos) return -1;
  s.pos += k;
  return s.pos ? s.pos : -1;
}
void quiet(const char*, void*) {}
void keep_error(const char* msg, void* user) {
  std::string& why = *static_cast<std::string*>(user);
  why = msg;
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
}

// The bytes OpenJPEG writes a sample of a component in: 1, 2 or 4 by its precision.
int sample_bytes(const opj_image_comp_t& c) {
  const int bytes = int(c.prec + 7) >> 3;
  return bytes == 3 ? 4 : bytes;
}

// One component's samples as Pillow unpacks them: `bytes` a sample (1, 2 or
// 4 as OpenJPEG writes them), shifted from its precision to `bits` with a
// rounding offset and half the range for signed samples, in unsigned
// arithmetic, stored to `bits` (wrapping as Pillow's store does).
struct Unpack {
  int bytes = 1, shift = 0;
  uint32_t offset = 0;
  Unpack(const opj_image_comp_t& c, int bits) {
    bytes = sample_bytes(c);
    shift = bits - int(c.prec);
    offset = c.sgnd ? 1u << (c.prec - 1) : 0u;
    if (shift < 0) offset += 1u << (-shift - 1);
  }
  uint32_t at(const uint8_t* plane, size_t i) const {
    uint32_t word = 0;
    if (bytes == 1) word = plane[i];
    if (bytes == 2) word = uint16_t(plane[2 * i] | plane[2 * i + 1] << 8);
    if (bytes == 4) std::memcpy(&word, plane + 4 * i, 4);
    const uint32_t v = offset + word;
    return shift < 0 ? v >> -shift : v << shift;
  }
};

enum class Unpacker { kNone, kGrey, kGreyAlpha, kRgb, kRgba, kYcc, kYcca };

// Pillow's YCbCr to RGB (ConvertYCbCr.c, JPEG's coefficients): tables of
// trunc((v - 128) * coefficient * 64 + 0.5), each sum shifted down 6 bits
// (an arithmetic shift) and clipped.
struct YccTables {
  int r_cr[256], g_cb[256], g_cr[256], b_cb[256];
  YccTables() {
    for (int v = 0; v < 256; ++v) {
      auto entry = [&](double coefficient) { return int(std::trunc((v - 128) * coefficient * 64 + 0.5)); };
      r_cr[v] = entry(1.402), g_cb[v] = entry(-0.34414), g_cr[v] = entry(-0.71414), b_cb[v] = entry(1.772);
    }
  }
};
void ycc_to_rgb(uint8_t* px) {
  static const YccTables t;
  auto clip = [](int v) { return uint8_t(v <= 0 ? 0 : v >= 255 ? 255 : v); };
  const int y = px[0], cb = px[1], cr = px[2];
  px[0] = clip(y + (t.r_cr[cr] >> 6));
  px[1] = clip(y + ((t.g_cb[cb] + t.g_cr[cr]) >> 6));
  px[2] = clip(y + (t.b_cb[cb] >> 6));
}

// Pillow 9.4's table: an unpacker by mode, colour space and component
// count; the grey ones only where no component is subsampled.
Unpacker unpacker_for(const std::string& mode, OPJ_COLOR_SPACE space, unsigned components, bool subsampled) {
  const bool grey = space == OPJ_CLRSPC_GRAY, srgb = space == OPJ_CLRSPC_SRGB, ycc = space == OPJ_CLRSPC_SYCC;
  if (grey && !subsampled) {
    if ((mode == "L" || mode == "I;16") && components == 1) return Unpacker::kGrey;
    if (mode == "LA" && components == 2) return Unpacker::kGreyAlpha;
    if (mode == "RGB" && (components == 1 || components == 2)) return Unpacker::kGrey;
    if (mode == "RGBA" && components == 1) return Unpacker::kGrey;
    if (mode == "RGBA" && components == 2) return Unpacker::kGreyAlpha;
  }
  if ((mode == "RGB" || mode == "RGBA") && (components == 3 || components == 4) && (srgb || ycc)) {
    const bool alpha = mode == "RGBA" && components == 4;
    return ycc ? (alpha ? Unpacker::kYcca : Unpacker::kYcc) : alpha ? Unpacker::kRgba : Unpacker::kRgb;
  }
  return Unpacker::kNone;
}

struct Codec {
  opj_codec_t* codec = nullptr;
  opj_stream_t* stream = nullptr;
  opj_image_t* image = nullptr;
  ~Codec() {
    if (codec) opj_destroy_codec(codec);
    if (image) opj_image_destroy(image);
    if (stream) opj_stream_destroy(stream);
  }
};

void decode_pixels(const uint8_t* d, size_t n, Jpeg2000Image& img, const std::string& name) {
  std::string why;
  auto broken = [&](const std::string& what) {
    return Error(name + ": unreadable JPEG 2000 (" + what + (why.empty() ? "" : ": " + why) +
                 "; Pillow fails on it too)");
  };
  Stream src{d, n};
  Codec c;
  c.stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_TRUE);
  c.codec = opj_create_decompress(is_codestream(d, n) ? OPJ_CODEC_J2K : OPJ_CODEC_JP2);
  if (!c.stream || !c.codec) throw Error(name + ": OpenJPEG could not start a decoder");
  opj_stream_set_read_function(c.stream, stream_read);
  opj_stream_set_skip_function(c.stream, stream_skip);
  opj_stream_set_user_data(c.stream, &src, nullptr);
  opj_stream_set_user_data_length(c.stream, n);
  opj_set_error_handler(c.codec, keep_error, &why);
  opj_set_warning_handler(c.codec, quiet, nullptr);
  opj_set_info_handler(c.codec, quiet, nullptr);
  opj_dparameters_t params;
  opj_set_default_decoder_parameters(&params);
  opj_setup_decoder(c.codec, &params);
  if (!opj_read_header(c.stream, c.codec, &c.image)) throw broken("its header");
  const opj_image_t& im = *c.image;
  if (im.numcomps < 1 || im.numcomps > 4 || im.color_space == OPJ_CLRSPC_UNKNOWN)
    throw broken(std::to_string(im.numcomps) + " components or an unknown colour space");
  int subsampled = -1;  // the first component that is
  for (unsigned k = 0; k < im.numcomps && subsampled < 0; ++k)
    if (im.comps[k].dx != 1 || im.comps[k].dy != 1) subsampled = int(k);
  for (unsigned k = 0; k < im.numcomps; ++k)
    if (im.comps[k].prec < 1 || im.comps[k].prec > 31) throw broken("a precision of " + std::to_string(im.comps[k].prec) + " bits");
  OPJ_COLOR_SPACE space = im.color_space;
  if (space == OPJ_CLRSPC_UNSPECIFIED)  // Pillow's guess
    space = im.numcomps <= 2 ? OPJ_CLRSPC_GRAY : subsampled == 1 || subsampled == 2 ? OPJ_CLRSPC_SYCC : OPJ_CLRSPC_SRGB;
  const Unpacker unpacker = unpacker_for(img.mode, space, im.numcomps, subsampled >= 0);
  if (unpacker == Unpacker::kNone)
    throw broken("no unpacker for mode " + img.mode + " of " + std::to_string(im.numcomps) + " components in colour space " +
                 std::to_string(int(space)));

  const size_t w_img = size_t(img.width), h_img = size_t(img.height);
  const int bits = img.is_16_bit ? 16 : 8;
  // Pillow 9.4's grey-to-RGB unpacker starts a tile at byte x0 of the row,
  // not at pixel x0: a grey codestream in an RGB or RGBA .jp2 of tiles
  // across comes out slipped, channels and all, as here.
  const bool slipped = unpacker == Unpacker::kGrey && (img.mode == "RGB" || img.mode == "RGBA");
  unsigned total_width = 0;  // Pillow 9.4 sums the component widths over every tile so far
  // Pillow's one tile buffer, grown (and then zeroed whole) only when a
  // tile needs more, by its running sum of widths: otherwise an earlier
  // tile's bytes stay, and a subsampled read past this tile's data sees
  // them. `buffer` holds what this decoder reads of it.
  size_t pillow_size = 0;
  std::vector<uint8_t> buffer;
  for (;;) {
    OPJ_UINT32 index = 0, data_size = 0, comps = 0;
    OPJ_INT32 x0 = 0, y0 = 0, x1 = 0, y1 = 0;
    OPJ_BOOL more = OPJ_FALSE;
    if (!opj_read_tile_header(c.codec, c.stream, &index, &data_size, &x0, &y0, &x1, &y1, &comps, &more))
      throw broken("a tile header");
    if (!more) break;
    if (x0 >= x1 || y0 >= y1 || x0 < 0 || y0 < 0 || OPJ_UINT32(x0) < im.x0 || OPJ_UINT32(y0) < im.y0 ||
        OPJ_INT32(x1 - im.x0) > img.width || OPJ_INT32(y1 - im.y0) > img.height)
      throw broken("a tile outside the image");
    if (comps != im.numcomps) throw broken("a tile of another component count");
    const unsigned w = unsigned(x1 - x0), h = unsigned(y1 - y0);
    unsigned tile_width = 0;
    for (unsigned k = 0; k < comps; ++k) tile_width += unsigned(sample_bytes(im.comps[k]));
    total_width += tile_width;
    if (uint64_t(w) * h * total_width > UINT_MAX) throw broken("a tile too large");
    const size_t need = std::max<size_t>(data_size, size_t(w) * h * tile_width);
    const size_t pillow_need = std::max<size_t>(data_size, size_t(w) * h * total_width);
    if (pillow_need > pillow_size) {
      pillow_size = pillow_need;
      buffer.assign(need, 0);
    } else if (buffer.size() < need) {
      buffer.resize(need, 0);
    }
    if (!opj_decode_tile_data(c.codec, index, buffer.data(), OPJ_UINT32(need), c.stream)) throw broken("a tile's data");
    // Each component's plane at Pillow's place: the grey unpackers take w x
    // h samples a plane, the colour ones (w / dx) x (h / dy), read at
    // (y / dy) * (w / dx) + x / dx: past the plane where dx does not divide
    // w, as in Pillow, but never past Pillow's buffer.
    const size_t at_x = size_t(x0) - im.x0, at_y = size_t(y0) - im.y0;
    const bool ycc = unpacker == Unpacker::kYcc || unpacker == Unpacker::kYcca;
    const unsigned planes = unpacker == Unpacker::kGrey        ? 1
                            : unpacker == Unpacker::kGreyAlpha ? 2
                            : unpacker == Unpacker::kRgb || unpacker == Unpacker::kYcc ? 3
                                                                                       : 4;
    std::vector<size_t> plane_at(planes);
    std::vector<Unpack> unpack;
    std::vector<unsigned> dx(planes, 1), dy(planes, 1);
    size_t offset = 0;
    for (unsigned k = 0; k < planes; ++k) {
      unpack.emplace_back(im.comps[k], bits);
      const bool colour = planes >= 3;
      if (colour) dx[k] = im.comps[k].dx, dy[k] = im.comps[k].dy;
      const size_t samples = size_t(w / dx[k]) * (h / dy[k]);
      const size_t last = size_t((h - 1) / dy[k]) * (w / dx[k]) + (w - 1) / dx[k];
      const size_t reach = offset + size_t(unpack[k].bytes) * (last + 1);
      if (reach > pillow_size) throw broken("a subsampled component read past its tile's data");
      if (reach > buffer.size()) buffer.resize(reach, 0);  // inside Pillow's larger buffer: zeros
      plane_at[k] = offset;
      offset += size_t(unpack[k].bytes) * samples;
    }
    std::vector<const uint8_t*> plane(planes);
    for (unsigned k = 0; k < planes; ++k) plane[k] = buffer.data() + plane_at[k];
    if (img.rgba.empty()) img.rgba.assign(w_img * h_img * 4, 0);  // once a tile has decoded: a cut file holds no image's worth
    for (size_t y = 0; y < h; ++y)
      for (size_t x = 0; x < w; ++x) {
        uint8_t* px = img.rgba.data() + (at_y + y) * w_img * 4 + (slipped ? at_x + 4 * x : (at_x + x) * 4);
        uint32_t v[4] = {0, 0, 0, 255};
        for (unsigned k = 0; k < planes; ++k) v[k] = unpack[k].at(plane[k], (y / dy[k]) * (w / dx[k]) + x / dx[k]);
        if (img.is_16_bit) v[0] = sample_to_8_bit(v[0] & 0xFFFF, 65535);  // the project's 16-bit rule
        if (planes <= 2) px[0] = px[1] = px[2] = uint8_t(v[0]), px[3] = planes == 2 ? uint8_t(v[1]) : 255;
        else px[0] = uint8_t(v[0]), px[1] = uint8_t(v[1]), px[2] = uint8_t(v[2]), px[3] = planes == 4 ? uint8_t(v[3]) : 255;
        if (ycc) ycc_to_rgb(px);
      }
  }
  if (!opj_end_decompress(c.codec, c.stream)) throw broken("its end");
  if (img.rgba.empty()) img.rgba.assign(w_img * h_img * 4, 0);  // no tile at all
  if (!img.alpha)  // pixels no tile wrote: Pillow's zeros, without alpha
    for (size_t p = 0; p < w_img * h_img; ++p) img.rgba[p * 4 + 3] = 255;
}

}  // namespace

bool is_jpeg2000(const uint8_t* data, size_t n) {
  return is_codestream(data, n) || (n >= 12 && std::memcmp(data, kJp2Signature, 12) == 0);
}

Jpeg2000Image jpeg2000_info(const uint8_t* data, size_t n, const std::string& name) {
  try {
    return header_of(data, n);
  } catch (const HeaderFault& f) {
    throw Error(name + ": unreadable JPEG 2000 (" + f.why + ")");
  }
}

Jpeg2000Image decode_jpeg2000(const uint8_t* data, size_t n, const std::string& name) {
  Jpeg2000Image img = jpeg2000_info(data, n, name);
  decode_pixels(data, n, img, name);
  return img;
}

}  // namespace gf
