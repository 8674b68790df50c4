#include "kernels/strided_copy.h"
#include "kernels/parallel.h"
#include "kernels/strided_rows.h"

namespace gf::cpu {

template <class T>
void strided_copy(T* dst, const Strides& ds, const T* src, const Strides& ss, const Dims& d) {
  const int64_t n = dims_numel(d);
  if (n == 0) return;
  const Rows<2> r = make_rows<2>(d, {&ds, &ss});
  const int64_t w = r.width, id = r.inner[0], is = r.inner[1];
  parallel_for(n / w, n > 65536, [&](int64_t row) {
    T* pd = dst + strided_offset(row, r.outer, r.s[0]);
    const T* ps = src + strided_offset(row, r.outer, r.s[1]);
    if (id == 1 && is == 1) {
#pragma omp simd
      for (int64_t k = 0; k < w; ++k) pd[k] = ps[k];
    } else {
      for (int64_t k = 0; k < w; ++k) pd[k * id] = ps[k * is];
    }
  });
}

template <class TIn, class TOut>
void convert(TOut* dst, const TIn* src, int64_t n) {
  parallel_for(n, n > 65536, [&](int64_t i) { dst[i] = static_cast<TOut>(src[i]); });
}

template void strided_copy<float>(float*, const Strides&, const float*, const Strides&, const Dims&);
template void strided_copy<double>(double*, const Strides&, const double*, const Strides&, const Dims&);
template void convert<float, double>(double*, const float*, int64_t);
template void convert<double, float>(float*, const double*, int64_t);

}  // namespace gf::cpu
