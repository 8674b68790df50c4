// What the metric tests share (test_metric_fid, _kid, _ppl, _pr, _main): the golden values of
// tools/fixtures/make_metrics_golden.py, small datasets, a stand-in detector and LPIPS embedding, a
// generator that replays a dataset, and a metric context over them.
#pragma once
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "engine/io/safetensors.h"
#include "engine/ops.h"
#include "metrics/compute_features.h"
#include "metrics/metric_main.h"
#include "tests/testing.h"

namespace gf::test {

inline io::TensorMap golden() { return io::load_safetensors(std::string(GF_TEST_DATA_DIR) + "/metrics_golden.bin"); }

inline std::vector<float> floats(const Tensor& t) {
  std::vector<float> v;
  for (double x : t.to_vector()) v.push_back(float(x));
  return v;
}

// A dataset of n grey 8x8 images with varied pixels, with or without mirrored copies.
inline std::unique_ptr<Dataset> small_dataset(int64_t n, bool xflip) {
  std::vector<uint8_t> px(size_t(n) * 64);
  for (size_t i = 0; i < px.size(); ++i) px[i] = uint8_t((i * 37 + (i / 64) * 11 + (i * i) % 13) % 256);
  DatasetOptions o;
  o.xflip = xflip;
  return std::make_unique<Dataset>("tiny", 8, 1, px, std::vector<int64_t>{}, o);
}

// Stand-in detector: 6 fixed random projections of the 0..255 pixels (first
// channel) plus one nonlinear feature, so statistics depend on every pixel.
inline metrics::Detector projection_detector() {
  return [](const Tensor& images) {
    REQUIRE(images.size(1) == 3);
    const int64_t n = images.size(0), p = images.size(2) * images.size(3);
    const Tensor x = slice(images, 1, 0, 1).reshape({n, p}).to(DType::f64);
    const Tensor w = (test::random_tensor({p, 6}, 77) * (1.0 / 255.0)).to(images.device());
    const Tensor f = matmul(x, w);
    return concat({f, square(slice(f, 1, 0, 1)) * 0.1}, 1).to(DType::f32);
  };
}

// A stand-in LPIPS embedding: the 0..255 pixels themselves, flattened.
inline metrics::Detector flat_embedding() {
  return [](const Tensor& images) { return images.reshape({images.size(0), images.numel() / images.size(0)}); };
}

// A "generator" that replays the dataset's images in order as [-1, 1] floats.
inline metrics::ImageGenerator replay(const Dataset& ds) {
  auto next = std::make_shared<int64_t>(0);
  return [&ds, next](int64_t n, gf::Generator&) {
    Tensor out = Tensor::empty({n, 1, 8, 8});
    std::vector<uint8_t> px(64);
    for (int64_t i = 0; i < n; ++i) {
      ds.image((*next)++ % ds.size(), px.data());
      for (int k = 0; k < 64; ++k) out.data<float>()[i * 64 + k] = float(px[size_t(k)]) / 127.5f - 1.0f;
    }
    return out;
  };
}

// A context over ds with the stand-in detector, a cache in cache_dir (empty:
// none), at most max_items images a side, and its log lines kept in lines.
inline metrics::MetricContext stand_in_context(const Dataset& ds, const std::string& cache_dir, int64_t max_items,
                                               std::vector<std::string>& lines) {
  metrics::MetricContext ctx;
  ctx.dataset = &ds;
  ctx.features = projection_detector();
  ctx.detector_key = "projection";
  ctx.cache_dir = cache_dir;
  ctx.max_items = max_items;
  ctx.log = [&lines](const std::string& l) { lines.push_back(l); };
  return ctx;
}

}  // namespace gf::test
