// The emulator's cuBLAS and cuDNN stand-ins against plain loops: the GEMM
// semantics (column-major, transposes, strides, alpha/beta, beta = 0 not
// reading C) and cuBLAS's argument checks; the convolutions with groups,
// stride, padding, dilation, both modes, alpha/beta, both algorithms, the
// _v7 queries and the workspace rules.
#include <cublas_v2.h>
#include <cudnn.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace {

template <class T>
struct Dev {
  T* p = nullptr;
  size_t n;
  explicit Dev(const std::vector<T>& v) : n(v.size()) {
    REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)) == cudaSuccess);
    REQUIRE(cudaMemcpy(p, v.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  explicit Dev(size_t count) : Dev(std::vector<T>(count, T(NAN))) {}
  ~Dev() { cudaFree(p); }
  std::vector<T> get() const {
    std::vector<T> v(n);
    REQUIRE(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return v;
  }
};

template <class T>
std::vector<T> random_values(size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<double> d(-1, 1);
  std::vector<T> v(n);
  for (auto& x : v) x = T(d(g));
  return v;
}

template <class T>
void check_close(const std::vector<T>& got, const std::vector<double>& want, double tol) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i << ": " << got[i] << " vs " << want[i]);
    REQUIRE(std::fabs(double(got[i]) - want[i]) <= tol * (1 + std::fabs(want[i])));
  }
}

}  // namespace

TEST_CASE("cuBLAS strided-batched GEMM: column-major, transposes, alpha, beta, stride 0", "[library]") {
  cublasHandle_t h;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  const int m = 5, n = 3, k = 4, batch = 2;
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (float beta : {0.0f, 0.5f}) {
        const int lda = (ta ? k : m) + 1, ldb = (tb ? n : k) + 2, ldc = m + 1;
        const long long sa = 1LL * lda * (ta ? m : k), sb = 0, sc = 1LL * ldc * n;  // B shared by the batch
        auto a = random_values<float>(static_cast<size_t>(sa * batch), 1);
        auto b = random_values<float>(static_cast<size_t>(ldb * (tb ? k : n)), 2);
        auto c0 = random_values<float>(static_cast<size_t>(sc * batch), 3);
        if (beta == 0)
          for (auto& v : c0) v = NAN;  // not read when beta is 0
        Dev<float> da(a), db(b), dc(c0);
        const float alpha = 1.5f;
        REQUIRE(cublasSgemmStridedBatched(h, ta ? CUBLAS_OP_T : CUBLAS_OP_N, tb ? CUBLAS_OP_T : CUBLAS_OP_N, m, n, k,
                                          &alpha, da.p, lda, sa, db.p, ldb, sb, &beta, dc.p, ldc, sc,
                                          batch) == CUBLAS_STATUS_SUCCESS);
        std::vector<double> want(c0.begin(), c0.end());
        for (int q = 0; q < batch; ++q)
          for (int j = 0; j < n; ++j)
            for (int i = 0; i < m; ++i) {
              double s = 0;
              for (int l = 0; l < k; ++l) {
                const double av = ta ? a[q * sa + l + i * lda] : a[q * sa + i + l * lda];
                const double bv = tb ? b[j + l * ldb] : b[l + j * ldb];
                s += av * bv;
              }
              double& cv = want[static_cast<size_t>(q * sc + i + j * ldc)];
              cv = alpha * s + (beta == 0 ? 0.0 : beta * cv);
            }
        // Only the m x n part of each C is written; padding rows keep their value.
        std::vector<float> got = dc.get();
        for (int q = 0; q < batch; ++q)
          for (int j = 0; j < n; ++j)
            for (int i = m; i < ldc; ++i) {
              const size_t idx = static_cast<size_t>(q * sc + i + j * ldc);
              got[idx] = 0;
              want[idx] = 0;
            }
        INFO("ta " << ta << " tb " << tb << " beta " << beta);
        check_close(got, want, 1e-5);
      }
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("cuBLAS's argument checks", "[library]") {
  cublasHandle_t h;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
  Dev<double> a(std::vector<double>(64, 1.0)), b(std::vector<double>(64, 1.0)), c(std::vector<double>(64, 1.0));
  const double one = 1, zero = 0;
  CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a.p, 3, b.p, 4, &zero, c.p, 4) ==
        CUBLAS_STATUS_INVALID_VALUE);  // lda < m
  CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 4, 4, 5, &one, a.p, 4, b.p, 5, &zero, c.p, 4) ==
        CUBLAS_STATUS_INVALID_VALUE);  // lda < k for op(A) = A^T
  CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, -1, 4, &one, a.p, 4, b.p, 4, &zero, c.p, 4) ==
        CUBLAS_STATUS_INVALID_VALUE);
  CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a.p, 4, b.p, 4, &zero, c.p, 3) ==
        CUBLAS_STATUS_INVALID_VALUE);  // ldc < m
  CHECK(cublasDgemm(nullptr, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &one, a.p, 4, b.p, 4, &zero, c.p, 4) ==
        CUBLAS_STATUS_NOT_INITIALIZED);
  CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 0, &one, a.p, 4, b.p, 4, &zero, c.p, 4) ==
        CUBLAS_STATUS_SUCCESS);  // k = 0: C = beta * C = 0
  CHECK(c.get()[0] == 0.0);
  cublasDestroy(h);
}

