// Image files: decoding for datasets (libpng: PNG, data/images/png_image.h;
// stb_image: BMP, TGA, GIF, RGB PSD, HDR, PIC, PNM and every header but
// those below; libjpeg-turbo: JPEG, data/images/jpeg_image.h; OpenJPEG:
// JPEG 2000, data/images/jpeg2000_image.h; libwebp:
// WebP, data/images/webp_image.h; libtiff: TIFF, data/images/tiff_image.h; the PSD modes
// stb does not read: data/images/psd_as_pil.h), and writing image grids as the
// official save_image_grid does.
//
// Decoding never changes what a viewer shows without saying so: every
// conversion is either lossless as the image is seen (grey replicated to RGB,
// palette expanded, alpha that is opaque everywhere dropped, EXIF orientation
// applied) or reported in Conversions for the caller to log (16 to 8 bits,
// HDR to 8 bits, CMYK to RGB, the first frame of an animation (GIF, WebP) or page (TIFF)); transparent
// pixels are refused, since the colours under them would become training data.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/atomic_file.h"
#include "engine/tensor.h"

namespace gf {

struct ImageInfo {
  std::string format;  // "PNG", "JPEG", "BMP", "GIF", "PSD", "HDR", "PIC", "PNM", "TGA", "WebP", "TIFF", "JPEG 2000"
  int width = 0, height = 0;  // as displayed: EXIF orientations 5-8 swap the stored sizes
  int channels = 0;    // in the file as read (stb_image's count, or the format's own decoder's): 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha
  bool alpha = false;  // an alpha channel, or a PNG tRNS colour key (which stb does not count)
  bool is_16_bit = false;  // 16 bits per channel (PNG, PSD, PNM), or a JPEG 2000 Pillow opens as I;16
  bool is_hdr = false;     // floating point (Radiance HDR)
  bool is_cmyk = false;    // a JPEG of four components (CMYK or YCCK), a CMYK PSD or TIFF
  int orientation = 1;     // EXIF orientation 1-8 (JPEG APP1, PNG eXIf, WebP EXIF); 1: as stored
  int max_value = 0;       // a PNM's maxval: its samples run 0..max_value (scaled to 0..255); 0 for other formats
  bool bilevel = false;    // 1-bit grey (a PNG, TIFF, P1/P4 PNM or bitmap PSD): PIL's mode '1', which Image.resize samples NEAREST
  int colour_channels() const { return channels >= 3 ? 3 : 1; }
};

// A sample of 0..top to 8 bits (top: 65535 for 16 bits, a PNM's maxval), as
// Pillow's PpmDecoder scales: round(v / top * 255) in double precision,
// halves to even (Python's round), so a maxval of 100 takes 30 to 76. The
// project's rule wherever it rounds 16 bits to 8 itself.
inline uint8_t sample_to_8_bit(uint32_t v, uint32_t top) {
  return static_cast<uint8_t>(std::nearbyint(double(std::min(v, top)) / double(top) * 255.0));
}

// What decode_image did beyond decoding; the dataset log names each file.
struct Conversions {
  bool grey_to_rgb = false;    // lossless: grey replicated into R, G and B
  bool alpha_dropped = false;  // lossless: the alpha was 255 everywhere
  bool oriented = false;       // lossless as viewers show it: turned as the EXIF orientation says
  bool to_8_bit = false;       // 16 bits (grey PNG, PSD, PNM) rounded to 8: round(v * 255 / 65535) (a PNM's maxval for 65535)
  bool high_byte = false;      // a 16-bit PNG of colour or with alpha to 8 bits as PIL's RGB;16B and LA;16B, a 16-bit TIFF as Pillow's unpackers: the high byte
  bool rescaled = false;       // a PNM's 8-bit samples scaled from 0..maxval (below 255) to 0..255
  bool hdr_to_8_bit = false;   // stb_image's HDR to 8 bits: gamma 1/2.2, values above 1 clipped
  bool cmyk_to_rgb = false;    // CMYK/YCCK to RGB as Pillow's convert('RGB'), with no colour profile
  int frames = 1;              // frames in an animated GIF or WebP, pages of a TIFF; only the first is used
};

// Thrown by decode_image for an image with a pixel whose alpha is below full.
struct TransparentImageError : Error {
  using Error::Error;
};

// Whether PIL (Pillow 9.4, every plugin registered: PIL.Image.EXTENSION
// after Image.init()) names `ext` an image extension: the names the official
// loader (training/dataset.py ImageFolderDataset) and dataset_tool.py take as
// images, whatever the file holds. `ext` without the dot, any case.
bool pil_lists_extension(const std::string& ext);
// The orientation tag of IFD0 of an EXIF block (TIFF structured, optionally
// after "Exif\0\0"); 1 when absent or malformed.
int exif_block_orientation(const uint8_t* p, size_t n);
// The extension of a '/'-separated name as the official loader takes it
// (os.path.splitext of the name): after the last dot of the last part, not
// counting its leading dots; "" for none.
std::string splitext_extension(const std::string& name);

// The name of an image format that PIL (Pillow 9.4) reads and no decoder
// here does, by its magic bytes (ICO, PCX, an 8-bit PSD in Lab mode:
// "PSD in Lab mode"); ""
// for any other data: a reader that passes over what is no image refuses
// these instead, since the official tools would have read them.
std::string pil_only_format(const uint8_t* data, size_t n);

// PIL's decompression-bomb limit: Image.open raises DecompressionBombError
// for more pixels than 2 * Image.MAX_IMAGE_PIXELS (Pillow 9.4's, 1024 * 1024
// * 1024 // 4 // 3), so the official tools read no larger image.
inline constexpr uint64_t kPilMaxPixels = 2 * (uint64_t(1024) * 1024 * 1024 / 4 / 3);

// Header only (and the PNG/JPEG/WebP/TIFF metadata above); throws gf::Error
// "<name>: <why>" when stb_image (or the format's own decoder: libjpeg-turbo,
// OpenJPEG, libwebp, libtiff, the PSD modes') cannot read the data, naming
// the format when it is one none reads (HEIF, ICO, ...), or for more pixels than kPilMaxPixels (a header of a few
// bytes claiming 32768x32768 was decoded: gigabytes, and seconds each).
ImageInfo image_info(const uint8_t* data, size_t n, const std::string& name);

// Decodes to `channels` (1 or 3) interleaved HWC uint8, upright (turned as
// its EXIF orientation says), or as stored with upright false: what PIL's
// Image.open(...).convert('RGB') gives, which ignores the EXIF orientation
// (not a TIFF's Orientation tag, which it applies: so does this), for the
// programs that read images as an official script does (projector, psp).
// A colour image asked for as 1 channel throws gf::Error, and any pixel with
// alpha below full TransparentImageError, naming the file. `done` (optional)
// receives the conversions made; `info` the size as returned.
std::vector<uint8_t> decode_image(const uint8_t* data, size_t n, const std::string& name, int channels,
                                  ImageInfo* info = nullptr, Conversions* done = nullptr, bool upright = true);

// Reads an image file as float32 [1, C, H, W] in [-1, 1] (C = 1 for grey
// files, else 3), the range the networks see: x / 127.5 - 1.
Tensor read_image(const std::string& path);

// Throws gf::Error "<what>: a grid of gw x gh images of h x w would be a
// W x H PNG, over the 0.95 GB of pixels the PNG writer takes ..." when
// stb_image_write cannot take it: its sizes are ints, and its compressed
// buffer, up to 9/8 of the filtered rows, overflows past 2^30 bytes.
void check_grid_png_size(int64_t h, int64_t w, int64_t c, int64_t gw, int64_t gh, const std::string& what);

// How a value in [-1, 1] becomes 8 bits, as each official script does it,
// in float32 (the networks' outputs are float32 there): the two differ by a
// level for a few values in a million.
enum class To8Bit {
  grid,         // StyleGAN2-ADA's training_loop.save_image_grid: np.rint((x + 1) * 127.5), clipped (half to even)
  tf_grid,      // PGGAN's and StyleGAN's misc.save_image_grid: np.rint(x * 127.5 + 127.5), clipped
  generate_py,  // generate.py, style_mixing.py: (x * 127.5 + 128).clamp(0, 255).to(torch.uint8), truncated
  psp_tensor2im,  // pSp's common.tensor2im: ((x + 1) / 2) clamped to [0, 1], * 255, truncated
};
// A NaN gives 0.
uint8_t to_8_bit(float x, To8Bit how);

// images: [N, C, H, W], C = 1 or 3, values in [-1, 1] on any device, with
// N == gw * gh. Written as one PNG of gh rows by gw columns, row-major in N
// as the official save_image_grid, each value to 8 bits as `how` says. The
// file appears atomically (temporary name, then rename), or with the other
// files of `together` at its commit() when one is given.
void save_image_grid(const Tensor& images, const std::string& path, int gw, int gh,
                     io::AtomicFileSet* together = nullptr, To8Bit how = To8Bit::grid);

}  // namespace gf
