// Batched matmul. C = op(A) op(B) is bilinear, so both gradients are matmuls
// of the upstream gradient with the other operand, picked by the transpose
// flags so that no transpose is ever materialized:
//   dA = G op(B)^T         (A stored as is)    dA = op(B) G^T   (A stored transposed)
//   dB = op(A)^T G         (B stored as is)    dB = G^T op(A)   (B stored transposed)
// A 2-D operand shared across a batch gets the batch-summed gradient; when A
// is stored as is and B is shared, the batch folds into M, so the forward is
// one GEMM and B's gradient sums over the batch inside its contraction.
#include <climits>

#include "engine/dispatch.h"
#include "engine/flop_count.h"
#include "engine/ops.h"
#include "kernels/matmul.h"

namespace gf {
namespace {

// [..., R, C] as [prod(...) * R, C]: a view.
Tensor flatten_rows(const Tensor& t) {
  const Shape& s = t.shape();
  return t.reshape({shape_numel(Shape(s.begin(), s.end() - 1)), s.back()});
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  check_same("matmul", {a, b});
  GF_CHECK(a.dim() >= 2 && b.dim() >= 2, "matmul",
           "operands must have at least 2 dims, got " << shape_str(a.shape()) << " and " << shape_str(b.shape()));
  const Shape &sa = a.shape(), &sb = b.shape();
  const int64_t m = trans_a ? a.size(-1) : a.size(-2), ka = trans_a ? a.size(-2) : a.size(-1);
  const int64_t kb = trans_b ? b.size(-1) : b.size(-2), n = trans_b ? b.size(-2) : b.size(-1);
  const Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
  GF_CHECK(ka == kb, "matmul",
           "inner dims differ: " << shape_str(sa) << (trans_a ? "^T" : "") << " x " << shape_str(sb)
                                 << (trans_b ? "^T" : ""));
  GF_CHECK(batch_a == batch_b || batch_a.empty() || batch_b.empty(), "matmul",
           "batch dims of " << shape_str(sa) << " and " << shape_str(sb) << " differ (and neither side is 2-D)");
  Shape out_shape = batch_a.empty() ? batch_b : batch_a;
  const int64_t batch = shape_numel(out_shape);
  out_shape.push_back(m);
  out_shape.push_back(n);
  const int64_t k = ka;
  GF_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && batch <= INT_MAX, "matmul",
           "sizes of " << shape_str(sa) << " x " << shape_str(sb) << " exceed the int range of BLAS");

  Tensor out;
  if (shape_numel(out_shape) == 0 || k == 0) {
    out = zeros(out_shape, a.dtype(), a.device());
  } else {
    out = Tensor::empty(out_shape, a.dtype(), a.device());
    const bool fold = batch_b.empty() && !trans_a && batch * m <= INT_MAX;
    const int64_t bm = fold ? batch * m : m, nb = fold ? 1 : batch;
    const int64_t stride_a = batch_a.empty() ? 0 : m * k, stride_b = batch_b.empty() ? 0 : k * n;
    dispatch_float(a.dtype(), "matmul", [&](auto tag) {
      using T = decltype(tag);
      flop_count::add(2 * uint64_t(bm) * uint64_t(n) * uint64_t(k) * uint64_t(nb));
      if (a.device().is_cuda())
        GF_CUDA_CALL("matmul", cuda::matmul<T>(trans_a, trans_b, bm, n, k, a.data<T>(), stride_a, b.data<T>(),
                                               stride_b, out.data<T>(), nb, a.device().index));
      else
        cpu::matmul<T>(trans_a, trans_b, bm, n, k, a.data<T>(), stride_a, b.data<T>(), stride_b, out.data<T>(), nb);
    });
  }

  return record_op("matmul", out, {a, b},
                   [a = SavedTensor(a), b = SavedTensor(b), trans_a, trans_b](Node& self, const Tensor& g) {
    Tensor ga, gb;
    if (self.needs_input_grad(0))
      ga = sum_to(trans_a ? matmul(b, g, trans_b, true) : matmul(g, b, false, !trans_b), a.shape());
    if (self.needs_input_grad(1)) {
      if (b.dim() == 2 && !trans_a) {
        const Tensor a2 = flatten_rows(a), g2 = flatten_rows(g);
        gb = trans_b ? matmul(g2, a2, true, false) : matmul(a2, g2, true, false);
      } else {
        gb = sum_to(trans_b ? matmul(g, a, true, trans_a) : matmul(a, g, !trans_a, false), b.shape());
      }
    }
    return GradList{ga, gb};
  });
}

}  // namespace gf
