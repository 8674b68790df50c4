// JPEG 2000 decoding (data/images/jpeg2000_image.h through decode_image): what
// Pillow cannot write, encoded here with OpenJPEG itself: precisions other
// than 8 and 16 bits, signed samples, subsampled components (sRGB, YCC),
// and the header faults Pillow's plugin refuses. Pillow's pixels for the kinds it
// writes are compared in tests/cli/jpeg2000_like_pil.py.
#include <catch2/catch.hpp>
#include <openjpeg.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "engine/error.h"
#include "tests/testing.h"
#include "data/images/image_io.h"

using namespace gf;
using gf::test::error_of;

namespace {

struct Component {
  int precision = 8;
  bool is_signed = false;
  int dx = 1, dy = 1;
  std::vector<int> samples;  // (h / dy) x (w / dx), row by row
};

// OpenJPEG's output in memory: it seeks back to fill in lengths.
struct Output {
  std::vector<uint8_t> bytes;
  size_t pos = 0;
};
OPJ_SIZE_T write_to(void* data, OPJ_SIZE_T n, void* user) {
  Output& out = *static_cast<Output*>(user);
  if (out.bytes.size() < out.pos + n) out.bytes.resize(out.pos + n);
  std::memcpy(out.bytes.data() + out.pos, data, n);
  out.pos += n;
  return n;
}
OPJ_OFF_T skip_in(OPJ_OFF_T n, void* user) {
  static_cast<Output*>(user)->pos += size_t(n);
  return n;
}
OPJ_BOOL seek_to(OPJ_OFF_T at, void* user) {
  static_cast<Output*>(user)->pos = size_t(at);
  return OPJ_TRUE;
}

// A lossless codestream (.j2k) of one tile, colour space unspecified.
std::vector<uint8_t> encode(int w, int h, const std::vector<Component>& comps) {
  std::vector<opj_image_cmptparm_t> params(comps.size());
  for (size_t k = 0; k < comps.size(); ++k) {
    std::memset(&params[k], 0, sizeof params[k]);
    params[k].dx = OPJ_UINT32(comps[k].dx), params[k].dy = OPJ_UINT32(comps[k].dy);
    params[k].w = OPJ_UINT32(w / comps[k].dx), params[k].h = OPJ_UINT32(h / comps[k].dy);
    params[k].prec = OPJ_UINT32(comps[k].precision), params[k].sgnd = comps[k].is_signed;
  }
  opj_image_t* image = opj_image_create(OPJ_UINT32(comps.size()), params.data(), OPJ_CLRSPC_UNSPECIFIED);
  REQUIRE(image);
  image->x1 = OPJ_UINT32(w), image->y1 = OPJ_UINT32(h);
  for (size_t k = 0; k < comps.size(); ++k)
    std::copy(comps[k].samples.begin(), comps[k].samples.end(), image->comps[k].data);
  opj_cparameters_t cp;
  opj_set_default_encoder_parameters(&cp);
  cp.numresolution = 2;  // one decomposition: the default five need 32 pixels a side
  opj_codec_t* codec = opj_create_compress(OPJ_CODEC_J2K);
  REQUIRE(opj_setup_encoder(codec, &cp, image));
  Output out;
  opj_stream_t* stream = opj_stream_default_create(OPJ_FALSE);
  opj_stream_set_write_function(stream, write_to);
  opj_stream_set_skip_function(stream, skip_in);
  opj_stream_set_seek_function(stream, seek_to);
  opj_stream_set_user_data(stream, &out, nullptr);
  const bool ok = opj_start_compress(codec, image, stream) && opj_encode(codec, stream) && opj_end_compress(codec, stream);
  opj_stream_destroy(stream);
  opj_destroy_codec(codec);
  opj_image_destroy(image);
  REQUIRE(ok);
  return out.bytes;
}

std::vector<int> ramp(size_t n, int low, int step) {
  std::vector<int> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = low + int(i) * step;
  return v;
}

}  // namespace

