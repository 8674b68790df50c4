// PNG and JPEG decoding as the dataset loader does it (decode_image,
// data/images/image_io.h: a PNG goes to libpng, data/images/png_image.h; a JPEG goes to
// libjpeg-turbo, as in Pillow) against stb_image alone on the file as it is
// (the loader's decoder before that), on photo-like images (smooth colour
// fields plus grain: a PNG compressed to about 2/3, as photographs; a JPEG
// of quality 90) and flat ones (two colours: a PNG compressed 500 to
// 1000x), 256 and 1024 square, RGB. Rows: median ms per image, MB/s of
// decoded pixels, the ratio decode_image / stb alone, and decode_image's
// fraction of a measured floor (floor time / decode time): for a PNG, zlib
// inflating its image data alone (no decoder that inflates with zlib, as
// decode_image and PIL do, can do less; stb_image's own inflate is faster
// on long runs, the flat rows), for a JPEG, libjpeg-turbo's decode alone
// (decode_jpeg, Pillow's settings: the library decode_image calls). All
// timed round-robin.
//
//   bench_image_decode [--quick] [FILE.png|FILE.jpg ...]
//     FILEs (e.g. written by PIL) are timed instead of the generated images.
#include <stb_image.h>
#include <stb_image_write.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_common.h"
#include "engine/error.h"
#include "engine/io/input_file.h"
#include "data/images/image_io.h"
#include "data/images/jpeg_image.h"

