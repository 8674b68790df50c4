// A stand-in for cuDNN's 2-D convolutions (see cudnn.h for what it offers).
// Shapes are checked as cuDNN checks them (CUDNN_STATUS_BAD_PARAM); what a
// GPU would fault on or corrupt silently (an operand outside the handle's
// device memory, too small a workspace, an output overlapping an input) is
// reported and stops the process.
#include <cudnn.h>
#include <cblas.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "internal.h"

struct cudnnContext {
  int device;
  cudaStream_t stream = nullptr;
  unsigned long long calls = 0;  // turns the non-deterministic algorithms' summation order
};
struct cudnnTensorStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int n = 0, c = 0, h = 0, w = 0;
};
struct cudnnFilterStruct {
  bool set = false;
  cudnnDataType_t type = CUDNN_DATA_FLOAT;
  int k = 0, c = 0, h = 0, w = 0;
};
struct cudnnConvolutionStruct {
  bool set = false;
  int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dil_h = 1, dil_w = 1;
  cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  cudnnDataType_t compute = CUDNN_DATA_FLOAT;
  int groups = 1;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};

namespace gfemu {
namespace {

cudnnStatus_t bad(const std::string& why, cudnnStatus_t s = CUDNN_STATUS_BAD_PARAM) {
  std::fprintf(stderr, "gfemu: cuDNN: %s (%s)\n", why.c_str(), cudnnGetErrorString(s));
  return s;
}

// One convolution's sizes, checked. cg/kg: input/output channels per group;
// taps = cg*kh*kw (the rows of the im2col matrix); pix = oh*ow (its columns).
struct Geometry {
  int n, c, h, w, k, kh, kw, oh, ow, groups, cg, kg, ph, pw, sh, sw, dh, dw;
  bool flip;  // CUDNN_CONVOLUTION: the filter is applied mirrored
  cudnnDataType_t type;
  long long taps() const { return 1LL * cg * kh * kw; }
  long long pix() const { return 1LL * oh * ow; }
  size_t elem() const { return type == CUDNN_DATA_DOUBLE ? 8 : 4; }
  size_t x_bytes() const { return size_t(1) * n * c * h * w * elem(); }
  size_t w_bytes() const { return size_t(1) * k * cg * kh * kw * elem(); }
  size_t y_bytes() const { return size_t(1) * n * k * oh * ow * elem(); }
  size_t col_bytes() const { return static_cast<size_t>(taps() * pix()) * elem(); }
};

int out_size(int in, int pad, int stride, int dil, int k) { return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1; }

cudnnStatus_t geometry(const cudnnTensorStruct* x, const cudnnFilterStruct* w, const cudnnConvolutionStruct* cv,
                       const cudnnTensorStruct* y, Geometry* g) {
  if (!x || !w || !cv) return bad("a null descriptor", CUDNN_STATUS_BAD_PARAM_NULL_POINTER);
  if (!x->set || !w->set || !cv->set || (y && !y->set)) return bad("a descriptor used before it was set");
  if (x->type != w->type || (y && y->type != x->type))
    return bad("tensors and filter of different data types", CUDNN_STATUS_NOT_SUPPORTED);
  if (x->type != CUDNN_DATA_FLOAT && x->type != CUDNN_DATA_DOUBLE)
    return bad("only float and double data are emulated", CUDNN_STATUS_NOT_SUPPORTED);
  if (cv->compute != x->type) return bad("compute type differs from the data type", CUDNN_STATUS_NOT_SUPPORTED);
  if (x->c != w->c * cv->groups)
    return bad("input channels " + std::to_string(x->c) + " != filter channels " + std::to_string(w->c) + " x groups " +
               std::to_string(cv->groups));
  if (w->k % cv->groups) return bad("output channels " + std::to_string(w->k) + " not divisible by the groups");
  Geometry r{};
  r.n = x->n; r.c = x->c; r.h = x->h; r.w = x->w;
  r.k = w->k; r.kh = w->h; r.kw = w->w;
  r.groups = cv->groups; r.cg = w->c; r.kg = w->k / cv->groups;
  r.ph = cv->pad_h; r.pw = cv->pad_w; r.sh = cv->stride_h; r.sw = cv->stride_w; r.dh = cv->dil_h; r.dw = cv->dil_w;
  r.flip = cv->mode == CUDNN_CONVOLUTION;
  r.type = x->type;
  r.oh = out_size(r.h, r.ph, r.sh, r.dh, r.kh);
  r.ow = out_size(r.w, r.pw, r.sw, r.dw, r.kw);
  if (r.oh <= 0 || r.ow <= 0) return bad("the filter does not fit the padded input");
  if (y && (y->n != r.n || y->c != r.k || y->h != r.oh || y->w != r.ow))
    return bad("output descriptor [" + std::to_string(y->n) + ", " + std::to_string(y->c) + ", " +
               std::to_string(y->h) + ", " + std::to_string(y->w) + "] is not the convolution's output [" +
               std::to_string(r.n) + ", " + std::to_string(r.k) + ", " + std::to_string(r.oh) + ", " +
               std::to_string(r.ow) + "]", CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH);
  *g = r;
  return CUDNN_STATUS_SUCCESS;
}

// ---- the deterministic algorithm: im2col + GEMM ----

void gemm_rm(bool ta, bool tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
             float beta, float* c, int ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
              b, ldb, beta, c, ldc);
}
void gemm_rm(bool ta, bool tb, int m, int n, int k, double alpha, const double* a, int lda, const double* b, int ldb,
             double beta, double* c, int ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda,
              b, ldb, beta, c, ldc);
}

