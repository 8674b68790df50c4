// Shared definitions for every kernel family: host/device qualifiers and the
// fixed-size shape/stride records passed by value to kernels.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define GF_HD __host__ __device__
#else
#define GF_HD
#endif

namespace gf {

constexpr int kMaxDims = 6;  // modulated-conv weights are 5-D; one spare.

// Elementwise CPU kernels (and oneDNN's layout reorders) run on the calling
// thread below this many elements of work, without opening an OpenMP
// parallel region: under it, the fork and join cost more than the work they
// split, and on a loaded machine a region also waits for a descheduled
// thread. Measured with bench/bench_parallel_threshold when it timed an
// unvectorized serial loop; against the kernels' own serial loop the quiet
// 2-core VM puts the crossover near 110k elements, which is about twice where
// many threads would put it (bench/RESULTS.md): kept until a many-core machine
// measures it.
// Maps and row-wise kernels give the same bits whichever way they run.
constexpr int64_t kMinParallelWork = 32768;

// Sizes of an N-d iteration space plus the element strides of one operand in
// it. A stride of 0 broadcasts that operand along the dimension.
struct Dims {
  int ndim = 0;
  int64_t size[kMaxDims] = {};
};
struct Strides {
  int64_t v[kMaxDims] = {};
};

// Element offset of the linear index `i` (row-major over `d`) in an operand
// with strides `s`.
GF_HD inline int64_t strided_offset(int64_t i, const Dims& d, const Strides& s) {
  int64_t off = 0;
  for (int k = d.ndim - 1; k >= 0; --k) {
    int64_t c = i % d.size[k];
    i /= d.size[k];
    off += c * s.v[k];
  }
  return off;
}

GF_HD inline int64_t dims_numel(const Dims& d) {
  int64_t n = 1;
  for (int k = 0; k < d.ndim; ++k) n *= d.size[k];
  return n;
}

}  // namespace gf
