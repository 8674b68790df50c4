// The GEMM library's own rate on a device: the ceiling the benchmarks set
// their FLOP/s against (engine/flop_count.h counts the work), measured in the
// same run as the figures it divides. On the CPU OpenBLAS's sgemm called
// directly (the library the convolutions and products run on); on a GPU the
// matmul op, which is cuBLAS. float32 square matrices; the fastest of 15
// timed calls after 2 warm-up calls: a ceiling is the best the library
// reaches, and on a shared machine a median of a few short calls caught
// another process's load (a third of the rate, once).
#pragma once
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <string>

#include "bench/bench_common.h"
#include "engine/ops.h"

namespace gf::bench {

struct GemmReference {
  double tflop_s = 0;
  std::string what;  // e.g. "sgemm 1024^3 (OpenBLAS direct)"
};

// The matrices' side: 1024 on the CPU (about 10 ms a call on 2 cores), 8192
// on a GPU, which wants a larger product to reach its rate.
inline GemmReference gemm_reference(Device d) {
  const int64_t m = d.is_cuda() ? 8192 : 1024;
  Generator g(7);
  const Tensor a = randn({m, m}, g, DType::f32, d), b = randn({m, m}, g, DType::f32, d);
  Tensor c = Tensor::empty({m, m}, DType::f32, d);
  const bool gpu = d.is_cuda();
  auto call = [&] {
    if (gpu) {
      c = matmul(a, b);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(m), int(m), 1.0f, a.data<float>(), int(m),
                  b.data<float>(), int(m), 0.0f, c.data<float>(), int(m));
    }
  };
  for (int i = 0; i < 2; ++i) call();
  sync(d);
  double seconds = 1e300;
  for (int i = 0; i < 15; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    sync(d);
    seconds = std::min(seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const std::string size = std::to_string(m) + "^3";
  return {2.0 * double(m) * double(m) * double(m) / seconds / 1e12,
          gpu ? "matmul " + size + " (cuBLAS)" : "sgemm " + size + " (OpenBLAS direct)"};
}

}  // namespace gf::bench