// x of one (sample, group): [cg, h, w] -> col [taps, pix]. Row (ci, r, s) of
// col holds the input each output pixel sees through tap (r, s); zero in the padding.
template <class T>
void im2col(const Geometry& g, const T* x, T* col) {
  for (int ci = 0; ci < g.cg; ++ci)
    for (int r = 0; r < g.kh; ++r)
      for (int s = 0; s < g.kw; ++s) {
        T* row = col + ((1LL * ci * g.kh + r) * g.kw + s) * g.pix();
        for (int oy = 0; oy < g.oh; ++oy) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          for (int ox = 0; ox < g.ow; ++ox) {
            const int ix = ox * g.sw - g.pw + s * g.dw;
            row[oy * g.ow + ox] = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x[(1LL * ci * g.h + iy) * g.w + ix] : T(0);
          }
        }
      }
}

// The adjoint of im2col: adds col [taps, pix] into x [cg, h, w].
template <class T>
void col2im_add(const Geometry& g, const T* col, T* x) {
  for (int ci = 0; ci < g.cg; ++ci)
    for (int r = 0; r < g.kh; ++r)
      for (int s = 0; s < g.kw; ++s) {
        const T* row = col + ((1LL * ci * g.kh + r) * g.kw + s) * g.pix();
        for (int oy = 0; oy < g.oh; ++oy) {
          const int iy = oy * g.sh - g.ph + r * g.dh;
          if (iy < 0 || iy >= g.h) continue;
          for (int ox = 0; ox < g.ow; ++ox) {
            const int ix = ox * g.sw - g.pw + s * g.dw;
            if (ix >= 0 && ix < g.w) x[(1LL * ci * g.h + iy) * g.w + ix] += row[oy * g.ow + ox];
          }
        }
      }
}

// The filter as cross-correlation sees it: flipped for CUDNN_CONVOLUTION.
template <class T>
std::vector<T> filter_as_xcorr(const Geometry& g, const T* w) {
  const size_t n = static_cast<size_t>(g.k) * g.taps();
  std::vector<T> f(w, w + n);
  if (g.flip)
    for (int o = 0; o < g.k; ++o)
      for (int ci = 0; ci < g.cg; ++ci)
        for (int r = 0; r < g.kh; ++r)
          for (int s = 0; s < g.kw; ++s)
            f[((1LL * o * g.cg + ci) * g.kh + r) * g.kw + s] =
                w[((1LL * o * g.cg + ci) * g.kh + (g.kh - 1 - r)) * g.kw + (g.kw - 1 - s)];
  return f;
}

// out = alpha * v + beta * out; beta == 0 does not read out (it may be NaN).
template <class T>
void blend(T* out, const T* v, size_t n, T alpha, T beta) {
  for (size_t i = 0; i < n; ++i) out[i] = beta == T(0) ? alpha * v[i] : alpha * v[i] + beta * out[i];
}

