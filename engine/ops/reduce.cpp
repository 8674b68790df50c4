// sum / mean / max over any set of dims. The kernel reduces the middle axis of
// [outer, r, inner]; here the chosen dims are brought to that form, with a
// permuting copy only when they are not adjacent (size-1 dims don't count).
#include <algorithm>

#include "engine/allocator.h"
#include "engine/dispatch.h"
#include "engine/ops.h"
#include "kernels/reduce.h"

namespace gf {
namespace {

using Grads = GradList;

struct Reduction {
  DimList dims;  // sorted, unique, non-negative
  Shape keep_shape;           // reduced dims set to 1
  Shape out_shape;            // keep_shape or with reduced dims dropped
  int64_t count = 1;          // elements per reduction
};

Reduction plan_reduction(const Tensor& x, DimList dims, bool keepdim, const char* op) {
  Reduction r;
  const int64_t nd = x.dim();
  if (dims.empty())
    for (int64_t d = 0; d < nd; ++d) dims.push_back(d);
  for (auto& d : dims) d = normalize_dim(d, nd, op);
  std::sort(dims.begin(), dims.end());
  GF_CHECK(std::adjacent_find(dims.begin(), dims.end()) == dims.end(), op, "a dim is listed twice");
  r.dims = dims;
  r.keep_shape = x.shape();
  for (int64_t d : dims) {
    r.count *= x.shape()[static_cast<size_t>(d)];
    r.keep_shape[static_cast<size_t>(d)] = 1;
  }
  for (int64_t d = 0; d < nd; ++d)
    if (keepdim || !std::binary_search(dims.begin(), dims.end(), d)) r.out_shape.push_back(r.keep_shape[static_cast<size_t>(d)]);
  return r;
}

// The raw reduction, no graph; result has r.keep_shape.
Tensor run_reduce(const Tensor& x0, const Reduction& r, ReduceOp op, double scale, const char* name) {
  Tensor x = x0.detach();
  const Shape& s = x.shape();
  const auto reduced = [&](size_t d) { return std::binary_search(r.dims.begin(), r.dims.end(), int64_t(d)); };
  // Find the span of reduced dims among those of size > 1.
  int64_t first = -1, last = -1;
  for (size_t d = 0; d < s.size(); ++d)
    if (s[d] != 1 && reduced(d)) {
      if (first < 0) first = static_cast<int64_t>(d);
      last = static_cast<int64_t>(d);
    }
  // Adjacent unless a kept dim of size > 1 lies between first and last.
  bool adjacent = true;
  for (int64_t d = first; first >= 0 && d <= last; ++d)
    if (s[static_cast<size_t>(d)] != 1 && !reduced(static_cast<size_t>(d))) adjacent = false;
  int64_t outer = 1, rr = 1, inner = 1;
  if (adjacent) {
    for (size_t d = 0; d < s.size(); ++d) {
      if (reduced(d)) rr *= s[d];
      else if (first >= 0 && static_cast<int64_t>(d) > last) inner *= s[d];
      else outer *= s[d];
    }
  } else {
    DimList perm;
    for (size_t d = 0; d < s.size(); ++d)
      if (!reduced(d)) perm.push_back(static_cast<int64_t>(d));
    for (int64_t d : r.dims) perm.push_back(d);
    NoGradGuard ng;
    x = permute(x, perm);
    rr = r.count;
    outer = x.numel() / std::max<int64_t>(rr, 1);
  }
  Tensor y = Tensor::empty(r.keep_shape, x.dtype(), x.device());
  dispatch_float(x.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    if (x.device().is_cuda()) {
      GF_CUDA_CALL(name, {
        const size_t ws = cuda::reduce_workspace_bytes(outer, rr, inner, sizeof(T));
        Tensor scratch = ws ? Tensor::empty({static_cast<int64_t>((ws + sizeof(T) - 1) / sizeof(T))}, x.dtype(), x.device())
                            : Tensor();
        cuda::reduce<T>(op, x.data<T>(), y.data<T>(), outer, rr, inner, scale, ws ? scratch.raw() : nullptr,
                        stream_of(x.device()));
      });
    } else {
      cpu::reduce<T>(op, x.data<T>(), y.data<T>(), outer, rr, inner, scale);
    }
  });
  return y;
}

}  // namespace

Tensor sum(const Tensor& x, DimList dims, bool keepdim) {
  const Reduction r = plan_reduction(x, std::move(dims), keepdim, "sum");
  Tensor y = run_reduce(x, r, ReduceOp::sum, 1.0, "sum").reshape(r.out_shape);
  const Shape in = x.shape(), keep = r.keep_shape;
  return record_op("sum", y, {x}, [in, keep](Node&, const Tensor& g) { return Grads{expand(g.reshape(keep), in)}; });
}

Tensor mean(const Tensor& x, DimList dims, bool keepdim) {
  const Reduction r = plan_reduction(x, std::move(dims), keepdim, "mean");
  GF_CHECK(r.count > 0, "mean", "mean over an empty set of elements of " << shape_str(x.shape()));
  const double scale = 1.0 / static_cast<double>(r.count);
  Tensor y = run_reduce(x, r, ReduceOp::sum, scale, "mean").reshape(r.out_shape);
  const Shape in = x.shape(), keep = r.keep_shape;
  return record_op("mean", y, {x}, [in, keep, scale](Node&, const Tensor& g) {
    return Grads{expand(affine(g.reshape(keep), scale, 0.0), in)};
  });
}

Tensor max(const Tensor& x, DimList dims, bool keepdim) {
  const Reduction r = plan_reduction(x, std::move(dims), keepdim, "max");
  GF_CHECK(r.count > 0, "max", "max over an empty set of elements of " << shape_str(x.shape()));
  Tensor y_keep = run_reduce(x, r, ReduceOp::max, 1.0, "max");
  Tensor y = y_keep.reshape(r.out_shape);
  const Shape keep = r.keep_shape;
  const DimList rdims = r.dims;
  return record_op("max", y, {x},
                   [x = SavedTensor(x), y_keep = SavedTensor(y_keep), keep, rdims](Node&, const Tensor& g) {
    // Ties share the gradient equally, as torch.amax does.
    Tensor mask = eq(x.get().detach(), y_keep);
    Tensor count = sum(mask, rdims, true);
    return Grads{mul(expand(g.reshape(keep), x.shape()), div(mask, count))};
  });
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  GF_CHECK(shape.size() <= x.shape().size() && broadcast_shape(shape, x.shape(), "sum_to") == x.shape(), "sum_to",
           "cannot sum " << shape_str(x.shape()) << " to " << shape_str(shape));
  const size_t lead = x.shape().size() - shape.size();
  DimList dims;
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(static_cast<int64_t>(d));
  if (dims.empty()) return x.reshape(shape);
  return sum(x, dims, true).reshape(shape);
}

}  // namespace gf
