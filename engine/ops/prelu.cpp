#include "engine/ops/prelu.h"

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/prelu.h"

namespace gf {

Tensor prelu(const Tensor& x, const Tensor& a) {
  const char* op = "prelu";
  check_same(op, {x, a});
  GF_CHECK(x.dim() >= 1, op, "x must have at least one dim, got " << shape_str(x.shape()));
  const int64_t channels = x.dim() >= 2 ? x.size(1) : 1;
  GF_CHECK(a.dim() == 1 && (a.size(0) == 1 || a.size(0) == channels), op,
           "slopes must be [1] or [" << channels << "] (one per channel), got " << shape_str(a.shape()));
  PreluDims d;
  d.outer = x.size(0);
  d.c = channels;
  for (int64_t k = 2; k < x.dim(); ++k) d.inner *= x.size(k);
  d.per_channel = a.size(0) > 1;
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_float(x.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda())
      GF_CUDA_CALL(op, cuda::prelu<T>(x.data<T>(), a.data<T>(), y.data<T>(), d, stream_of(x.device())));
    else
      cpu::prelu<T>(x.data<T>(), a.data<T>(), y.data<T>(), d);
  });
  return record_op(op, y, {x, a}, [x = SavedTensor(x), a = SavedTensor(a), d](Node& n, const Tensor& g) {
    // The slope each element saw: 1 where x > 0, else a (broadcast per channel).
    const Tensor pos = gt(x, zeros({1}, x.dtype(), x.device()));
    Shape s(static_cast<size_t>(x.dim()), 1);
    if (d.per_channel) s[1] = d.c;
    // Selected, not masked by 0/1 products: a NaN or inf from above (or an
    // infinite slope) stays on its side, as torch's prelu backward.
    GradList out(2);
    if (n.needs_input_grad(0)) out[0] = where(pos, g, g * a.get().reshape(s));
    if (n.needs_input_grad(1))
      out[1] = sum_to(where(pos, zeros({}, g.dtype(), g.device()), g * x), s).reshape(a.shape());
    return out;
  });
}

}  // namespace gf