namespace {

struct Conv {
  int n, c, h, w, k, kh, kw, groups, pad, stride, dil;
  bool flip;
  int oh() const { return (h + 2 * pad - dil * (kh - 1) - 1) / stride + 1; }
  int ow() const { return (w + 2 * pad - dil * (kw - 1) - 1) / stride + 1; }
  int cg() const { return c / groups; }
  int kg() const { return k / groups; }
};

// The sum behind every output of the convolution, as plain loops: calls
// f(x index, w index, y index) for each term.
template <class F>
void for_each_term(const Conv& p, F f) {
  for (int n = 0; n < p.n; ++n)
    for (int o = 0; o < p.k; ++o)
      for (int oy = 0; oy < p.oh(); ++oy)
        for (int ox = 0; ox < p.ow(); ++ox)
          for (int ci = 0; ci < p.cg(); ++ci)
            for (int r = 0; r < p.kh; ++r)
              for (int s = 0; s < p.kw; ++s) {
                const int iy = oy * p.stride - p.pad + r * p.dil, ix = ox * p.stride - p.pad + s * p.dil;
                if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
                const int c = (o / p.kg()) * p.cg() + ci;
                const int fr = p.flip ? p.kh - 1 - r : r, fs = p.flip ? p.kw - 1 - s : s;
                f(((size_t(n) * p.c + c) * p.h + iy) * p.w + ix, ((size_t(o) * p.cg() + ci) * p.kh + fr) * p.kw + fs,
                  ((size_t(n) * p.k + o) * p.oh() + oy) * p.ow() + ox);
              }
}

struct Descs {
  cudnnTensorDescriptor_t x, y;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  Descs(const Conv& p, cudnnDataType_t t) {
    REQUIRE(cudnnCreateTensorDescriptor(&x) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnCreateTensorDescriptor(&y) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnCreateFilterDescriptor(&w) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnCreateConvolutionDescriptor(&conv) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, t, p.n, p.c, p.h, p.w) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, t, p.n, p.k, p.oh(), p.ow()) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetFilter4dDescriptor(w, t, CUDNN_TENSOR_NCHW, p.k, p.cg(), p.kh, p.kw) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetConvolution2dDescriptor(conv, p.pad, p.pad, p.stride, p.stride, p.dil, p.dil,
                                            p.flip ? CUDNN_CONVOLUTION : CUDNN_CROSS_CORRELATION,
                                            t) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetConvolutionGroupCount(conv, p.groups) == CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnSetConvolutionMathType(conv, CUDNN_FMA_MATH) == CUDNN_STATUS_SUCCESS);
  }
  ~Descs() {
    cudnnDestroyConvolutionDescriptor(conv);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(x);
  }
};

