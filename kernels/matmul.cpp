#include "kernels/matmul.h"

#include <cblas.h>
#include <algorithm>

#include "kernels/parallel.h"

namespace gf::cpu {

namespace {
CBLAS_TRANSPOSE op(bool t) { return t ? CblasTrans : CblasNoTrans; }

void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
               const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, op(ta), op(tb), (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b,
              (blasint)ldb, beta, c, (blasint)ldc);
}
void blas_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
               const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, op(ta), op(tb), (blasint)m, (blasint)n, (blasint)k, alpha, a, (blasint)lda, b,
              (blasint)ldb, beta, c, (blasint)ldc);
}

// OpenBLAS splits a product by the number of threads it runs on, and the
// kernels of the split's edge tiles sum in another order than the inner
// ones: OpenBLAS 0.3.21 on SkylakeX gives other dgemm bits at 3 threads than
// at 1 or 2 (even with k = 4), other sgemm bits at 1 thread than at 2
// (100 x 200 x 700). So the product is cut here into tiles fixed by the
// shape alone, whole rows or whole columns of C, and each tile is one
// single-threaded BLAS call (OpenBLAS runs on the calling thread inside a
// parallel region, and when omp_get_max_threads() is 1): every element of C
// sums the same way whatever the thread count.
constexpr int64_t kTileMin = 64;      // rows or columns of C in a tile, at least
constexpr int64_t kMaxTiles = 32;     // tiles along the cut dimension, at most
constexpr double kTiledWork = 1 << 18;  // m n k below which one call does it all (OpenBLAS's own serial size)

template <class T>
void tiled_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, T beta, T* c, int64_t ldc) {
  const bool by_rows = m >= n;  // cut the longer side of C
  const int64_t len = by_rows ? m : n;
  const int64_t tile = std::max(kTileMin, (len + kMaxTiles - 1) / kMaxTiles);
  const int64_t tiles = double(m) * double(n) * double(k) <= kTiledWork ? 1 : (len + tile - 1) / tile;
  if (tiles <= 1) return on_one_thread([&] { blas_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc); });
  parallel_for(tiles, true, [&](int64_t t) {
    const int64_t begin = t * tile, size = std::min(tile, len - begin);
    if (by_rows)  // rows begin.. of op(A) and C
      on_one_thread([&] {
        blas_gemm(ta, tb, size, n, k, alpha, ta ? a + begin : a + begin * lda, lda, b, ldb, beta, c + begin * ldc,
                  ldc);
      });
    else  // columns begin.. of op(B) and C
      on_one_thread([&] {
        blas_gemm(ta, tb, m, size, k, alpha, a, lda, tb ? b + begin * ldb : b + begin, ldb, beta, c + begin, ldc);
      });
  });
}

}  // namespace

template <>
void gemm<float>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  tiled_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

template <>
void gemm<double>(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, const double* b, int64_t ldb, double beta, double* c, int64_t ldc) {
  tiled_gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// gemm threads each product itself, so the batch loop stays serial.
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
