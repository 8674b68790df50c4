#include "kernels/matmul.h"

#include <cblas.h>

namespace gf::cpu {

namespace {
CBLAS_TRANSPOSE op(bool t) { return t ? CblasTrans : CblasNoTrans; }
}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda,
              b, (blasint)ldb, beta, c, (blasint)ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, op(trans_a), op(trans_b), (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda,
              b, (blasint)ldb, beta, c, (blasint)ldc);
}

// OpenBLAS threads each product itself, so the batch loop stays serial.
template <class T>
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const T* a, int64_t stride_a, const T* b,
            int64_t stride_b, T* c, int64_t batch) {
  const int64_t lda = trans_a ? m : k, ldb = trans_b ? k : n;
  for (int64_t i = 0; i < batch; ++i)
    gemm<T>(trans_a, trans_b, m, n, k, T(1), a + i * stride_a, lda, b + i * stride_b, ldb, T(0), c + i * m * n, n);
}

template void matmul<float>(bool, bool, int64_t, int64_t, int64_t, const float*, int64_t, const float*, int64_t,
                            float*, int64_t);
template void matmul<double>(bool, bool, int64_t, int64_t, int64_t, const double*, int64_t, const double*, int64_t,
                             double*, int64_t);

}  // namespace gf::cpu
