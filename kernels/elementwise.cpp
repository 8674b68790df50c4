#include <type_traits>

#include "kernels/elementwise_ops.h"
#include "kernels/parallel.h"
#include "kernels/strided_rows.h"

namespace gf::cpu {

template <class T>
void unary(UnaryOp op, const T* x, T* y, int64_t n, double a, double b, double c) {
  const T ta = static_cast<T>(a), tb = static_cast<T>(b), tc = static_cast<T>(c);
  dispatch_unary(op, [&](auto tag) {
    constexpr UnaryOp O = decltype(tag)::value;
    parallel_for_simd(n, n > kMinParallelWork, [&](int64_t i) { y[i] = unary_fn<O>(x[i], ta, tb, tc); });
  });
}

template <class T>
void binary(BinaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, T* out, const Dims& d) {
  const int64_t n = dims_numel(d);
  if (n == 0) return;
  const bool dense = is_dense(sa, d) && is_dense(sb, d);
  dispatch_binary(op, [&](auto tag) {
    constexpr BinaryOp O = decltype(tag)::value;
    if (dense) {
      parallel_for_simd(n, n > kMinParallelWork, [&](int64_t i) { out[i] = binary_fn<O>(a[i], b[i]); });
    } else {
      const Rows<2> r = make_rows<2>(d, {&sa, &sb});
      const int64_t w = r.width, ia = r.inner[0], ib = r.inner[1];
      parallel_for(n / w, n > kMinParallelWork, [&](int64_t row) {
        const T* pa = a + strided_offset(row, r.outer, r.s[0]);
        const T* pb = b + strided_offset(row, r.outer, r.s[1]);
        T* po = out + row * w;
        if (ia == 1 && ib == 0) {
          const T vb = *pb;
#pragma omp simd
          for (int64_t k = 0; k < w; ++k) po[k] = binary_fn<O>(pa[k], vb);
        } else if (ia == 0 && ib == 1) {
          const T va = *pa;
#pragma omp simd
          for (int64_t k = 0; k < w; ++k) po[k] = binary_fn<O>(va, pb[k]);
        } else {
          for (int64_t k = 0; k < w; ++k) po[k] = binary_fn<O>(pa[k * ia], pb[k * ib]);
        }
      });
    }
  });
}

// Calls f(A, B, C), each a std::bool_constant: whether operand a, b, c walks
// its row (inner stride 1) or stays on one element (0), so the row loop has
// constant strides and vectorizes.
template <class F>
void dispatch_dense3(bool a, bool b, bool c, F&& f) {
  using On = std::true_type;
  using Off = std::false_type;
  if (a) {
    if (b) return c ? f(On{}, On{}, On{}) : f(On{}, On{}, Off{});
    return c ? f(On{}, Off{}, On{}) : f(On{}, Off{}, Off{});
  }
  if (b) return c ? f(Off{}, On{}, On{}) : f(Off{}, On{}, Off{});
  return c ? f(Off{}, Off{}, On{}) : f(Off{}, Off{}, Off{});
}

template <class T>
void ternary(TernaryOp op, const T* a, const Strides& sa, const T* b, const Strides& sb, const T* c,
             const Strides& sc, T* out, const Dims& d) {
  const int64_t n = dims_numel(d);
  if (n == 0) return;
  dispatch_ternary(op, [&](auto tag) {
    constexpr TernaryOp O = decltype(tag)::value;
    const Rows<3> r = make_rows<3>(d, {&sa, &sb, &sc});
    const int64_t w = r.width, ia = r.inner[0], ib = r.inner[1], ic = r.inner[2];
    const bool unit = (ia == 0 || ia == 1) && (ib == 0 || ib == 1) && (ic == 0 || ic == 1);
    if (!unit) {
      parallel_for(n / w, n > kMinParallelWork, [&](int64_t row) {
        const T* pa = a + strided_offset(row, r.outer, r.s[0]);
        const T* pb = b + strided_offset(row, r.outer, r.s[1]);
        const T* pc = c + strided_offset(row, r.outer, r.s[2]);
        T* po = out + row * w;
        for (int64_t k = 0; k < w; ++k) po[k] = ternary_fn<O>(pa[k * ia], pb[k * ib], pc[k * ic]);
      });
      return;
    }
    dispatch_dense3(ia == 1, ib == 1, ic == 1, [&](auto A, auto B, auto C) {
      constexpr bool da = decltype(A)::value, db = decltype(B)::value, dc = decltype(C)::value;
      if (w == n) {  // one row (dense operands, scalars): split it across threads
        parallel_for_simd(n, n > kMinParallelWork, [&](int64_t k) {
          out[k] = ternary_fn<O>(a[da ? k : 0], b[db ? k : 0], c[dc ? k : 0]);
        });
        return;
      }
      parallel_for(n / w, n > kMinParallelWork, [&](int64_t row) {
        const T* pa = a + strided_offset(row, r.outer, r.s[0]);
        const T* pb = b + strided_offset(row, r.outer, r.s[1]);
        const T* pc = c + strided_offset(row, r.outer, r.s[2]);
        T* po = out + row * w;
#pragma omp simd
        for (int64_t k = 0; k < w; ++k) po[k] = ternary_fn<O>(pa[da ? k : 0], pb[db ? k : 0], pc[dc ? k : 0]);
      });
    });
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
