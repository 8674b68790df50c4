#include <type_traits>

#include "kernels/elementwise_ops.h"

namespace gf::cpu {

template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, double a, double b, double c) {
  const T ta = static_cast<T>(a), tb = static_cast<T>(b), tc = static_cast<T>(c);
  dispatch_unary(op, [&](auto tag) {
    constexpr UnaryOp O = decltype(tag)::value;
#pragma omp parallel for simd if (n > 32768)
    for (int64_t i = 0; i < n; ++i) y[i] = unary_fn<O>(x[i], ta, tb, tc);
  });
}

template <class T>
void binary(BinaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, T* out, const Dims& d) {
  const int64_t n = dims_numel(d);
  const bool dense = is_dense(sa, d) && is_dense(sb, d);
  dispatch_binary(op, [&](auto tag) {
    constexpr BinaryOp O = decltype(tag)::value;
    if (dense) {
#pragma omp parallel for simd if (n > 32768)
      for (int64_t i = 0; i < n; ++i) out[i] = binary_fn<O>(a[i], b[i]);
    } else {
#pragma omp parallel for if (n > 32768)
      for (int64_t i = 0; i < n; ++i)
        out[i] = binary_fn<O>(a[strided_offset(i, d, sa)], b[strided_offset(i, d, sb)]);
    }
  });
}

template <class T>
void ternary(TernaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, const T* c,
             const Strides& sc, T* out, const Dims& d) {
  const int64_t n = dims_numel(d);
  dispatch_ternary(op, [&](auto tag) {
    constexpr TernaryOp O = decltype(tag)::value;
#pragma omp parallel for if (n > 32768)
    for (int64_t i = 0; i < n; ++i)
      out[i] = ternary_fn<O>(a[strided_offset(i, d, sa)], b[strided_offset(i, d, sb)], c[strided_offset(i, d, sc)]);
  });
}

#define GF_INSTANTIATE(T)                                                                              \
  template void unary<T>(UnaryOp, const T*, T*, int64_t, double, double, double);                              \
  template void binary<T>(BinaryOp, const T*, const Strides&, const T*, const Strides&, T*, const Dims&); \
  template void ternary<T>(TernaryOp, const T*, const Strides&, const T*, const Strides&, const T*,     \
                           const Strides&, T*, const Dims&);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)

}  // namespace gf::cpu