template <class T>
void forward_gemm(const Geometry& g, T alpha, const T* x, const T* w, T beta, T* y, T* col) {
  const std::vector<T> f = filter_as_xcorr(g, w);
  std::vector<T> acc(static_cast<size_t>(g.kg * g.pix()));
  for (int n = 0; n < g.n; ++n)
    for (int gr = 0; gr < g.groups; ++gr) {
      im2col(g, x + (1LL * n * g.c + 1LL * gr * g.cg) * g.h * g.w, col);
      gemm_rm(false, false, g.kg, static_cast<int>(g.pix()), static_cast<int>(g.taps()), T(1),
              f.data() + 1LL * gr * g.kg * g.taps(), static_cast<int>(g.taps()), col, static_cast<int>(g.pix()), T(0),
              acc.data(), static_cast<int>(g.pix()));
      blend(y + (1LL * n * g.k + 1LL * gr * g.kg) * g.pix(), acc.data(), acc.size(), alpha, beta);
    }
}

template <class T>
void backward_data_gemm(const Geometry& g, T alpha, const T* w, const T* dy, T beta, T* dx, T* col) {
  const std::vector<T> f = filter_as_xcorr(g, w);
  std::vector<T> acc(static_cast<size_t>(g.cg) * g.h * g.w);
  for (int n = 0; n < g.n; ++n)
    for (int gr = 0; gr < g.groups; ++gr) {
      gemm_rm(true, false, static_cast<int>(g.taps()), static_cast<int>(g.pix()), g.kg, T(1),
              f.data() + 1LL * gr * g.kg * g.taps(), static_cast<int>(g.taps()),
              dy + (1LL * n * g.k + 1LL * gr * g.kg) * g.pix(), static_cast<int>(g.pix()), T(0), col,
              static_cast<int>(g.pix()));
      std::fill(acc.begin(), acc.end(), T(0));
      col2im_add(g, col, acc.data());
      blend(dx + (1LL * n * g.c + 1LL * gr * g.cg) * g.h * g.w, acc.data(), acc.size(), alpha, beta);
    }
}

template <class T>
void backward_filter_gemm(const Geometry& g, T alpha, const T* x, const T* dy, T beta, T* dw, T* col) {
  std::vector<T> acc(static_cast<size_t>(g.k) * g.taps(), T(0));
  for (int gr = 0; gr < g.groups; ++gr)
    for (int n = 0; n < g.n; ++n) {  // a fixed order over the batch: deterministic
      im2col(g, x + (1LL * n * g.c + 1LL * gr * g.cg) * g.h * g.w, col);
      gemm_rm(false, true, g.kg, static_cast<int>(g.taps()), static_cast<int>(g.pix()), T(1),
              dy + (1LL * n * g.k + 1LL * gr * g.kg) * g.pix(), static_cast<int>(g.pix()), col,
              static_cast<int>(g.pix()), T(1), acc.data() + 1LL * gr * g.kg * g.taps(), static_cast<int>(g.taps()));
    }
  const std::vector<T> as_filter = filter_as_xcorr(g, acc.data());  // flipping is its own inverse
  blend(dw, as_filter.data(), as_filter.size(), alpha, beta);
}

// ---- the non-deterministic algorithm: direct sums, started at a different
// term on every call (a GPU's atomics add in whatever order they land) ----

template <class T>
T x_at(const Geometry& g, const T* x, int n, int ci, int iy, int ix) {
  return iy >= 0 && iy < g.h && ix >= 0 && ix < g.w ? x[((1LL * n * g.c + ci) * g.h + iy) * g.w + ix] : T(0);
}
template <class T>
T w_at(const Geometry& g, const T* w, int o, int ci, int r, int s) {  // as cross-correlation
  if (g.flip) {
    r = g.kh - 1 - r;
    s = g.kw - 1 - s;
  }
  return w[((1LL * o * g.cg + ci) * g.kh + r) * g.kw + s];
}

