// Layout ops: every one is a strided copy between two views of the same
// iteration space. Their backwards are layout ops again (permute <-> inverse
// permute, expand <-> sum_to, slice <-> slice_backward, concat -> slices,
// flip -> flip).
#include <algorithm>
#include <numeric>

#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/strided_copy.h"

namespace gf {
namespace {

using Grads = GradList;

// dst[dst_off + offset(i, ds)] = src[src_off + offset(i, ss)] for i over `iter`.
void copy_view(const Tensor& dst, int64_t dst_off, const Strides& ds, const Tensor& src, int64_t src_off,
               const Strides& ss, const Shape& iter, const char* op) {
  if (shape_numel(iter) == 0) return;
  const Dims d = to_dims(iter);
  dispatch_float(src.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    T* o = dst.data<T>() + dst_off;
    const T* i = src.data<T>() + src_off;
    if (src.device().is_cuda())
      GF_CUDA_CALL(op, cuda::strided_copy<T>(o, ds, i, ss, d, stream_of(src.device())));
    else
      cpu::strided_copy<T>(o, ds, i, ss, d);
  });
}

struct SliceSpec {
  int64_t dim, start, step, len;
};

SliceSpec resolve_slice(const Shape& s, int64_t dim, int64_t start, int64_t end, int64_t step, const char* op) {
  dim = normalize_dim(dim, static_cast<int64_t>(s.size()), op);
  GF_CHECK(step > 0, op, "step must be positive, got " << step);
  const int64_t n = s[static_cast<size_t>(dim)];
  auto clampi = [n](int64_t v) { return std::min(std::max(v < 0 ? v + n : v, int64_t(0)), n); };
  start = clampi(start);
  end = clampi(end);
  const int64_t len = end > start ? (end - start + step - 1) / step : 0;
  return {dim, start, step, len};
}

}  // namespace

Tensor permute(const Tensor& x, DimList dims) {
  const int64_t nd = x.dim();
  GF_CHECK(static_cast<int64_t>(dims.size()) == nd, "permute",
           dims.size() << " dims given for a tensor of shape " << shape_str(x.shape()));
  PoolVector<bool> seen(static_cast<size_t>(nd), false);
  for (auto& d : dims) {
    d = normalize_dim(d, nd, "permute");
    GF_CHECK(!seen[static_cast<size_t>(d)], "permute", "dim " << d << " repeated");
    seen[static_cast<size_t>(d)] = true;
  }
  Shape out_shape(static_cast<size_t>(nd));
  const Strides own = contiguous_strides(x.shape());
  Strides src;
  for (int64_t i = 0; i < nd; ++i) {
    out_shape[static_cast<size_t>(i)] = x.shape()[static_cast<size_t>(dims[i])];
    src.v[i] = own.v[dims[i]];
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  copy_view(out, 0, contiguous_strides(out_shape), x, 0, src, out_shape, "permute");
  DimList inverse(static_cast<size_t>(nd));
  for (int64_t i = 0; i < nd; ++i) inverse[static_cast<size_t>(dims[i])] = i;
  return record_op("permute", out, {x}, [inverse](Node&, const Tensor& g) { return Grads{permute(g, inverse)}; });
}

// The source view starts at the last element of each flipped dim and walks it
// with a negated stride.
Tensor flip(const Tensor& x, DimList dims) {
  PoolVector<bool> seen(static_cast<size_t>(x.dim()), false);
  Strides src = contiguous_strides(x.shape());
  int64_t off = 0;
  for (auto& d : dims) {
    d = normalize_dim(d, x.dim(), "flip");
    GF_CHECK(!seen[static_cast<size_t>(d)], "flip", "dim " << d << " repeated");
    seen[static_cast<size_t>(d)] = true;
    off += std::max<int64_t>(x.size(d) - 1, 0) * src.v[d];
    src.v[d] = -src.v[d];
  }
  if (dims.empty()) return x;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  copy_view(out, 0, contiguous_strides(x.shape()), x, off, src, x.shape(), "flip");
  return record_op("flip", out, {x}, [dims](Node&, const Tensor& g) { return Grads{flip(g, dims)}; });
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
  DimList dims(static_cast<size_t>(x.dim()));
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[static_cast<size_t>(normalize_dim(d0, x.dim(), "transpose"))],
            dims[static_cast<size_t>(normalize_dim(d1, x.dim(), "transpose"))]);
  return permute(x, dims);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  GF_CHECK(broadcasts_to(x.shape(), shape), "expand", "cannot expand " << shape_str(x.shape()) << " to " << shape_str(shape));
  if (x.shape() == shape) return x;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  copy_view(out, 0, contiguous_strides(shape), x, 0, broadcast_strides(x.shape(), shape), shape, "expand");
  const Shape src = x.shape();
  return record_op("expand", out, {x}, [src](Node&, const Tensor& g) { return Grads{sum_to(g, src)}; });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const SliceSpec sp = resolve_slice(x.shape(), dim, start, end, step, "slice");
  Shape out_shape = x.shape();
  out_shape[static_cast<size_t>(sp.dim)] = sp.len;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  Strides src = contiguous_strides(x.shape());
  const int64_t off = sp.start * src.v[sp.dim];
  src.v[sp.dim] *= sp.step;
  copy_view(out, 0, contiguous_strides(out_shape), x, off, src, out_shape, "slice");
  const Shape in_shape = x.shape();
  return record_op("slice", out, {x}, [in_shape, sp](Node&, const Tensor& g) {
    return Grads{slice_backward(g, in_shape, sp.dim, sp.start, sp.start + sp.len * sp.step, sp.step)};
  });
}

