#include "data/images/webp_image.h"

#include <webp/decode.h>
#include <webp/demux.h>

#include <cstring>
#include <memory>

#include "engine/error.h"
#include "data/images/image_io.h"

namespace gf {
namespace {

struct DemuxDeleter {
  void operator()(WebPDemuxer* d) const { WebPDemuxDelete(d); }
};
struct AnimDecoderDeleter {
  void operator()(WebPAnimDecoder* d) const { WebPAnimDecoderDelete(d); }
};

Error unreadable(const std::string& name, const std::string& why) { return Error(name + ": unreadable WebP (" + why + ")"); }

}  // namespace

bool is_webp(const uint8_t* data, size_t n) {
  return n >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0;
}

WebpImage webp_info(const uint8_t* data, size_t n, const std::string& name) {
  const WebPData whole{data, n};
  // The demuxer takes only a whole file (WebPDemux, not the partial variant):
  // a cut one is refused here, before any pixel.
  std::unique_ptr<WebPDemuxer, DemuxDeleter> demux(WebPDemux(&whole));
  if (!demux) throw unreadable(name, "libwebp cannot parse it: damaged, or cut short");
  WebpImage img;
  img.width = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_WIDTH));
  img.height = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_CANVAS_HEIGHT));
  img.frames = static_cast<int>(WebPDemuxGetI(demux.get(), WEBP_FF_FRAME_COUNT));
  if (img.frames < 1) throw unreadable(name, "no frame");
  // An animation's canvas size is a header field, apart from its data: a
  // 138-byte file can ask for gigabytes. The cap stb_image keeps for the
  // other formats (2^30 bytes of pixels).
  if (uint64_t(img.width) * uint64_t(img.height) * 4 > (uint64_t(1) << 30))
    throw Error(name + ": a " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                " WebP, larger than the images read here (at most 2^30 bytes of pixels)");
  // Pillow's mode: RGBA when WebPGetFeatures reports alpha, else RGB.
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(data, n, &features) != VP8_STATUS_OK) throw unreadable(name, "libwebp cannot read its header");
  img.alpha = features.has_alpha != 0;
  WebPChunkIterator exif;
  if (WebPDemuxGetChunk(demux.get(), "EXIF", 1, &exif)) {
    img.orientation = exif_block_orientation(exif.chunk.bytes, exif.chunk.size);
    WebPDemuxReleaseChunkIterator(&exif);
  }
  return img;
}

WebpImage decode_webp(const uint8_t* data, size_t n, const std::string& name, WebpImage img) {
  WebPAnimDecoderOptions options;
  if (!WebPAnimDecoderOptionsInit(&options)) throw Error(name + ": libwebp's decoder options failed to initialize");
  options.color_mode = MODE_RGBA;  // unpremultiplied, as Pillow asks
  options.use_threads = 0;
  const WebPData whole{data, n};
  std::unique_ptr<WebPAnimDecoder, AnimDecoderDeleter> dec(WebPAnimDecoderNew(&whole, &options));
  if (!dec) throw unreadable(name, "libwebp cannot decode it");
  uint8_t* canvas = nullptr;
  int timestamp = 0;
  if (!WebPAnimDecoderGetNext(dec.get(), &canvas, &timestamp) || !canvas)
    throw unreadable(name, "libwebp cannot decode its first frame: damaged");
  img.rgba.assign(canvas, canvas + size_t(img.width) * img.height * 4);
  return img;
}

}  // namespace gf
