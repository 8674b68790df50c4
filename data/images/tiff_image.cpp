#include "data/images/tiff_image.h"

#include <tiffio.h>

#include <cstdarg>
#include <cstring>
#include <memory>

#include "engine/error.h"

namespace gf {

namespace {

// The file in memory, read through libtiff's client procedures.
struct Memory {
  const uint8_t* data;
  uint64_t size;
  uint64_t pos = 0;
};

tmsize_t read_proc(thandle_t h, void* buf, tmsize_t n) {
  auto* m = static_cast<Memory*>(h);
  if (n < 0) return -1;
  const uint64_t k = std::min<uint64_t>(uint64_t(n), m->size - std::min(m->pos, m->size));
  std::memcpy(buf, m->data + m->pos, size_t(k));
  m->pos += k;
  return tmsize_t(k);
}
tmsize_t write_proc(thandle_t, void*, tmsize_t) { return -1; }
toff_t seek_proc(thandle_t h, toff_t off, int whence) {
  auto* m = static_cast<Memory*>(h);
  const uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->size;
  m->pos = base + off;
  return m->pos;
}
int close_proc(thandle_t) { return 0; }
toff_t size_proc(thandle_t h) { return static_cast<Memory*>(h)->size; }
int map_proc(thandle_t h, void** base, toff_t* size) {
  auto* m = static_cast<Memory*>(h);
  *base = const_cast<uint8_t*>(m->data);
  *size = m->size;
  return 1;
}
void unmap_proc(thandle_t, void*, toff_t) {}

// libtiff's first error for this file, instead of its default printing to stderr.
int on_error(TIFF*, void* user, const char* module, const char* fmt, va_list ap) {
  auto* why = static_cast<std::string*>(user);
  if (why->empty()) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    *why = std::string(module ? module : "") + (module ? ": " : "") + buf;
  }
  return 1;
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }  // unknown tags and the like

struct Closer {
  void operator()(TIFF* t) const { TIFFClose(t); }
};

// Opens the first page and reads its fields; the handle when pixels are wanted.
std::unique_ptr<TIFF, Closer> open(Memory& mem, const std::string& name, std::string& why, TiffImage& info) {
  std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> opts(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
  TIFFOpenOptionsSetErrorHandlerExtR(opts.get(), on_error, &why);
  TIFFOpenOptionsSetWarningHandlerExtR(opts.get(), on_warning, nullptr);
  std::unique_ptr<TIFF, Closer> tif(TIFFClientOpenExt(name.c_str(), "r", &mem, read_proc, write_proc, seek_proc,
                                                       close_proc, size_proc, map_proc, unmap_proc, opts.get()));
  auto bad = [&](const std::string& what) {
    throw Error(name + ": unreadable TIFF (" + (why.empty() ? what : why) + ")");
  };
  if (!tif) bad("not a TIFF libtiff opens");
  char emsg[1024] = "";
  if (!TIFFRGBAImageOK(tif.get(), emsg)) bad(emsg);
  uint32_t w = 0, h = 0;
  uint16_t photometric = 0, bits = 8, samples = 1, extra_count = 0, orientation = 1;
  uint16_t* extra = nullptr;
  TIFFGetField(tif.get(), TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(tif.get(), TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_EXTRASAMPLES, &extra_count, &extra);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_ORIENTATION, &orientation);
  if (!TIFFGetField(tif.get(), TIFFTAG_PHOTOMETRIC, &photometric))
    photometric = samples - extra_count >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
  if (w == 0 || h == 0) bad("an image of " + std::to_string(w) + "x" + std::to_string(h) + " pixels");
  if ((uint64_t(1) << 30) / 4 / w < h)  // the cap stb_image keeps for the other formats
    throw Error(name + ": a " + std::to_string(w) + "x" + std::to_string(h) +
                " TIFF, larger than ganforge decodes (at most 2^30 bytes of RGBA)");
  // The pixels' strips (or tiles) must lie in the file, and uncompressed ones
  // hold the whole image: a header of a few bytes claiming 16384^2 pixels
  // made the reader fill a 1 GiB raster before it found nothing to read.
  const bool tiled = TIFFIsTiled(tif.get());
  const uint32_t striles = tiled ? TIFFNumberOfTiles(tif.get()) : TIFFNumberOfStrips(tif.get());
  uint64_t stored = 0;
  for (uint32_t i = 0; i < striles; ++i) {
    int err = 0;
    const uint64_t at = TIFFGetStrileOffsetWithErr(tif.get(), i, &err);
    const uint64_t count = err ? 0 : TIFFGetStrileByteCountWithErr(tif.get(), i, &err);
    if (err || at > mem.size || count > mem.size - at)
      bad("its pixel data runs past the end of the file (a truncated file?)");
    stored += count;
  }
  uint16_t compression = COMPRESSION_NONE, planar = PLANARCONFIG_CONTIG;
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_COMPRESSION, &compression);
  TIFFGetFieldDefaulted(tif.get(), TIFFTAG_PLANARCONFIG, &planar);
  if (compression == COMPRESSION_NONE) {
    const uint64_t planes = planar == PLANARCONFIG_SEPARATE ? samples : 1;
    const uint64_t need = tiled ? uint64_t(striles) * TIFFTileSize64(tif.get()) : TIFFScanlineSize64(tif.get()) * h * planes;
    if (stored < need)
      bad("its uncompressed pixels take " + std::to_string(stored) + " bytes of the " + std::to_string(need) +
          " the image needs (a truncated file?)");
  }
  info.width = int(w), info.height = int(h);
  info.colour = photometric != PHOTOMETRIC_MINISBLACK && photometric != PHOTOMETRIC_MINISWHITE;
  for (uint16_t i = 0; i < extra_count; ++i)
    info.alpha = info.alpha || extra[i] == EXTRASAMPLE_ASSOCALPHA || extra[i] == EXTRASAMPLE_UNASSALPHA;
  info.is_16_bit = bits == 16;
  info.is_cmyk = photometric == PHOTOMETRIC_SEPARATED;
  info.bilevel = !info.colour && !info.alpha && bits == 1 && samples == 1;
  info.orientation = orientation >= 1 && orientation <= 8 ? orientation : 1;
  info.pages = int(TIFFNumberOfDirectories(tif.get()));
  TIFFSetDirectory(tif.get(), 0);  // counting the directories moved past the first
  return tif;
}

}  // namespace