Tensor slice_backward(const Tensor& x, const Shape& shape, int64_t dim, int64_t start, int64_t end, int64_t step) {
  const SliceSpec sp = resolve_slice(shape, dim, start, end, step, "slice_backward");
  Shape expect = shape;
  expect[static_cast<size_t>(sp.dim)] = sp.len;
  GF_CHECK(x.shape() == expect, "slice_backward",
           "input " << shape_str(x.shape()) << " does not fit slice of " << shape_str(shape) << " (expected "
                    << shape_str(expect) << ")");
  Tensor out = zeros(shape, x.dtype(), x.device());
  Strides dst = contiguous_strides(shape);
  const int64_t off = sp.start * dst.v[sp.dim];
  dst.v[sp.dim] *= sp.step;
  copy_view(out, off, dst, x, 0, contiguous_strides(x.shape()), x.shape(), "slice_backward");
  return record_op("slice_backward", out, {x}, [sp](Node&, const Tensor& g) {
    return Grads{slice(g, sp.dim, sp.start, sp.start + sp.len * sp.step, sp.step)};
  });
}

Tensor concat(const std::vector<Tensor>& xs, int64_t dim) {
  GF_CHECK(!xs.empty(), "concat", "no tensors given");
  check_same("concat", xs);
  const Shape& first = xs[0].shape();
  dim = normalize_dim(dim, static_cast<int64_t>(first.size()), "concat");
  Shape out_shape = first;
  out_shape[static_cast<size_t>(dim)] = 0;
  for (const Tensor& t : xs) {
    bool ok = t.shape().size() == first.size();
    for (size_t k = 0; ok && k < first.size(); ++k) ok = static_cast<int64_t>(k) == dim || t.shape()[k] == first[k];
    GF_CHECK(ok, "concat", "shapes " << shape_str(first) << " and " << shape_str(t.shape()) << " differ outside dim "
                                     << dim);
    out_shape[static_cast<size_t>(dim)] += t.shape()[static_cast<size_t>(dim)];
  }
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  const Strides dst = contiguous_strides(out_shape);
  std::vector<int64_t> starts;
  int64_t at = 0;
  for (const Tensor& t : xs) {
    starts.push_back(at);
    copy_view(out, at * dst.v[dim], dst, t, 0, contiguous_strides(t.shape()), t.shape(), "concat");
    at += t.shape()[static_cast<size_t>(dim)];
  }
  starts.push_back(at);
  return record_op("concat", out, xs, [starts, dim](Node& n, const Tensor& g) {
    Grads gs(starts.size() - 1);
    for (size_t i = 0; i + 1 < starts.size(); ++i)
      if (n.needs_input_grad(i)) gs[i] = slice(g, dim, starts[i], starts[i + 1]);
    return gs;
  });
}

}  // namespace gf