template <class T>
void forward_direct(const Geometry& g, T alpha, const T* x, const T* w, T beta, T* y, unsigned long long turn) {
  const long long taps = g.taps();
  for (int n = 0; n < g.n; ++n)
    for (int o = 0; o < g.k; ++o) {
      const int gr = o / g.kg;
      for (int oy = 0; oy < g.oh; ++oy)
        for (int ox = 0; ox < g.ow; ++ox) {
          T acc = 0;
          for (long long t0 = 0; t0 < taps; ++t0) {
            const long long t = (t0 + static_cast<long long>(turn)) % taps;
            const int ci = static_cast<int>(t / (g.kh * g.kw)), r = static_cast<int>(t / g.kw % g.kh),
                      s = static_cast<int>(t % g.kw);
            acc += x_at(g, x, n, gr * g.cg + ci, oy * g.sh - g.ph + r * g.dh, ox * g.sw - g.pw + s * g.dw) *
                   w_at(g, w, o, ci, r, s);
          }
          T& out = y[((1LL * n * g.k + o) * g.oh + oy) * g.ow + ox];
          out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
        }
    }
}

template <class T>
void backward_data_direct(const Geometry& g, T alpha, const T* w, const T* dy, T beta, T* dx,
                          unsigned long long turn) {
  std::vector<T> acc(g.x_bytes() / sizeof(T), T(0));
  for (long long q0 = 0; q0 < 1LL * g.n * g.k; ++q0) {  // (sample, output channel), rotated
    const long long q = (q0 + static_cast<long long>(turn)) % (1LL * g.n * g.k);
    const int n = static_cast<int>(q / g.k), o = static_cast<int>(q % g.k), gr = o / g.kg;
    for (int ci = 0; ci < g.cg; ++ci)
      for (int r = 0; r < g.kh; ++r)
        for (int s = 0; s < g.kw; ++s) {
          const T wv = w_at(g, w, o, ci, r, s);
          for (int oy = 0; oy < g.oh; ++oy)
            for (int ox = 0; ox < g.ow; ++ox) {
              const int iy = oy * g.sh - g.ph + r * g.dh, ix = ox * g.sw - g.pw + s * g.dw;
              if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w)
                acc[((1LL * n * g.c + gr * g.cg + ci) * g.h + iy) * g.w + ix] +=
                    wv * dy[((1LL * n * g.k + o) * g.oh + oy) * g.ow + ox];
            }
        }
  }
  blend(dx, acc.data(), acc.size(), alpha, beta);
}

template <class T>
void backward_filter_direct(const Geometry& g, T alpha, const T* x, const T* dy, T beta, T* dw,
                            unsigned long long turn) {
  for (int o = 0; o < g.k; ++o) {
    const int gr = o / g.kg;
    for (int ci = 0; ci < g.cg; ++ci)
      for (int r = 0; r < g.kh; ++r)
        for (int s = 0; s < g.kw; ++s) {
          T acc = 0;
          for (int n0 = 0; n0 < g.n; ++n0) {
            const int n = static_cast<int>((n0 + turn) % static_cast<unsigned long long>(g.n));
            for (int oy = 0; oy < g.oh; ++oy)
              for (int ox = 0; ox < g.ow; ++ox)
                acc += x_at(g, x, n, gr * g.cg + ci, oy * g.sh - g.ph + r * g.dh, ox * g.sw - g.pw + s * g.dw) *
                       dy[((1LL * n * g.k + o) * g.oh + oy) * g.ow + ox];
          }
          // Stored as the filter: for CUDNN_CONVOLUTION the tap (r, s) of
          // cross-correlation is the filter's mirrored tap.
          const int fr = g.flip ? g.kh - 1 - r : r, fs = g.flip ? g.kw - 1 - s : s;
          T& out = dw[((1LL * o * g.cg + ci) * g.kh + fr) * g.kw + fs];
          out = beta == T(0) ? alpha * acc : alpha * acc + beta * out;
        }
  }
}

// ---- the two algorithms of each pass ----

enum class Pass { forward, backward_data, backward_filter };
constexpr int kNonDeterministic[] = {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_CONVOLUTION_BWD_DATA_ALGO_0,
                                     CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0};
constexpr int kDeterministic[] = {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1,
                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1};

const char* pass_name(Pass p) {
  return p == Pass::forward ? "cudnnConvolutionForward"
                            : p == Pass::backward_data ? "cudnnConvolutionBackwardData"
                                                       : "cudnnConvolutionBackwardFilter";
}

