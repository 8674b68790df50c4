// PReLU over the channel axis of a [outer, C, inner] view, as torch's PReLU:
// y = x > 0 ? x : a[c] * x, with one slope per channel (or one slope shared by
// every channel: a_per_channel false).
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {

struct PreluDims {
  int64_t outer = 1, c = 1, inner = 1;
  bool per_channel = true;
};

namespace cpu {
template <class T>
void prelu(const T* x, const T* a, T* y, const PreluDims& d);
}
namespace cuda {
template <class T>
void prelu(const T* x, const T* a, T* y, const PreluDims& d, Stream s);
}
}  // namespace gf