namespace {

struct Case {
  std::string name;
  std::vector<uint8_t> file;
  int w = 0, h = 0;
};

// As a PNG, or as a JPEG of quality 90 (stb_image_write's: 4:4:4 is not what
// cameras write, but both decoders take every path of it).
std::vector<uint8_t> encode(const std::vector<uint8_t>& px, int r, bool jpeg = false) {
  std::vector<uint8_t> out;
  auto append = [](void* ctx, void* data, int size) {
    auto* o = static_cast<std::vector<uint8_t>*>(ctx);
    o->insert(o->end(), static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  };
  const bool ok = jpeg ? stbi_write_jpg_to_func(append, &out, r, r, 3, px.data(), 90)
                       : stbi_write_png_to_func(append, &out, r, r, 3, px.data(), r * 3);
  if (!ok) throw gf::Error("cannot encode the image");
  return out;
}

// Smooth colour fields (sums of a few sines) plus grain from a fixed LCG.
Case photo(int r, bool jpeg = false) {
  std::vector<uint8_t> px(size_t(r) * r * 3);
  uint32_t state = 12345;
  for (int y = 0; y < r; ++y)
    for (int x = 0; x < r; ++x)
      for (int c = 0; c < 3; ++c) {
        const double u = double(x) / r, v = double(y) / r;
        const double field = 128 + 60 * std::sin(6.3 * u * (c + 1) + 2 * v) + 40 * std::cos(9.1 * v - 3 * u * c);
        state = state * 1664525u + 1013904223u;
        const double grain = double(state >> 24) / 255.0 * 24 - 12;
        px[(size_t(y) * r + x) * 3 + c] = uint8_t(std::fmin(255, std::fmax(0, field + grain)));
      }
  return {std::string(jpeg ? "JPEG" : "PNG") + " photo-like " + std::to_string(r), encode(px, r, jpeg), r, r};
}

Case flat(int r) {
  std::vector<uint8_t> px(size_t(r) * r * 3, 0);
  for (int y = 0; y < r; ++y)
    for (int x = 0; x < r / 2; ++x) px[(size_t(y) * r + x) * 3] = 200;
  return {"PNG flat " + std::to_string(r), encode(px, r), r, r};
}

// A PNG's IDAT chunks, joined: the zlib stream of its image data.
std::vector<uint8_t> png_idat(const std::vector<uint8_t>& file) {
  std::vector<uint8_t> out;
  for (size_t at = 8; at + 12 <= file.size();) {
    const size_t len = size_t(file[at]) << 24 | size_t(file[at + 1]) << 16 | size_t(file[at + 2]) << 8 | file[at + 3];
    if (at + 12 + len > file.size()) break;
    if (std::memcmp(&file[at + 4], "IDAT", 4) == 0) out.insert(out.end(), &file[at + 8], &file[at + 8 + len]);
    at += 12 + len;
  }
  return out;
}

// zlib inflating the whole stream into `out` (sized for the rows and their filter bytes).
void inflate_all(const std::vector<uint8_t>& z, std::vector<uint8_t>& out) {
  z_stream s{};
  if (inflateInit(&s) != Z_OK) throw gf::Error("cannot start zlib");
  s.next_in = const_cast<Bytef*>(z.data());
  s.avail_in = static_cast<uInt>(z.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&s, Z_FINISH);
  inflateEnd(&s);
  if (rc != Z_STREAM_END) throw gf::Error("the PNG's image data does not inflate whole");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    bool quick = false;
    std::vector<Case> cases;
    for (int a = 1; a < argc; ++a) {
      const std::string arg = argv[a];
      if (arg == "--quick") {
        quick = true;
      } else if (arg == "--help" || arg == "-h") {
        std::printf("usage: bench_image_decode [--quick] [FILE.png|FILE.jpg ...]\n"
                    "  ms per image and MB/s of decoded pixels: the dataset loader's decode_image against\n"
                    "  stb_image alone, on generated PNGs and JPEGs (256 and 1024 px) or the FILEs given.\n"
                    "  --quick  3 samples instead of 15\n");
        return 0;
      } else if (!arg.empty() && arg[0] == '-') {
        std::fprintf(stderr, "bench_image_decode: error: unknown flag '%s' (try --help)\n", arg.c_str());
        return 2;  // as the other programs' flags
      } else {
        Case c{arg, gf::io::read_input(arg)};
        const gf::ImageInfo info = gf::image_info(c.file.data(), c.file.size(), arg);
        if (info.format != "PNG" && info.format != "JPEG") throw gf::Error(arg + ": not a PNG or JPEG");
        c.w = info.width, c.h = info.height;
        cases.push_back(std::move(c));
      }
    }
    if (cases.empty())
      for (int r : {256, 1024}) cases.push_back(photo(r)), cases.push_back(flat(r)), cases.push_back(photo(r, true));
    std::printf("%-22s %10s %12s %12s %10s %10s %8s %10s %10s\n", "image", "file bytes", "stb alone ms", "decode ms",
                "stb MB/s", "dec MB/s", "ratio", "floor ms", "of floor");
    for (const Case& c : cases) {
      const int calls = c.w * c.h > 512 * 512 ? 1 : 8;
      const gf::bench::Reps reps{2, quick ? 3 : 15, calls};
      auto stb_alone = [&] {
        int w = 0, h = 0, n = 0;
        stbi_uc* p = stbi_load_from_memory(c.file.data(), int(c.file.size()), &w, &h, &n, 3);
        if (!p) throw gf::Error(c.name + ": stb_image cannot decode it");
        stbi_image_free(p);
      };
      auto loader = [&] { gf::decode_image(c.file.data(), c.file.size(), c.name, 3); };
      const bool png = c.file.size() > 8 && std::memcmp(c.file.data(), "\x89PNG", 4) == 0;
      const std::vector<uint8_t> idat = png ? png_idat(c.file) : std::vector<uint8_t>();
      // Up to 16-bit RGBA, and a filter byte per row of each of Adam7's 7 passes.
      std::vector<uint8_t> rows(png ? size_t(c.h) * (size_t(c.w) * 8 + 2) + 16 : 0);
      auto floor = [&] {
        if (png) inflate_all(idat, rows);
        else gf::decode_jpeg(c.file.data(), c.file.size(), c.name);
      };
      const std::vector<double> t = gf::bench::time_per_call(gf::Device::cpu(), reps, {stb_alone, loader, floor});
      const double mb = double(c.w) * c.h * 3 / 1e6;
      std::printf("%-22s %10zu %12.2f %12.2f %10.0f %10.0f %8.2f %10.2f %10.2f\n", c.name.c_str(), c.file.size(),
                  t[0] * 1e3, t[1] * 1e3, mb / t[0], mb / t[1], t[1] / t[0], t[2] * 1e3, t[2] / t[1]);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_image_decode: error: %s\n", e.what());
    return 1;
  }
}
