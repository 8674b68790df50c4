// randn / rand: Philox 4x32-10 fills (kernels/random.h). A generator's offset
// counts the counters already used; each call takes the next ceil(n / 4), so
// consecutive calls never reuse a counter and a seed replays the same tensors
// on any device. Random tensors are leaves: nothing to differentiate.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/random.h"

namespace gf {
namespace {

Tensor philox_tensor(const char* op, RandomDist dist, const Shape& s, Generator& g, DType t, Device d) {
  Tensor out = Tensor::empty(s, t, d);
  const int64_t n = out.numel();
  dispatch_float(t, op, [&](auto tag) {
    using T = decltype(tag);
    if (d.is_cuda())
      GF_CUDA_CALL(op, cuda::philox_fill<T>(dist, out.data<T>(), n, g.seed, g.offset, stream_of(d)));
    else
      cpu::philox_fill<T>(dist, out.data<T>(), n, g.seed, g.offset);
  });
  g.offset += static_cast<uint64_t>((n + 3) / 4);  // only once the fill has succeeded
  return out;
}

}  // namespace

Tensor randn(const Shape& s, Generator& g, DType t, Device d) {
  return philox_tensor("randn", RandomDist::normal, s, g, t, d);
}

Tensor rand(const Shape& s, Generator& g, DType t, Device d) {
  return philox_tensor("rand", RandomDist::uniform, s, g, t, d);
}

}  // namespace gf
