// WebP images through libwebp (Debian: libwebp-dev), decoded as Pillow 9.4
// opens them (PIL/WebPImagePlugin.py over its _webp module's animation
// decoder, for still and animated files alike): the first frame composed on
// the canvas, RGB, or RGBA when the file has alpha. Pillow links the same
// libwebp, so the pixels are the same bytes (tests/cli/webp_like_pil.py).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gf {

// A RIFF container of form type WEBP.
bool is_webp(const uint8_t* data, size_t n);

struct WebpImage {
  int width = 0, height = 0;  // the canvas, as stored (EXIF orientation not applied)
  bool alpha = false;         // the file says it has alpha (VP8X flag or a lossless image with alpha)
  int frames = 1;             // frames of an animation; only the first is decoded
  int orientation = 1;        // the EXIF chunk's orientation 1-8, 1 without one
  std::vector<uint8_t> rgba;  // width * height * 4 bytes, when decoded
};

// Header only (no pixels): throws gf::Error "<name>: unreadable WebP (...)"
// when libwebp cannot parse the container, or naming the size when the
// canvas holds more than 2^30 bytes of RGBA.
WebpImage webp_info(const uint8_t* data, size_t n, const std::string& name);

// `info` (webp_info's of the same data) with the first frame's pixels as
// interleaved RGBA (alpha 255 when the file has none); throws gf::Error
// naming the file when libwebp cannot decode it (damaged or cut: WebP's
// demuxer wants the whole file).
WebpImage decode_webp(const uint8_t* data, size_t n, const std::string& name, WebpImage info);

}  // namespace gf
