// cuBLAS GEMMs on OpenBLAS. The checks are cuBLAS's documented ones (status
// CUBLAS_STATUS_INVALID_VALUE / NOT_INITIALIZED), plus what the emulator adds:
// the handle is used on its own device, and every operand lies in that
// device's memory. The products are OpenBLAS's, so they round like the CPU
// path, not like cuBLAS's kernels.
#include <cublas_v2.h>
#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "internal.h"

struct cublasContext {
  int device;
  cudaStream_t stream = nullptr;
  cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace gfemu {
namespace {

cublasStatus_t invalid(const std::string& why) {
  std::fprintf(stderr, "gfemu: %s (CUBLAS_STATUS_INVALID_VALUE)\n", why.c_str());
  return CUBLAS_STATUS_INVALID_VALUE;
}

CBLAS_TRANSPOSE cblas_op(cublasOperation_t op) { return op == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }

void gemm_cblas(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc) {
  cblas_sgemm(CblasColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void gemm_cblas(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k, double alpha, const double* a, int lda,
                const double* b, int ldb, double beta, double* c, int ldc) {
  cblas_dgemm(CblasColMajor, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld.
size_t span_bytes(long long rows, long long cols, long long ld, size_t elem) {
  return rows <= 0 || cols <= 0 ? 0 : static_cast<size_t>((cols - 1) * ld + rows) * elem;
}

template <class T>
void check_operand(const cublasContext& h, const char* call, const char* name, const T* p, long long rows,
                   long long cols, long long ld, long long stride, int batch) {
  const size_t bytes = span_bytes(rows, cols, ld, sizeof(T));
  if (!bytes) return;
  for (long long q : {0LL, static_cast<long long>(batch) - 1}) {
    const std::string why = check_device_range(p + q * stride, bytes, h.device);
    if (!why.empty())
      die(std::string(call) + ": operand " + name + " of batch " + std::to_string(q) + " (" + std::to_string(rows) +
          " x " + std::to_string(cols) + ", leading dimension " + std::to_string(ld) + "): " + why);
  }
}

template <class T>
cublasStatus_t gemm(const char* call, cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                    const T* alpha, const T* a, int lda, long long sa, const T* b, int ldb, long long sb,
                    const T* beta, T* c, int ldc, long long sc, int batch) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  const std::string where = std::string(call) + "(m " + std::to_string(m) + ", n " + std::to_string(n) + ", k " +
                            std::to_string(k) + ", lda " + std::to_string(lda) + ", ldb " + std::to_string(ldb) +
                            ", ldc " + std::to_string(ldc) + ", batch " + std::to_string(batch) + ")";
  auto valid_op = [](cublasOperation_t op) { return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C; };
  if (m < 0 || n < 0 || k < 0 || batch < 0) return invalid(where + ": a negative size");
  if (!valid_op(ta) || !valid_op(tb)) return invalid(where + ": a transpose flag that is not N, T or C");
  if (lda < std::max(1, ta == CUBLAS_OP_N ? m : k)) return invalid(where + ": lda below the rows of A");
  if (ldb < std::max(1, tb == CUBLAS_OP_N ? k : n)) return invalid(where + ": ldb below the rows of B");
  if (ldc < std::max(1, m)) return invalid(where + ": ldc below m");
  if (!alpha || !beta) return invalid(where + ": alpha or beta is null");
  if (current_device() != h->device)
    die(where + ": the handle was created on device " + std::to_string(h->device) + " but device " +
        std::to_string(current_device()) + " is current");
  if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
  stream_begin(h->stream);
  check_operand(*h, call, "A", a, ta == CUBLAS_OP_N ? m : k, ta == CUBLAS_OP_N ? k : m, lda, sa, batch);
  check_operand(*h, call, "B", b, tb == CUBLAS_OP_N ? k : n, tb == CUBLAS_OP_N ? n : k, ldb, sb, batch);
  check_operand(*h, call, "C", c, m, n, ldc, sc, batch);
  // OpenBLAS's threads read and write the operands, outside this thread's
  // DeviceAccess: opened here for them.
  DeviceAccess access;
  for (const void* p : {static_cast<const void*>(a), static_cast<const void*>(b), static_cast<const void*>(c),
                        static_cast<const void*>(alpha), static_cast<const void*>(beta)})
    access.open(p);
  const T al = *alpha, be = *beta;  // host or device pointer mode: both are readable here
  for (int q = 0; q < batch; ++q) {
    T* cq = c + q * sc;
    // beta == 0 means C is not read (it may hold NaN); k == 0 or alpha == 0
    // leaves beta * C, as cuBLAS defines it.
    if (be == T(0))
      for (int j = 0; j < n; ++j) std::fill(cq + static_cast<long long>(j) * ldc, cq + static_cast<long long>(j) * ldc + m, T(0));
    if (k == 0 || al == T(0)) {
      if (be != T(0) && be != T(1))
        for (int j = 0; j < n; ++j)
          for (int i = 0; i < m; ++i) cq[static_cast<long long>(j) * ldc + i] *= be;
      continue;
    }
    gemm_cblas(cblas_op(ta), cblas_op(tb), m, n, k, al, a + q * sa, lda, b + q * sb, ldb, be, cq, ldc);
  }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace
}  // namespace gfemu

using namespace gfemu;

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  *handle = new cublasContext{current_device()};
  keep_handle(*handle);
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  drop_handle(handle);
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  const int d = stream_device(stream);
  if (d < 0) return invalid("cublasSetStream: not a live stream");
  if (stream && d != handle->device)
    die("cublasSetStream: a stream of device " + std::to_string(d) + " given to a handle of device " +
        std::to_string(handle->device));
  handle->stream = stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  *stream = handle->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode(cublasHandle_t handle, cublasPointerMode_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->pointer_mode = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
  handle->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasGetStatusString(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    default: return "CUBLAS_STATUS_INTERNAL_ERROR";
  }
}

cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                           float* c, int ldc) {
  return gemm("cublasSgemm", h, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const double* alpha, const double* a, int lda, const double* b, int ldb,
                           const double* beta, double* c, int ldc) {
  return gemm("cublasDgemm", h, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const float* alpha, const float* a, int lda, long long sa,
                                         const float* b, int ldb, long long sb, const float* beta, float* c, int ldc,
                                         long long sc, int batch) {
  return gemm("cublasSgemmStridedBatched", h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc,
              batch);
}

cublasStatus_t cublasDgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                                         int k, const double* alpha, const double* a, int lda, long long sa,
                                         const double* b, int ldb, long long sb, const double* beta, double* c,
                                         int ldc, long long sc, int batch) {
  return gemm("cublasDgemmStridedBatched", h, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc,
              batch);
}
