// fill / zeros / ones. On CUDA: memset to zero, then affine(0 * x + v) for other values.
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/elementwise.h"

namespace gf {

Tensor full(const Shape& s, double value, DType t, Device d) {
  Tensor out = Tensor::empty(s, t, d);
  const int64_t n = out.numel();
  dispatch_float(t, "full", [&](auto tag) {
    using T = decltype(tag);
    T* p = out.data<T>();
    if (d.is_cuda()) {
      GF_CUDA_CALL("full", {
        cuda::memset_zero(p, out.nbytes(), d.index);
        if (value != 0.0) cuda::unary<T>(UnaryOp::affine, p, p, n, 0.0, value, 0.0, stream_of(d));
      });
    } else {
      for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(value);
    }
  });
  return out;
}

Tensor zeros(const Shape& s, DType t, Device d) { return full(s, 0.0, t, d); }
Tensor ones(const Shape& s, DType t, Device d) { return full(s, 1.0, t, d); }
Tensor zeros_like(const Tensor& x) { return full(x.shape(), 0.0, x.dtype(), x.device()); }
Tensor ones_like(const Tensor& x) { return full(x.shape(), 1.0, x.dtype(), x.device()); }
Tensor full_like(const Tensor& x, double v) { return full(x.shape(), v, x.dtype(), x.device()); }

}  // namespace gf