cudnnStatus_t workspace_size(Pass p, const Geometry& g, int algo, size_t* bytes) {
  const int i = static_cast<int>(p);
  if (algo == kNonDeterministic[i]) *bytes = 0;
  else if (algo == kDeterministic[i]) *bytes = g.col_bytes();
  else return bad(std::string(pass_name(p)) + ": algorithm " + std::to_string(algo) + " is not emulated",
                  CUDNN_STATUS_NOT_SUPPORTED);
  return CUDNN_STATUS_SUCCESS;
}

template <class Perf, class Algo>
cudnnStatus_t query(Pass p, const Geometry& g, const cudnnConvolutionStruct* cv, int requested, int* returned,
                    Perf* perf) {
  if (requested < 1 || !returned || !perf) return bad("_v7 query: bad count or null output");
  const int i = static_cast<int>(p);
  const int algos[2] = {kNonDeterministic[i], kDeterministic[i]};
  *returned = std::min(requested, 2);
  for (int k = 0; k < *returned; ++k) {
    Perf r{};
    r.algo = static_cast<Algo>(algos[k]);
    r.status = CUDNN_STATUS_SUCCESS;
    r.time = -1;  // heuristics measure nothing
    workspace_size(p, g, algos[k], &r.memory);
    r.determinism = k == 0 ? CUDNN_NON_DETERMINISTIC : CUDNN_DETERMINISTIC;
    r.mathType = cv->math;
    perf[k] = r;
  }
  return CUDNN_STATUS_SUCCESS;
}

bool overlap(const void* a, size_t an, const void* b, size_t bn) {
  const char* x = static_cast<const char*>(a);
  const char* y = static_cast<const char*>(b);
  return an && bn && x < y + bn && y < x + an;
}

// Everything a GPU would not check but would fault on or silently get wrong.
void check_memory(cudnnHandle_t h, Pass p, const Geometry& g, const void* in1, size_t in1_bytes, const char* in1_name,
                  const void* in2, size_t in2_bytes, const char* in2_name, const void* out, size_t out_bytes,
                  const char* out_name, int algo, const void* ws, size_t ws_bytes) {
  const std::string call = pass_name(p);
  if (current_device() != h->device)
    die(call + ": the handle was created on device " + std::to_string(h->device) + " but device " +
        std::to_string(current_device()) + " is current");
  const struct {
    const void* ptr;
    size_t bytes;
    const char* name;
  } ops[] = {{in1, in1_bytes, in1_name}, {in2, in2_bytes, in2_name}, {out, out_bytes, out_name}};
  for (const auto& o : ops) {
    const std::string why = check_device_range(o.ptr, o.bytes, h->device);
    if (!why.empty()) die(call + ": " + o.name + ": " + why);
  }
  if (overlap(out, out_bytes, in1, in1_bytes) || overlap(out, out_bytes, in2, in2_bytes))
    die(call + ": the output " + out_name + " overlaps an input");
  size_t need = 0;
  workspace_size(p, g, algo, &need);
  if (need) {
    const std::string why = check_device_range(ws, need, h->device);
    if (!why.empty()) die(call + ": workspace: " + why);
  }
  (void)ws_bytes;
}

template <class T>
void run(Pass p, cudnnHandle_t h, const Geometry& g, int algo, const void* alpha, const void* beta, const void* a,
         const void* b, void* out, void* ws) {
  const T al = *static_cast<const T*>(alpha), be = *static_cast<const T*>(beta);
  const bool det = algo == kDeterministic[static_cast<int>(p)];
  const unsigned long long turn = h->calls++;
  const T* A = static_cast<const T*>(a);
  const T* B = static_cast<const T*>(b);
  T* O = static_cast<T*>(out);
  T* col = static_cast<T*>(ws);
  switch (p) {
    case Pass::forward:
      det ? forward_gemm(g, al, A, B, be, O, col) : forward_direct(g, al, A, B, be, O, turn);
      break;
    case Pass::backward_data:
      det ? backward_data_gemm(g, al, A, B, be, O, col) : backward_data_direct(g, al, A, B, be, O, turn);
      break;
    case Pass::backward_filter:
      det ? backward_filter_gemm(g, al, A, B, be, O, col) : backward_filter_direct(g, al, A, B, be, O, turn);
      break;
  }
}

