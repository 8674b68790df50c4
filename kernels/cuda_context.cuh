// Per-device CUDA state shared by the kernel families: the compute stream and
// the cuBLAS/cuDNN handles bound to it. For .cu files only.
#pragma once
#include "kernels/cuda_check.cuh"
#include "kernels/cuda_runtime.h"

namespace gf::cuda {

cudaStream_t cuda_stream(int device);
cublasHandle_t cublas_handle(int device);
cudnnHandle_t cudnn_handle(int device);

// Grid size for a grid-stride loop over n elements.
inline unsigned grid_for(long long n, int block, int max_blocks = 65535 * 8) {
  long long g = (n + block - 1) / block;
  if (g < 1) g = 1;
  if (g > max_blocks) g = max_blocks;
  return static_cast<unsigned>(g);
}

}  // namespace gf::cuda
