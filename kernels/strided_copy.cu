#include "kernels/cuda_context.cuh"
#include "kernels/strided_copy.h"

namespace gf::cuda {
namespace {

template <class T>
__global__ void strided_copy_kernel(T* dst, Strides ds, const T* src, Strides ss, Dims d, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[strided_offset(i, d, ds)] = src[strided_offset(i, d, ss)];
}

template <class TIn, class TOut>
__global__ void convert_kernel(TOut* dst, const TIn* src, int64_t n) {
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x)
    dst[i] = static_cast<TOut>(src[i]);
}

}  // namespace

template <class T>
void strided_copy(T* dst, const Strides& ds, const T* src, const Strides& ss, const Dims& d,
                  Stream stream) {
  const int64_t n = dims_numel(d);
  if (n == 0) return;
  strided_copy_kernel<<<grid_for(n, 256), 256, 0, (cudaStream_t)stream>>>(dst, ds, src, ss, d, n);
  GF_CUDA_LAUNCH_CHECK("strided_copy");
}

template <class TIn, class TOut>
void convert(TOut* dst, const TIn* src, int64_t n, Stream stream) {
  if (n == 0) return;
  convert_kernel<<<grid_for(n, 256), 256, 0, (cudaStream_t)stream>>>(dst, src, n);
  GF_CUDA_LAUNCH_CHECK("convert");
}

template void strided_copy<float>(float*, const Strides&, const float*, const Strides&, const Dims&, Stream);
template void strided_copy<double>(double*, const Strides&, const double*, const Strides&, const Dims&, Stream);
template void convert<float, double>(double*, const float*, int64_t, Stream);
template void convert<double, float>(float*, const double*, int64_t, Stream);

}  // namespace gf::cuda
