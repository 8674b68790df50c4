#include "train/psp/data.h"

#include "engine/error.h"
#include "data/images/image_resize.h"

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
  std::vector<uint8_t> hwc(size_t(c) * res * res);
  ds.each_image(indices.data(), n, [&](int64_t k, const uint8_t* chw) {
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < res * res; ++p) hwc[size_t(p) * c + ch] = chw[size_t(ch) * res * res + p];
    transform_image(hwc, res, res, c, size, !flips.empty() && flips[size_t(k)], channels,
                    out.data<float>() + k * channels * size * size);
  });
  return out.to(device);
}

}  // namespace gf::psp