// The shared path of the three passes: a = first input, b = second input.
cudnnStatus_t execute(Pass p, cudnnHandle_t h, const void* alpha, const void* beta, const cudnnTensorStruct* x,
                      const cudnnFilterStruct* w, const cudnnConvolutionStruct* cv, const cudnnTensorStruct* y,
                      int algo, const void* a, const void* b, void* out, void* ws, size_t ws_bytes) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  stream_begin(h->stream);
  if (!alpha || !beta || !a || !b || !out) return bad(std::string(pass_name(p)) + ": a null pointer",
                                                      CUDNN_STATUS_BAD_PARAM_NULL_POINTER);
  Geometry g;
  if (cudnnStatus_t s = geometry(x, w, cv, y, &g)) return s;
  size_t need = 0;
  if (cudnnStatus_t s = workspace_size(p, g, algo, &need)) return s;
  if (ws_bytes < need || (need && !ws))
    return bad(std::string(pass_name(p)) + ": workspace of " + std::to_string(ws_bytes) + " bytes, algorithm " +
               std::to_string(algo) + " needs " + std::to_string(need));
  switch (p) {
    case Pass::forward:
      check_memory(h, p, g, a, g.x_bytes(), "x", b, g.w_bytes(), "w", out, g.y_bytes(), "y", algo, ws, ws_bytes);
      break;
    case Pass::backward_data:
      check_memory(h, p, g, a, g.w_bytes(), "w", b, g.y_bytes(), "dy", out, g.x_bytes(), "dx", algo, ws, ws_bytes);
      break;
    case Pass::backward_filter:
      check_memory(h, p, g, a, g.x_bytes(), "x", b, g.y_bytes(), "dy", out, g.w_bytes(), "dw", algo, ws, ws_bytes);
      break;
  }
  // The passes may run on OpenBLAS's threads, outside this thread's
  // DeviceAccess: the operands and workspace opened here for them.
  DeviceAccess access;
  for (const void* p : {a, b, static_cast<const void*>(out), static_cast<const void*>(ws), alpha, beta})
    if (p) access.open(p);
  if (g.type == CUDNN_DATA_DOUBLE) run<double>(p, h, g, algo, alpha, beta, a, b, out, ws);
  else run<float>(p, h, g, algo, alpha, beta, a, b, out, ws);
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace
}  // namespace gfemu

using namespace gfemu;

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  *handle = new cudnnContext{current_device()};
  keep_handle(*handle);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  if (!handle) return CUDNN_STATUS_NOT_INITIALIZED;
  drop_handle(handle);
  delete handle;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t stream) {
  if (!handle) return CUDNN_STATUS_NOT_INITIALIZED;
  const int d = stream_device(stream);
  if (d < 0) return bad("cudnnSetStream: not a live stream");
  if (stream && d != handle->device)
    die("cudnnSetStream: a stream of device " + std::to_string(d) + " given to a handle of device " +
        std::to_string(handle->device));
  handle->stream = stream;
  return CUDNN_STATUS_SUCCESS;
}

const char* cudnnGetErrorString(cudnnStatus_t s) {
  switch (s) {
    case CUDNN_STATUS_SUCCESS: return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_NOT_INITIALIZED: return "CUDNN_STATUS_NOT_INITIALIZED";
    case CUDNN_STATUS_BAD_PARAM: return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_BAD_PARAM_NULL_POINTER: return "CUDNN_STATUS_BAD_PARAM_NULL_POINTER";
    case CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH: return "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH";
    case CUDNN_STATUS_NOT_SUPPORTED: return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_EXECUTION_FAILED: return "CUDNN_STATUS_EXECUTION_FAILED";
    default: return "CUDNN_STATUS_INTERNAL_ERROR";
  }
}

