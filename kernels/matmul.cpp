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
// (100 x 200 x 700). So C is cut here into tiles fixed by the shape alone,
// at most 4 x 4 of at least 64 x 64, and each tile is one single-threaded
// BLAS call (OpenBLAS runs on the calling thread inside a parallel region,
// and when omp_get_max_threads() is 1), the tiles spread over our threads:
// every element of C sums the same way whatever the thread count. Each
// tile packs its own rows of op(A) and columns of op(B), so larger tiles
// cost less packing; 16 tiles keep 16 cores busy (bench/RESULTS.md).
constexpr int64_t kTileMin = 64;        // rows and columns of C in a tile, at least
constexpr int64_t kTilesPerSide = 4;    // tiles along each side of C, at most
constexpr double kTiledWork = 1 << 18;  // m n k up to which one call does it all (OpenBLAS's own serial size)

template <class T>
void tiled_gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, const T* b,
                int64_t ldb, T beta, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  const bool whole = double(m) * double(n) * double(k) <= kTiledWork;
  const int64_t tm = whole ? m : std::max(kTileMin, (m + kTilesPerSide - 1) / kTilesPerSide);
  const int64_t tn = whole ? n : std::max(kTileMin, (n + kTilesPerSide - 1) / kTilesPerSide);
  const int64_t row_tiles = (m + tm - 1) / tm, col_tiles = (n + tn - 1) / tn;
  auto tile = [&](int64_t t) {  // rows i.. of op(A) and C, columns j.. of op(B) and C
    const int64_t i = t / col_tiles * tm, j = t % col_tiles * tn;
    on_one_thread([&] {
      blas_gemm(ta, tb, std::min(tm, m - i), std::min(tn, n - j), k, alpha, ta ? a + i : a + i * lda, lda,
                tb ? b + j * ldb : b + j, ldb, beta, c + i * ldc + j, ldc);
    });
  };
  if (row_tiles * col_tiles == 1) return tile(0);
  parallel_for(row_tiles * col_tiles, true, tile);
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
