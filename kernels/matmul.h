// Row-major GEMM: C = op(A) * op(B), op(X) = X or X^T. The batched form runs
// `batch` independent products; an operand stride of 0 shares that operand
// across the batch. Sizes and the batch count must be positive and fit in int
// (BLAS and cuBLAS take int); the engine checks both.
#pragma once
#include <cstdint>

#include "kernels/cuda_runtime.h"

namespace gf {

namespace cpu {
// One GEMM through CBLAS: C = alpha * op(A) * op(B) + beta * C, with leading
// dims lda/ldb/ldc as stored (row-major). Shared with the conv kernels.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda,
          const T* b, int64_t ldb, T beta, T* c, int64_t ldc);

template <class T>
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t stride_a, const T* b,
            int64_t stride_b, T* c, int64_t batch);
}  // namespace cpu

namespace cuda {
// Runs on `device`'s compute stream through its cuBLAS handle.
template <class T>
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t stride_a, const T* b,
            int64_t stride_b, T* c, int64_t batch, int device);
}  // namespace cuda

}  // namespace gf
