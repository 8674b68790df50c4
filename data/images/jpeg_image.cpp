#include "data/images/jpeg_image.h"

// jpeglib.h needs FILE and size_t declared first.
#include <csetjmp>
#include <cstdio>
#include <jpeglib.h>
#include <jerror.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "engine/error.h"
#include "data/images/cmyk_as_pil.h"

namespace gf {
namespace {

// libjpeg ends a fatal error in error_exit, which must not return: it jumps
// back to the caller's setjmp with the message. Its source manager, at the
// end of the data, warns and makes up an end of image: the file is cut (or
// lacks its end marker), which Pillow refuses ("image file is truncated").
struct Job {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr pub{};
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  bool header_read = false, truncated = false;
  JpegImage img;
};

void error_exit(j_common_ptr cinfo) {
  Job* job = static_cast<Job*>(cinfo->client_data);
  cinfo->err->format_message(cinfo, job->message);
  std::longjmp(job->jump, 1);
}

void emit_message(j_common_ptr cinfo, int level) {
  Job* job = static_cast<Job*>(cinfo->client_data);
  // Warnings (level -1) are not fatal, as in Pillow; the data's end is.
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) job->truncated = true;
}

// Reads the header, and the pixels when `decode`. The state libjpeg's jump
// returns to lives on the heap: automatic variables changed after setjmp
// are indeterminate after the jump.
JpegImage read(const uint8_t* data, size_t n, const std::string& name, bool decode) {
  if (n > 0xFFFFFFFFull) throw Error(name + ": a JPEG of over 4 GiB, more than libjpeg reads");
  const std::unique_ptr<Job> owner = std::make_unique<Job>();
  Job* const job = owner.get();
  jpeg_decompress_struct& cinfo = job->cinfo;
  cinfo.err = jpeg_std_error(&job->pub);
  job->pub.error_exit = error_exit;
  job->pub.emit_message = emit_message;
  if (setjmp(job->jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw Error(name + (job->header_read ? ": corrupt JPEG (" : ": unreadable JPEG (") + job->message + ")");
  }
  jpeg_create_decompress(&cinfo);
  cinfo.client_data = job;
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(n));
  jpeg_read_header(&cinfo, TRUE);
  job->header_read = true;
  JpegImage& img = job->img;
  img.width = static_cast<int>(cinfo.image_width);
  img.height = static_cast<int>(cinfo.image_height);
  img.components = cinfo.num_components;
  if (decode && (img.components == 1 || img.components == 3 || img.components == 4)) {
    cinfo.out_color_space = img.components == 1 ? JCS_GRAYSCALE : img.components == 3 ? JCS_RGB : JCS_CMYK;
    img.pixels.resize(size_t(img.width) * size_t(img.height) * size_t(img.components));
    jpeg_start_decompress(&cinfo);
    const size_t row_bytes = size_t(cinfo.output_width) * size_t(cinfo.output_components);
    while (cinfo.output_scanline < cinfo.output_height) {
      JSAMPROW row = img.pixels.data() + size_t(cinfo.output_scanline) * row_bytes;
      jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
  }
  jpeg_destroy_decompress(&cinfo);
  if (job->truncated) throw Error(name + ": truncated JPEG: the file ends before its pixels do");
  if (decode && img.components == 4) {
    // Pillow reads four components as inverted CMYK ("CMYK;I": Adobe's
    // convention, assumed) and converts them (data/images/cmyk_as_pil.h).
    std::vector<uint8_t> rgb(size_t(img.width) * size_t(img.height) * 3);
    inverted_cmyk_to_rgb(img.pixels.data(), rgb.size() / 3, rgb.data());
    img.pixels = std::move(rgb);
  }
  return std::move(img);
}

}  // namespace

JpegImage jpeg_info(const uint8_t* data, size_t n, const std::string& name) { return read(data, n, name, false); }

JpegImage decode_jpeg(const uint8_t* data, size_t n, const std::string& name) { return read(data, n, name, true); }

}  // namespace gf