TEST_CASE("JPEG 2000 samples are unpacked as Pillow 9.4 unpacks them", "[dataset][jpeg2000]") {
  ImageInfo info;
  SECTION("12 bits: Pillow's I;16 (its first Ssiz above 8), v << 4, then rounded to 8 bits") {
    const std::vector<int> v = ramp(16, 0, 273);  // 0 .. 4095
    const std::vector<uint8_t> file = encode(4, 4, {{12, false, 1, 1, v}});
    const std::vector<uint8_t> px = decode_image(file.data(), file.size(), "a.j2k", 1, &info);
    CHECK((info.format == "JPEG 2000" && info.is_16_bit && info.channels == 1));
    for (size_t i = 0; i < v.size(); ++i) CHECK(px[i] == uint8_t(std::nearbyint(double(v[i] << 4) / 65535.0 * 255.0)));
  }
  SECTION("9 bits: Pillow's L, (v + 1) >> 1, which wraps to 0 at 511") {
    const std::vector<int> v = ramp(16, 0, 34);  // 0 .. 510
    std::vector<int> with_top = v;
    with_top[15] = 511;
    const std::vector<uint8_t> file = encode(4, 4, {{9, false, 1, 1, with_top}});
    const std::vector<uint8_t> px = decode_image(file.data(), file.size(), "a.j2k", 1, &info);
    CHECK(!info.is_16_bit);
    for (size_t i = 0; i < 15; ++i) CHECK(px[i] == uint8_t((with_top[i] + 1) >> 1));
    CHECK(px[15] == 0);
  }
  SECTION("signed 8 bits: offset by 128") {
    const std::vector<int> v = ramp(16, -128, 17);
    const std::vector<uint8_t> file = encode(4, 4, {{8, true, 1, 1, v}});
    const std::vector<uint8_t> px = decode_image(file.data(), file.size(), "a.j2k", 3, &info);
    for (size_t i = 0; i < v.size(); ++i)
      for (int c = 0; c < 3; ++c) CHECK(px[i * 3 + c] == uint8_t(v[i] + 128));
  }
  SECTION("a subsampled first component (sRGB by Pillow's guess) is repeated over its pixels") {
    const std::vector<int> r = ramp(4, 10, 50), g = ramp(16, 0, 15), b = ramp(16, 255, -15);
    const std::vector<uint8_t> file = encode(4, 4, {{8, false, 2, 2, r}, {8, false, 1, 1, g}, {8, false, 1, 1, b}});
    const std::vector<uint8_t> px = decode_image(file.data(), file.size(), "a.j2k", 3, &info);
    for (size_t y = 0; y < 4; ++y)
      for (size_t x = 0; x < 4; ++x) {
        const size_t p = y * 4 + x;
        CHECK(px[p * 3] == r[(y / 2) * 2 + x / 2]);
        CHECK((px[p * 3 + 1] == g[p] && px[p * 3 + 2] == b[p]));
      }
  }
  SECTION("subsampled second and third components are YCC to Pillow: its YCbCr to RGB") {
    // Y full size, Cb and Cr 2x2 over 2x2 blocks; the RGB of each block is
    // Pillow 9.4's Image.new('YCbCr', ..., (y, cb, cr)).convert('RGB').
    std::vector<int> y(16);
    for (size_t i = 0; i < 16; ++i) y[i] = i < 8 ? 100 : 50;
    const std::vector<int> cb = {128, 28, 200, 128}, cr = {228, 128, 60, 128};
    const std::vector<uint8_t> file = encode(4, 4, {{8, false, 1, 1, y}, {8, false, 2, 2, cb}, {8, false, 2, 2, cr}});
    const std::vector<uint8_t> px = decode_image(file.data(), file.size(), "a.j2k", 3, &info);
    const uint8_t rgb[4][3] = {{240, 28, 100}, {100, 134, 0}, {0, 73, 177}, {50, 50, 50}};
    for (size_t p = 0; p < 16; ++p) {
      const size_t block = (p / 8) * 2 + (p % 4) / 2;
      CHECK((px[p * 3] == rgb[block][0] && px[p * 3 + 1] == rgb[block][1] && px[p * 3 + 2] == rgb[block][2]));
    }
  }
}

TEST_CASE("JPEG 2000 headers Pillow's plugin refuses are refused", "[dataset][jpeg2000]") {
  const std::vector<uint8_t> five = encode(4, 4, std::vector<Component>(5, {8, false, 1, 1, ramp(16, 0, 1)}));
  CHECK(error_of([&] { image_info(five.data(), five.size(), "a.j2k"); }) ==
        "a.j2k: unreadable JPEG 2000 (no mode Pillow reads: 1 to 4 components)");
  const std::vector<uint8_t> cut(five.begin(), five.begin() + 30);
  CHECK(error_of([&] { image_info(cut.data(), cut.size(), "a.j2k"); }) ==
        "a.j2k: unreadable JPEG 2000 (its SIZ segment is cut short)");
  // A .jp2 signature and then no jp2h box: Pillow reads boxes until a read fails.
  std::vector<uint8_t> jp2 = {0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A, 0, 0, 0, 12, 'f', 't', 'y', 'p', 'j', 'p', '2', ' '};
  CHECK(error_of([&] { image_info(jp2.data(), jp2.size(), "a.jp2"); }) ==
        "a.jp2: unreadable JPEG 2000 (the file ends inside its header)");
  jp2[15] = 9;  // an ftyp box too short for its brand
  CHECK(error_of([&] { image_info(jp2.data(), jp2.size(), "a.jp2"); }) ==
        "a.jp2: unreadable JPEG 2000 (not enough data in header)");
}