bool is_tiff(const uint8_t* data, size_t n) {
  return n >= 4 && ((std::memcmp(data, "II", 2) == 0 && (data[2] == 42 || data[2] == 43) && data[3] == 0) ||
                    (std::memcmp(data, "MM", 2) == 0 && data[2] == 0 && (data[3] == 42 || data[3] == 43)));
}

TiffImage tiff_info(const uint8_t* data, size_t n, const std::string& name) {
  Memory mem{data, n};
  std::string why;
  TiffImage info;
  open(mem, name, why, info);
  return info;
}

TiffImage decode_tiff(const uint8_t* data, size_t n, const std::string& name) {
  Memory mem{data, n};
  std::string why;
  TiffImage info;
  const auto tif = open(mem, name, why, info);
  info.rgba.resize(size_t(info.width) * info.height * 4);
  // libtiff turns the raster from the Orientation tag's towards the one
  // asked for (by flips only): with the tag read as top-left, the rows stay
  // as stored, which is what Pillow gives (the tag is applied by decode_image).
  TIFFSetField(tif.get(), TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  auto* raster = reinterpret_cast<uint32_t*>(info.rgba.data());
  // TIFFReadRGBAImageOriented's steps, with one change: libtiff rounds a
  // 16-bit colour sample to 8 bits ((v + 128) / 257, its Bitdepth16To8
  // table), where Pillow's RGB;16 unpackers keep the high byte: the table,
  // built by TIFFRGBAImageBegin, is rewritten so. (16-bit grey goes through
  // its own path, the high byte already.)
  TIFFRGBAImage img;
  char emsg[1024] = "";
  bool ok = TIFFRGBAImageBegin(&img, tif.get(), 0, emsg) != 0;
  if (ok) {
    img.req_orientation = ORIENTATION_TOPLEFT;
    if (img.Bitdepth16To8)
      for (uint32_t v = 0; v < 65536; ++v) img.Bitdepth16To8[v] = uint8_t(v >> 8);
    ok = TIFFRGBAImageGet(&img, raster, uint32_t(info.width), uint32_t(info.height)) != 0;
    TIFFRGBAImageEnd(&img);
  } else if (why.empty()) {
    why = emsg;
  }
  if (!ok || !why.empty())
    throw Error(name + ": unreadable TIFF (" + (why.empty() ? "libtiff cannot decode its pixels" : why) + ")");
  // The raster's words are ABGR (R in the low byte): RGBA bytes on a little-endian machine.
  for (size_t i = 0; i < size_t(info.width) * info.height; ++i) {
    const uint32_t v = raster[i];
    uint8_t* p = &info.rgba[i * 4];
    p[0] = uint8_t(TIFFGetR(v)), p[1] = uint8_t(TIFFGetG(v)), p[2] = uint8_t(TIFFGetB(v)), p[3] = uint8_t(TIFFGetA(v));
  }
  return info;
}

}  // namespace gf
