#include "train/psp/data.h"

#include "engine/error.h"
#include "train/image_resize.h"

namespace gf::psp {

void transform_image(const std::vector<uint8_t>& hwc, int w, int h, int in_c, int size, bool flip, int out_c,
                     float* out_chw) {
  GF_CHECK(out_c == in_c || (in_c == 1 && out_c == 3), "psp transform",
           in_c << "-channel images cannot become " << out_c << "-channel inputs");
  const std::vector<uint8_t> r = w == size && h == size ? hwc : resize_bilinear_pil(hwc, w, h, in_c, size, size);
  for (int c = 0; c < out_c; ++c)
    for (int y = 0; y < size; ++y)
      for (int x = 0; x < size; ++x) {
        const int sx = flip ? size - 1 - x : x;
        const uint8_t v = r[(size_t(y) * size + sx) * in_c + (in_c == 1 ? 0 : c)];
        out_chw[(size_t(c) * size + y) * size + x] = (float(v) / 255.0f - 0.5f) / 0.5f;
      }
}

Tensor transform_batch(const Dataset& ds, const std::vector<int64_t>& indices, int size, int channels,
                       const std::vector<bool>& flips, Device device) {
  const int c = ds.channels(), res = ds.resolution();
  GF_CHECK(c == channels || (c == 1 && channels == 3), "psp data",
           "the dataset's images have " << c << " channels, the network's " << channels
                                        << (c == 3 ? " (colour data for a grey generator)" : ""));
  GF_CHECK(flips.empty() || flips.size() == indices.size(), "psp data", "one flip per image");
  const int64_t n = static_cast<int64_t>(indices.size());
  Tensor out = Tensor::empty({n, channels, size, size});
  // A dataset read from its files decodes the batch side by side first.
  const size_t image_size = size_t(c) * res * res;
  std::vector<uint8_t> decoded(ds.from_files() ? size_t(n) * image_size : 0), chw(image_size), hwc(image_size);
  if (ds.from_files()) ds.images(indices.data(), n, decoded.data());
  for (int64_t k = 0; k < n; ++k) {
    const uint8_t* from = decoded.data() + size_t(k) * image_size;
    if (!ds.from_files()) {
      ds.image(indices[size_t(k)], chw.data());
      from = chw.data();
    }
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < res * res; ++p) hwc[size_t(p) * c + ch] = from[size_t(ch) * res * res + p];
    transform_image(hwc, res, res, c, size, !flips.empty() && flips[size_t(k)], channels,
                    out.data<float>() + k * channels * size * size);
  }
  return out.to(device);
}

}  // namespace gf::psp
