// cuBLAS is column-major. A row-major C [m, n] is the column-major C^T [n, m],
// and C^T = op(B)^T op(A)^T, so the product runs with the operands swapped and
// the same transpose flags; no data moves.
#include "kernels/cublas_loader.h"
#include "kernels/cuda_context.cuh"
#include "kernels/matmul.h"

namespace gf::cuda {
namespace {

cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                    const float* alpha, const float* a, int lda, long long sa, const float* b, int ldb,
                                    long long sb, const float* beta, float* c, int ldc, long long sc, int batch) {
  return cublas_api().sgemm_strided_batched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
cublasStatus_t gemm_strided_batched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                    const double* alpha, const double* a, int lda, long long sa, const double* b,
                                    int ldb, long long sb, const double* beta, double* c, int ldc, long long sc,
                                    int batch) {
  return cublas_api().dgemm_strided_batched(h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}

}  // namespace

template <class T>
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t stride_a, const T* b,
            int64_t stride_b, T* c, int64_t batch, int device) {
  const T one = 1, zero = 0;
  const int lda = static_cast<int>(trans_a ? m : k), ldb = static_cast<int>(trans_b ? k : n);
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  GF_CUDA_CHECK(gemm_strided_batched(cublas_handle(device), op_b, op_a, static_cast<int>(n), static_cast<int>(m),
                                     static_cast<int>(k), &one, b, ldb, stride_b, a, lda, stride_a, &zero, c,
                                     static_cast<int>(n), m * n, static_cast<int>(batch)));
}

template void matmul<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                            float*, int64_t, int);
template void matmul<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                             double*, int64_t, int);

}  // namespace gf::cuda
