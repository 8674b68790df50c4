// Status checks for CUDA, cuBLAS and cuDNN calls: a failure throws an
// exception naming the call, the file and line, and the error string.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <stdexcept>
#include <string>

namespace gf::cuda {

[[noreturn]] inline void fail(const char* what, const char* detail, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error in ") + what + " at " + file + ":" +
                           std::to_string(line) + ": " + detail);
}

inline const char* status_string(cudaError_t e) { return cudaGetErrorString(e); }
inline const char* status_string(cudnnStatus_t s) { return cudnnGetErrorString(s); }
inline const char* status_string(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
  }
}
inline bool is_ok(cudaError_t e) { return e == cudaSuccess; }
inline bool is_ok(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; }
inline bool is_ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }

}  // namespace gf::cuda

#define GF_CUDA_CHECK(call)                                                        \
  do {                                                                             \
    auto gf_status_ = (call);                                                      \
    if (!::gf::cuda::is_ok(gf_status_))                                            \
      ::gf::cuda::fail(#call, ::gf::cuda::status_string(gf_status_), __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: catches bad launch configurations at once, naming
// the kernel (faults inside it surface at the next synchronizing call).
#define GF_CUDA_LAUNCH_CHECK(name)                                                             \
  do {                                                                                         \
    const cudaError_t gf_launch_ = cudaGetLastError();                                         \
    if (gf_launch_ != cudaSuccess)                                                             \
      ::gf::cuda::fail("launch of " name, cudaGetErrorString(gf_launch_), __FILE__, __LINE__); \
  } while (0)
