// Layout kernels: copy between two strided views of the same iteration space
// (permute, expand, slice, concat are all this; so is flip, whose source view
// has negative strides), and dtype conversion.
#pragma once
#include "kernels/common.h"
#include "kernels/cuda_runtime.h"

namespace gf {
namespace cpu {
// dst[offset(i, dst_strides)] = src[offset(i, src_strides)] for i over `dims`.
template <class T>
void strided_copy(T* dst, const Strides& dst_strides, const T* src, const Strides& src_strides,
                  const Dims& dims);
template <class TIn, class TOut>
void convert(TOut* dst, const TIn* src, int64_t n);
}  // namespace cpu
namespace cuda {
template <class T>
void strided_copy(T* dst, const Strides& dst_strides, const T* src, const Strides& src_strides,
                  const Dims& dims, Stream stream);
template <class TIn, class TOut>
void convert(TOut* dst, const TIn* src, int64_t n, Stream stream);
}  // namespace cuda
}  // namespace gf
