#include "kernels/strided_copy.h"

namespace gf::cpu {

template <class T>
void strided_copy(T* dst, const Strides& ds, const T* src, const Strides& ss, const Dims& d) {
  const int64_t n = dims_numel(d);
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[strided_offset(i, d, ds)] = src[strided_offset(i, d, ss)];
}

template <class TIn, class TOut>
void convert(TOut* dst, const TIn* src, int64_t n) {
#pragma omp parallel for if (n > 65536)
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<TOut>(src[i]);
}

template void strided_copy<float>(float*, const Strides&, const float*, const Strides&, const Dims&);
template void strided_copy<double>(double*, const Strides&, const double*, const Strides&, const Dims&);
template void convert<float, double>(double*, const float*, int64_t);
template void convert<double, float>(float*, const double*, int64_t);

}  // namespace gf::cpu