template <class T>
void check_conv(cudnnHandle_t h, const Conv& p, cudnnDataType_t t, double tol) {
  const size_t nx = size_t(p.n) * p.c * p.h * p.w, nw = size_t(p.k) * p.cg() * p.kh * p.kw,
               ny = size_t(p.n) * p.k * p.oh() * p.ow();
  const auto x = random_values<T>(nx, 1), w = random_values<T>(nw, 2), gy = random_values<T>(ny, 3);
  const auto prior_x = random_values<T>(nx, 4), prior_w = random_values<T>(nw, 5), prior_y = random_values<T>(ny, 6);
  std::vector<double> y(ny, 0), gx(nx, 0), gw(nw, 0);
  for_each_term(p, [&](size_t xi, size_t wi, size_t yi) {
    y[yi] += double(x[xi]) * w[wi];
    gx[xi] += double(gy[yi]) * w[wi];
    gw[wi] += double(gy[yi]) * x[xi];
  });
  Descs d(p, t);
  int n_out, c_out, h_out, w_out;
  REQUIRE(cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &n_out, &c_out, &h_out, &w_out) ==
          CUDNN_STATUS_SUCCESS);
  CHECK((n_out == p.n && c_out == p.k && h_out == p.oh() && w_out == p.ow()));

  cudnnConvolutionFwdAlgoPerf_t fwd[4];
  cudnnConvolutionBwdDataAlgoPerf_t bwd_data[4];
  cudnnConvolutionBwdFilterAlgoPerf_t bwd_filter[4];
  int found[3] = {};
  REQUIRE(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y, 4, &found[0], fwd) == CUDNN_STATUS_SUCCESS);
  REQUIRE(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x, 4, &found[1], bwd_data) ==
          CUDNN_STATUS_SUCCESS);
  REQUIRE(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x, d.y, d.conv, d.w, 4, &found[2], bwd_filter) ==
          CUDNN_STATUS_SUCCESS);
  for (int f : found) REQUIRE(f == 2);
  // Fastest first: the non-deterministic candidate, then the deterministic one with a workspace.
  CHECK((fwd[0].determinism == CUDNN_NON_DETERMINISTIC && fwd[1].determinism == CUDNN_DETERMINISTIC));
  CHECK((bwd_data[0].determinism == CUDNN_NON_DETERMINISTIC && bwd_data[1].determinism == CUDNN_DETERMINISTIC));
  CHECK((bwd_filter[0].determinism == CUDNN_NON_DETERMINISTIC && bwd_filter[1].determinism == CUDNN_DETERMINISTIC));
  CHECK(fwd[1].memory > 0);
  CHECK(fwd[1].mathType == CUDNN_FMA_MATH);

  const T alpha = T(1.5), beta = T(0.5), zero = 0;
  for (int a = 0; a < 2; ++a) {
    INFO("algorithm candidate " << a);
    size_t ws_bytes[3];
    REQUIRE(cudnnGetConvolutionForwardWorkspaceSize(h, d.x, d.w, d.conv, d.y, fwd[a].algo, &ws_bytes[0]) ==
            CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w, d.y, d.conv, d.x, bwd_data[a].algo, &ws_bytes[1]) ==
            CUDNN_STATUS_SUCCESS);
    REQUIRE(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, bwd_filter[a].algo,
                                                           &ws_bytes[2]) == CUDNN_STATUS_SUCCESS);
    CHECK(ws_bytes[0] == fwd[a].memory);
    const size_t ws_max = std::max({ws_bytes[0], ws_bytes[1], ws_bytes[2], size_t(1)});
    Dev<unsigned char> ws(ws_max);
    Dev<T> dx(x), dw(w), dgy(gy);
    for (T b : {zero, beta}) {
      INFO("beta " << b);
      // beta == 0: the output's old value (NaN here) must not be read.
      Dev<T> out_y(b == 0 ? std::vector<T>(ny, T(NAN)) : prior_y), out_gx(b == 0 ? std::vector<T>(nx, T(NAN)) : prior_x),
          out_gw(b == 0 ? std::vector<T>(nw, T(NAN)) : prior_w);
      REQUIRE(cudnnConvolutionForward(h, &alpha, d.x, dx.p, d.w, dw.p, d.conv, fwd[a].algo, ws.p, ws_bytes[0], &b,
                                      d.y, out_y.p) == CUDNN_STATUS_SUCCESS);
      REQUIRE(cudnnConvolutionBackwardData(h, &alpha, d.w, dw.p, d.y, dgy.p, d.conv, bwd_data[a].algo, ws.p,
                                           ws_bytes[1], &b, d.x, out_gx.p) == CUDNN_STATUS_SUCCESS);
      REQUIRE(cudnnConvolutionBackwardFilter(h, &alpha, d.x, dx.p, d.y, dgy.p, d.conv, bwd_filter[a].algo, ws.p,
                                             ws_bytes[2], &b, d.w, out_gw.p) == CUDNN_STATUS_SUCCESS);
      auto blend = [&](const std::vector<double>& v, const std::vector<T>& prior) {
        std::vector<double> r(v.size());
        for (size_t i = 0; i < v.size(); ++i) r[i] = alpha * v[i] + (b == 0 ? 0.0 : double(b) * prior[i]);
        return r;
      };
      check_close(out_y.get(), blend(y, prior_y), tol);
      check_close(out_gx.get(), blend(gx, prior_x), tol);
      check_close(out_gw.get(), blend(gw, prior_w), tol);
    }
    if (ws_bytes[0] > 0) {  // too small a workspace is refused
      Dev<T> out(ny);
      CHECK(cudnnConvolutionForward(h, &alpha, d.x, dx.p, d.w, dw.p, d.conv, fwd[a].algo, ws.p, ws_bytes[0] - 1, &zero,
                                    d.y, out.p) == CUDNN_STATUS_BAD_PARAM);
    }
  }
}

}  // namespace