cudnnStatus_t cudnnCreateTensorDescriptor(cudnnTensorDescriptor_t* d) {
  *d = new cudnnTensorStruct;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyTensorDescriptor(cudnnTensorDescriptor_t d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format, cudnnDataType_t type,
                                         int n, int c, int h, int w) {
  if (!d) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  if (format != CUDNN_TENSOR_NCHW) return bad("only NCHW tensors are emulated", CUDNN_STATUS_NOT_SUPPORTED);
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0) return bad("cudnnSetTensor4dDescriptor: a dimension below 1");
  *d = cudnnTensorStruct{true, type, n, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateFilterDescriptor(cudnnFilterDescriptor_t* d) {
  *d = new cudnnFilterStruct;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyFilterDescriptor(cudnnFilterDescriptor_t d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type, cudnnTensorFormat_t format,
                                         int k, int c, int h, int w) {
  if (!d) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  if (format != CUDNN_TENSOR_NCHW) return bad("only NCHW filters are emulated", CUDNN_STATUS_NOT_SUPPORTED);
  if (k <= 0 || c <= 0 || h <= 0 || w <= 0) return bad("cudnnSetFilter4dDescriptor: a dimension below 1");
  *d = cudnnFilterStruct{true, type, k, c, h, w};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnCreateConvolutionDescriptor(cudnnConvolutionDescriptor_t* d) {
  *d = new cudnnConvolutionStruct;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnDestroyConvolutionDescriptor(cudnnConvolutionDescriptor_t d) {
  delete d;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v,
                                              int dil_h, int dil_w, cudnnConvolutionMode_t mode,
                                              cudnnDataType_t compute) {
  if (!d) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  if (pad_h < 0 || pad_w < 0 || u <= 0 || v <= 0 || dil_h <= 0 || dil_w <= 0)
    return bad("cudnnSetConvolution2dDescriptor: negative padding, or stride or dilation below 1");
  if (mode != CUDNN_CONVOLUTION && mode != CUDNN_CROSS_CORRELATION)
    return bad("cudnnSetConvolution2dDescriptor: unknown mode");
  d->set = true;
  d->pad_h = pad_h;
  d->pad_w = pad_w;
  d->stride_h = u;
  d->stride_w = v;
  d->dil_h = dil_h;
  d->dil_w = dil_w;
  d->mode = mode;
  d->compute = compute;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionGroupCount(cudnnConvolutionDescriptor_t d, int groups) {
  if (!d) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  if (groups < 1) return bad("cudnnSetConvolutionGroupCount: groups below 1");
  d->groups = groups;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t math) {
  if (!d) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  d->math = math;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolution2dForwardOutputDim(const cudnnConvolutionDescriptor_t cv,
                                                    const cudnnTensorDescriptor_t x, const cudnnFilterDescriptor_t w,
                                                    int* n, int* c, int* h, int* wd) {
  Geometry g;
  if (cudnnStatus_t s = geometry(x, w, cv, nullptr, &g)) return s;
  *n = g.n;
  *c = g.k;
  *h = g.oh;
  *wd = g.ow;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithmMaxCount(cudnnHandle_t h, int* count) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  *count = 2;
  return CUDNN_STATUS_SUCCESS;
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithmMaxCount(cudnnHandle_t h, int* count) {
  return cudnnGetConvolutionForwardAlgorithmMaxCount(h, count);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(cudnnHandle_t h, int* count) {
  return cudnnGetConvolutionForwardAlgorithmMaxCount(h, count);
}

cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                     const cudnnFilterDescriptor_t w,
                                                     const cudnnConvolutionDescriptor_t cv,
                                                     const cudnnTensorDescriptor_t y, const int requested,
                                                     int* returned, cudnnConvolutionFwdAlgoPerf_t* perf) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  Geometry g;
  if (cudnnStatus_t s = geometry(x, w, cv, y, &g)) return s;
  return query<cudnnConvolutionFwdAlgoPerf_t, cudnnConvolutionFwdAlgo_t>(Pass::forward, g, cv, requested, returned,
                                                                         perf);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, const cudnnFilterDescriptor_t w,
                                                          const cudnnTensorDescriptor_t dy,
                                                          const cudnnConvolutionDescriptor_t cv,
                                                          const cudnnTensorDescriptor_t dx, const int requested,
                                                          int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  Geometry g;
  if (cudnnStatus_t s = geometry(dx, w, cv, dy, &g)) return s;
  return query<cudnnConvolutionBwdDataAlgoPerf_t, cudnnConvolutionBwdDataAlgo_t>(Pass::backward_data, g, cv,
                                                                                 requested, returned, perf);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                            const cudnnTensorDescriptor_t dy,
                                                            const cudnnConvolutionDescriptor_t cv,
                                                            const cudnnFilterDescriptor_t dw, const int requested,
                                                            int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  Geometry g;
  if (cudnnStatus_t s = geometry(x, dw, cv, dy, &g)) return s;
  return query<cudnnConvolutionBwdFilterAlgoPerf_t, cudnnConvolutionBwdFilterAlgo_t>(Pass::backward_filter, g, cv,
                                                                                     requested, returned, perf);
}

cudnnStatus_t cudnnGetConvolutionForwardWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                      const cudnnFilterDescriptor_t w,
                                                      const cudnnConvolutionDescriptor_t cv,
                                                      const cudnnTensorDescriptor_t y, cudnnConvolutionFwdAlgo_t algo,
                                                      size_t* bytes) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  Geometry g;
  if (cudnnStatus_t s = geometry(x, w, cv, y, &g)) return s;
  return workspace_size(Pass::forward, g, algo, bytes);
}
cudnnStatus_t cudnnGetConvolutionBackwardDataWorkspaceSize(cudnnHandle_t h, const cudnnFilterDescriptor_t w,
                                                           const cudnnTensorDescriptor_t dy,
                                                           const cudnnConvolutionDescriptor_t cv,
                                                           const cudnnTensorDescriptor_t dx,
                                                           cudnnConvolutionBwdDataAlgo_t algo, size_t* bytes) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  Geometry g;
  if (cudnnStatus_t s = geometry(dx, w, cv, dy, &g)) return s;
  return workspace_size(Pass::backward_data, g, algo, bytes);
}
cudnnStatus_t cudnnGetConvolutionBackwardFilterWorkspaceSize(cudnnHandle_t h, const cudnnTensorDescriptor_t x,
                                                             const cudnnTensorDescriptor_t dy,
                                                             const cudnnConvolutionDescriptor_t cv,
                                                             const cudnnFilterDescriptor_t dw,
                                                             cudnnConvolutionBwdFilterAlgo_t algo, size_t* bytes) {
  if (!h) return CUDNN_STATUS_NOT_INITIALIZED;
  Geometry g;
  if (cudnnStatus_t s = geometry(x, dw, cv, dy, &g)) return s;
  return workspace_size(Pass::backward_filter, g, algo, bytes);
}

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t x_desc,
                                      const void* x, const cudnnFilterDescriptor_t w_desc, const void* w,
                                      const cudnnConvolutionDescriptor_t cv, cudnnConvolutionFwdAlgo_t algo,
                                      void* ws, size_t ws_bytes, const void* beta,
                                      const cudnnTensorDescriptor_t y_desc, void* y) {
  return execute(Pass::forward, h, alpha, beta, x_desc, w_desc, cv, y_desc, algo, x, w, y, ws, ws_bytes);
}
cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void* alpha, const cudnnFilterDescriptor_t w_desc,
                                           const void* w, const cudnnTensorDescriptor_t dy_desc, const void* dy,
                                           const cudnnConvolutionDescriptor_t cv, cudnnConvolutionBwdDataAlgo_t algo,
                                           void* ws, size_t ws_bytes, const void* beta,
                                           const cudnnTensorDescriptor_t dx_desc, void* dx) {
  return execute(Pass::backward_data, h, alpha, beta, dx_desc, w_desc, cv, dy_desc, algo, w, dy, dx, ws, ws_bytes);
}
cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void* alpha, const cudnnTensorDescriptor_t x_desc,
                                             const void* x, const cudnnTensorDescriptor_t dy_desc, const void* dy,
                                             const cudnnConvolutionDescriptor_t cv,
                                             cudnnConvolutionBwdFilterAlgo_t algo, void* ws, size_t ws_bytes,
                                             const void* beta, const cudnnFilterDescriptor_t dw_desc, void* dw) {
  return execute(Pass::backward_filter, h, alpha, beta, x_desc, dw_desc, cv, dy_desc, algo, x, dy, dw, ws, ws_bytes);
}
