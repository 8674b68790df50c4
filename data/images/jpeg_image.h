// JPEG images through libjpeg-turbo (Debian: libjpeg62-turbo-dev), decoded
// as Pillow 9.4 decodes them (PIL/JpegImagePlugin.py over its decode.c:
// the library's defaults, the accurate integer IDCT and fancy upsampling,
// to grey for one component and RGB for three). Pillow links the same
// library, so the pixels are the same bytes (tests/cli/jpeg_like_pil.py);
// stb_image's own decoder differed by up to 13 levels. Four components
// (CMYK, YCCK) become RGB as Pillow's convert('RGB') makes them of its
// inverted CMYK (stb_image's conversion was a level off in places).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

struct JpegImage {
  int width = 0, height = 0;
  int components = 0;            // in the file: 1 grey, 3 colour, 4 CMYK or YCCK
  std::vector<uint8_t> pixels;   // width * height * (1 grey, else 3: RGB), when decoded
};

// The frame header alone: throws gf::Error "<name>: unreadable JPEG (...)"
// with libjpeg's words when the library cannot read it.
JpegImage jpeg_info(const uint8_t* data, size_t n, const std::string& name);

// The pixels of a file of 1, 3 or 4 components: grey or RGB, rows top down.
// Throws gf::Error "<name>: corrupt JPEG (...)" for data libjpeg refuses,
// and "<name>: truncated JPEG: the file ends before its pixels do" for a
// file cut short, or without its end-of-image marker (libjpeg would finish
// it with grey; Pillow refuses both).
JpegImage decode_jpeg(const uint8_t* data, size_t n, const std::string& name);

}  // namespace gf