TEST_CASE("cuDNN convolutions: groups, stride, padding, dilation, both modes, alpha and beta", "[library]") {
  cudnnHandle_t h;
  REQUIRE(cudnnCreate(&h) == CUDNN_STATUS_SUCCESS);
  const Conv cases[] = {
      {2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, false},  // 'same' 3x3
      {2, 4, 8, 8, 6, 3, 3, 2, 1, 2, 1, false},  // grouped, strided
      {1, 6, 9, 7, 6, 2, 3, 3, 0, 1, 2, true},   // dilated, convolution mode
      {3, 2, 5, 5, 2, 1, 1, 2, 0, 1, 1, false},  // 1x1, a group per channel
  };
  for (const Conv& p : cases) {
    INFO("n " << p.n << " c " << p.c << " " << p.h << "x" << p.w << " k " << p.k << " " << p.kh << "x" << p.kw
              << " groups " << p.groups << " pad " << p.pad << " stride " << p.stride << " dilation " << p.dil
              << (p.flip ? " convolution" : " cross-correlation"));
    check_conv<float>(h, p, CUDNN_DATA_FLOAT, 1e-5);
    check_conv<double>(h, p, CUDNN_DATA_DOUBLE, 1e-12);
  }
  cudnnDestroy(h);
}

TEST_CASE("cuDNN's non-deterministic candidate changes its bits between calls; the deterministic one does not",
          "[library]") {
  cudnnHandle_t h;
  REQUIRE(cudnnCreate(&h) == CUDNN_STATUS_SUCCESS);
  const Conv p{8, 16, 6, 6, 8, 3, 3, 1, 1, 1, 1, false};
  Descs d(p, CUDNN_DATA_FLOAT);
  const size_t nx = size_t(p.n) * p.c * p.h * p.w, nw = size_t(p.k) * p.c * 9, ny = size_t(p.n) * p.k * 36;
  Dev<float> x(random_values<float>(nx, 7)), gy(random_values<float>(ny, 8)), gw(nw);
  size_t ws_bytes = 0;
  REQUIRE(cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1,
                                                         &ws_bytes) == CUDNN_STATUS_SUCCESS);
  Dev<unsigned char> ws(ws_bytes);
  const float one = 1, zero = 0;
  auto run = [&](cudnnConvolutionBwdFilterAlgo_t algo) {
    REQUIRE(cudnnConvolutionBackwardFilter(h, &one, d.x, x.p, d.y, gy.p, d.conv, algo, ws.p, ws_bytes, &zero, d.w,
                                           gw.p) == CUDNN_STATUS_SUCCESS);
    return gw.get();
  };
  const auto det1 = run(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1), det2 = run(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1);
  CHECK(std::memcmp(det1.data(), det2.data(), det1.size() * sizeof(float)) == 0);
  const auto nd1 = run(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0), nd2 = run(CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0);
  CHECK(std::memcmp(nd1.data(), nd2.data(), nd1.size() * sizeof(float)) != 0);
  cudnnDestroy(h);
}
