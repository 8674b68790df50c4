#include <type_traits>

#include "kernels/cuda_context.cuh"
#include "kernels/vector_access.cuh"
#include "kernels/elementwise_ops.h"

namespace gf::cuda {
namespace {

// x may be y (in place, as full() and nan_to_num_ use it), so neither is __restrict__.
template <UnaryOp op, class T>
__global__ void unary_vec_kernel(const T* x, T* y, int64_t nvec, int64_t n, T a, T b, T c) {
  using V = Vec<T>;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nvec; i += stride) {
    V in = reinterpret_cast<const V*>(x)[i], out;
#pragma unroll
    for (int k = 0; k < V::N; ++k) out.v[k] = unary_fn<op>(in.v[k], a, b, c);
    reinterpret_cast<V*>(y)[i] = out;
  }
  // Tail that does not fill a vector.
  for (int64_t i = nvec * V::N + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride)
    y[i] = unary_fn<op>(x[i], a, b, c);
}

template <BinaryOp op, class T>
__global__ void binary_dense_kernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ out,
                                    int64_t nvec, int64_t n) {
  using V = Vec<T>;
  const int64_t stride = (int64_t)gridDim.x * blockDim.x;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < nvec; i += stride) {
    V va = reinterpret_cast<const V*>(a)[i], vb = reinterpret_cast<const V*>(b)[i], vo;
#pragma unroll
    for (int k = 0; k < V::N; ++k) vo.v[k] = binary_fn<op>(va.v[k], vb.v[k]);
    reinterpret_cast<V*>(out)[i] = vo;
  }
  for (int64_t i = nvec * V::N + blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = binary_fn<op>(a[i], b[i]);
}

template <BinaryOp op, class T>
__global__ void binary_strided_kernel(const T* __restrict__ a, Strides sa, const T* __restrict__ b, Strides sb,
                                      T* __restrict__ out, Dims d, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = binary_fn<op>(a[strided_offset(i, d, sa)], b[strided_offset(i, d, sb)]);
}

template <TernaryOp op, class T>
__global__ void ternary_kernel(const T* __restrict__ a, Strides sa, const T* __restrict__ b, Strides sb,
                               const T* __restrict__ c, Strides sc, T* __restrict__ out, Dims d, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
    out[i] = ternary_fn<op>(a[strided_offset(i, d, sa)], b[strided_offset(i, d, sb)], c[strided_offset(i, d, sc)]);
}

constexpr int kBlock = 256;

}  // namespace

template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, double a, double b, double c, Stream s) {
  if (n == 0) return;
  const bool vec = aligned16(x) && aligned16(y);
  const int64_t nvec = vec ? n / Vec<T>::N : 0;
  const unsigned grid = grid_for(vec ? (nvec > 0 ? nvec : n) : n, kBlock);
  dispatch_unary(op, [&](auto tag) {
    constexpr UnaryOp O = decltype(tag)::value;
    unary_vec_kernel<O, T><<<grid, kBlock, 0, (cudaStream_t)s>>>(x, y, nvec, n, (T)a, (T)b, (T)c);
  });
  GF_CUDA_LAUNCH_CHECK("unary");
}

template <class T>
void binary(BinaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, T* out, const Dims& d,
            Stream s) {
  const int64_t n = dims_numel(d);
  if (n == 0) return;
  const bool dense = is_dense(sa, d) && is_dense(sb, d);
  dispatch_binary(op, [&](auto tag) {
    constexpr BinaryOp O = decltype(tag)::value;
    if (dense) {
      const bool vec = aligned16(a) && aligned16(b) && aligned16(out);
      const int64_t nvec = vec ? n / Vec<T>::N : 0;
      binary_dense_kernel<O, T><<<grid_for(nvec > 0 ? nvec : n, kBlock), kBlock, 0, (cudaStream_t)s>>>(a, b, out, nvec, n);
    } else {
      binary_strided_kernel<O, T><<<grid_for(n, kBlock), kBlock, 0, (cudaStream_t)s>>>(a, sa, b, sb, out, d, n);
    }
  });
  GF_CUDA_LAUNCH_CHECK("binary");
}

template <class T>
void ternary(TernaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, const T* c,
             const Strides& sc, T* out, const Dims& d, Stream s) {
  const int64_t n = dims_numel(d);
  if (n == 0) return;
  dispatch_ternary(op, [&](auto tag) {
    constexpr TernaryOp O = decltype(tag)::value;
    ternary_kernel<O, T><<<grid_for(n, kBlock), kBlock, 0, (cudaStream_t)s>>>(a, sa, b, sb, c, sc, out, d, n);
  });
  GF_CUDA_LAUNCH_CHECK("ternary");
}

#define GF_INSTANTIATE(T)                                                                                  \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, double, double, double, Stream);                          \
  template void binary<T>(BinaryOp, const T*, const Strides&, const T*, const Strides&, T*, const Dims&,   \
                          Stream);                                                                         \
  template void ternary<T>(TernaryOp, const T*, const Strides&, const T*, const Strides&, const T*,         \
                           const Strides&, T*, const Dims&, Stream);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)

}  // namespace gf::cuda
