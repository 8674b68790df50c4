// The GEMM library's own rate on a device: the ceiling the benchmarks set
// their FLOP/s against (engine/flop_count.h counts the work), measured in the
// same run as the figures it divides. On the CPU OpenBLAS's sgemm called
// directly (the library the convolutions and products run on); on a GPU the
// matmul op, which is cuBLAS. float32 square matrices, the median of timed
// samples after a warm-up (bench_common.h), as bench_primitives' reference row.
#pragma once
#include <cblas.h>

#include <string>

#include "bench/bench_common.h"
#include "engine/ops.h"

namespace gf::bench {

struct GemmReference {
  double tflop_s = 0;
  std::string what;  // e.g. "sgemm 1024^3 (OpenBLAS direct)"
};

// m: the matrices' side (1024 on the CPU takes about 10 ms a call on 2 cores;
// a GPU wants 4096 or more to reach its rate).
inline GemmReference gemm_reference(Device d, int64_t m) {
  Generator g(7);
  const Tensor a = randn({m, m}, g, DType::f32, d), b = randn({m, m}, g, DType::f32, d);
  Tensor c = Tensor::empty({m, m}, DType::f32, d);
  const bool gpu = d.is_cuda();
  const double seconds = time_per_call(d, Reps{1, 5, 1}, [&] {
    if (gpu) {
      c = matmul(a, b);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(m), int(m), 1.0f, a.data<float>(), int(m),
                  b.data<float>(), int(m), 0.0f, c.data<float>(), int(m));
    }
  });
  const std::string size = std::to_string(m) + "^3";
  return {2.0 * double(m) * double(m) * double(m) / seconds / 1e12,
          gpu ? "matmul " + size + " (cuBLAS)" : "sgemm " + size + " (OpenBLAS direct)"};
}

}  // namespace gf::bench
