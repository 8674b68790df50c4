// CPU convolutions: the entry points pick oneDNN or the reference.
// The reference: per sample, the receptive fields are unrolled into a column
// matrix (im2col) so that each group's convolution is one GEMM through CBLAS;
// the data gradient is the transposed GEMM followed by the adjoint scatter
// (col2im). A 1x1, stride-1, unpadded convolution is already a GEMM on x.
// oneDNN's float32 weight gradient runs in chunks of the batch fixed by the
// shape, each on one thread (filter_chunks, below), so its bits do not depend
// on the thread count.
#include "kernels/conv2d.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <type_traits>

#include "kernels/common.h"
#include "kernels/conv2d_onednn.h"
#include "kernels/matmul.h"
#include "kernels/parallel.h"

namespace gf::cpu {
namespace {

bool is_pointwise(const Conv2dShape& s) {
  return s.kh == 1 && s.kw == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_h == 0 && s.pad_w == 0;
}

// col[(c * kh + i) * kw + j][p * out_w + q] = x[c, p * sh - ph + i, q * sw - pw + j], 0 in the padding.
template <class T>
void im2col(const Conv2dShape& s, const T* x, T* col) {
  const int64_t out_hw = int64_t(s.out_h) * s.out_w;
#pragma omp parallel for collapse(3) if (int64_t(s.c) * s.kh * s.kw * out_hw > 32768)
  for (int c = 0; c < s.c; ++c)
    for (int i = 0; i < s.kh; ++i)
      for (int j = 0; j < s.kw; ++j) {
        const T* plane = x + int64_t(c) * s.h * s.w;
        T* row = col + ((int64_t(c) * s.kh + i) * s.kw + j) * out_hw;
        for (int p = 0; p < s.out_h; ++p) {
          T* dst = row + int64_t(p) * s.out_w;
          const int y = p * s.stride_h - s.pad_h + i;
          if (y < 0 || y >= s.h) {
            std::fill(dst, dst + s.out_w, T(0));
            continue;
          }
          const T* src = plane + int64_t(y) * s.w;
          for (int q = 0; q < s.out_w; ++q) {
            const int xx = q * s.stride_w - s.pad_w + j;
            dst[q] = xx >= 0 && xx < s.w ? src[xx] : T(0);
          }
        }
      }
}

// The adjoint of im2col: x = 0, then every column entry is added back to the
// pixel it was read from. One thread per channel, so the adds never race.
template <class T>
void col2im(const Conv2dShape& s, const T* col, T* x) {
  const int64_t out_hw = int64_t(s.out_h) * s.out_w;
#pragma omp parallel for if (int64_t(s.c) * s.kh * s.kw * out_hw > 32768)
  for (int c = 0; c < s.c; ++c) {
    T* plane = x + int64_t(c) * s.h * s.w;
    std::fill(plane, plane + int64_t(s.h) * s.w, T(0));
    for (int i = 0; i < s.kh; ++i)
      for (int j = 0; j < s.kw; ++j) {
        const T* row = col + ((int64_t(c) * s.kh + i) * s.kw + j) * out_hw;
        for (int p = 0; p < s.out_h; ++p) {
          const int y = p * s.stride_h - s.pad_h + i;
          if (y < 0 || y >= s.h) continue;
          const T* src = row + int64_t(p) * s.out_w;
          T* dst = plane + int64_t(y) * s.w;
          for (int q = 0; q < s.out_w; ++q) {
            const int xx = q * s.stride_w - s.pad_w + j;
            if (xx >= 0 && xx < s.w) dst[xx] += src[q];
          }
        }
      }
  }
}

// Per group g: rows of the weight matrix [k/G, (c/G) kh kw], rows of the column
// matrix [(c/G) kh kw, out_hw], both contiguous blocks at g * their size.
struct GroupGemm {
  int64_t kg, rows, out_hw, in_chw, out_chw;
  explicit GroupGemm(const Conv2dShape& s)
      : kg(s.k / s.groups),
        rows(int64_t(s.c / s.groups) * s.kh * s.kw),
        out_hw(int64_t(s.out_h) * s.out_w),
        in_chw(int64_t(s.c) * s.h * s.w),
        out_chw(int64_t(s.k) * s.out_h * s.out_w) {}
};

// The column matrix of one sample (none for a pointwise convolution).
template <class T>
size_t col_bytes(const Conv2dShape& s) {
  const GroupGemm g(s);
  return is_pointwise(s) ? 0 : size_t(g.rows * s.groups * g.out_hw) * sizeof(T);
}

template <class T>
void reference_forward(const Conv2dShape& s, const T* x, const T* w, T* y, T* col) {
  const GroupGemm g(s);
  const bool direct = is_pointwise(s);
  for (int n = 0; n < s.n; ++n) {
    const T* xn = x + n * g.in_chw;
    if (!direct) im2col(s, xn, col);
    const T* cn = direct ? xn : col;
    for (int gi = 0; gi < s.groups; ++gi)
      gemm<T>(false, false, g.kg, g.out_hw, g.rows, T(1), w + gi * g.kg * g.rows, g.rows, cn + gi * g.rows * g.out_hw,
              g.out_hw, T(0), y + n * g.out_chw + gi * g.kg * g.out_hw, g.out_hw);
  }
}

template <class T>
void reference_backward_data(const Conv2dShape& s, const T* gy, const T* w, T* gx, T* col) {
  const GroupGemm g(s);
  const bool direct = is_pointwise(s);
  for (int n = 0; n < s.n; ++n) {
    T* gxn = gx + n * g.in_chw;
    T* cn = direct ? gxn : col;
    for (int gi = 0; gi < s.groups; ++gi)
      gemm<T>(true, false, g.rows, g.out_hw, g.kg, T(1), w + gi * g.kg * g.rows, g.rows,
              gy + n * g.out_chw + gi * g.kg * g.out_hw, g.out_hw, T(0), cn + gi * g.rows * g.out_hw, g.out_hw);
    if (!direct) col2im(s, col, gxn);
  }
}

template <class T>
void reference_backward_filter(const Conv2dShape& s, const T* x, const T* gy, T* gw, T* col) {
  const GroupGemm g(s);
  const bool direct = is_pointwise(s);
  for (int n = 0; n < s.n; ++n) {
    const T* xn = x + n * g.in_chw;
    if (!direct) im2col(s, xn, col);
    const T* cn = direct ? xn : col;
    for (int gi = 0; gi < s.groups; ++gi)  // the first sample overwrites, the rest accumulate
      gemm<T>(false, true, g.kg, g.rows, g.out_hw, T(1), gy + n * g.out_chw + gi * g.kg * g.out_hw, g.out_hw,
              cn + gi * g.rows * g.out_hw, g.out_hw, n == 0 ? T(0) : T(1), gw + gi * g.kg * g.rows, g.rows);
  }
}

std::atomic<int> g_impl{-1};  // a ConvImpl, -1 until first asked

// oneDNN 2.6's weight gradient gives each thread a share of the batch (or of
// the rows) and adds the shares, so its bits follow the thread count. Run
// instead on chunks of the batch fixed by the shape, each chunk's gradient by
// a primitive built for and run on one thread (oneDNN keys, plans and runs
// a primitive by the calling thread's OpenMP team size: kernels/conv2d_onednn.cpp),
// the chunks spread over our threads and their gradients added in chunk
// order: the same bits on any thread count, at oneDNN's speed (the im2col
// reference ran at 0.36 of the sgemm rate: bench/RESULTS.md). At most 8
// chunks, and at most 64 MiB of the chunks' own gradients.
constexpr int64_t kMaxFilterChunks = 8;
constexpr size_t kFilterPartialBytes = size_t(64) << 20;

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

Conv2dShape with_batch(Conv2dShape s, int64_t n) {
  s.n = static_cast<int>(n);
  return s;
}

// The chunks of one weight gradient and the workspace each takes: oneDNN's
// own (reorders, scratchpad) for the larger of the two chunk sizes, then the
// chunk's gradient (the first chunk writes the output itself).
struct FilterChunks {
  bool ok = false;  // oneDNN takes both chunk shapes
  int64_t size = 0, count = 0;  // samples a chunk (the last may hold fewer), chunks
  size_t onednn_bytes = 0, grad_bytes = 0;
  // The workspace: every chunk's oneDNN region, then the gradients of chunks 1 on.
  size_t onednn_at(int64_t i) const { return size_t(i) * onednn_bytes; }
  size_t grad_at(int64_t i) const { return size_t(count) * onednn_bytes + size_t(i - 1) * grad_bytes; }
  size_t bytes() const { return count > 0 ? size_t(count) * onednn_bytes + size_t(count - 1) * grad_bytes : 0; }
};

FilterChunks filter_chunks(const Conv2dShape& s) {
  FilterChunks c;
  if (s.n <= 0) return c;  // no samples: the reference's (empty) loop
  const size_t grad = size_t(s.k) * size_t(s.c / s.groups) * size_t(s.kh) * size_t(s.kw) * sizeof(float);
  const int64_t by_memory = std::max<int64_t>(1, int64_t(kFilterPartialBytes / grad));
  const int64_t count = std::max<int64_t>(1, std::min<int64_t>({int64_t(s.n), kMaxFilterChunks, by_memory}));
  c.size = (s.n + count - 1) / count;
  c.count = (s.n + c.size - 1) / c.size;
  c.grad_bytes = align64(grad);
  with_team_size_one([&] {
    const Conv2dShape full = with_batch(s, c.size), last = with_batch(s, s.n - (c.count - 1) * c.size);
    const ConvPass pass = ConvPass::backward_filter;
    c.ok = onednn::supports(pass, full) && onednn::supports(pass, last);
    if (c.ok)
      c.onednn_bytes = align64(std::max(onednn::workspace_bytes(pass, full), onednn::workspace_bytes(pass, last)));
  });
  return c;
}

void chunked_backward_filter(const Conv2dShape& s, const FilterChunks& c, const float* x, const float* gy, float* gw,
                             void* ws) {
  const int64_t x_sample = int64_t(s.c) * s.h * s.w, y_sample = int64_t(s.k) * s.out_h * s.out_w;
  char* base = static_cast<char*>(ws);
  auto grad_of = [&](int64_t i) { return i == 0 ? gw : reinterpret_cast<float*>(base + c.grad_at(i)); };
  parallel_for(c.count, true, [&](int64_t i) {
    const int64_t n0 = i * c.size, nb = std::min(c.size, s.n - n0);
    with_team_size_one([&] {
      onednn::run(ConvPass::backward_filter, with_batch(s, nb), x + n0 * x_sample, gy + n0 * y_sample, grad_of(i),
                  base + c.onednn_at(i), c.onednn_bytes);
    });
  });
  const int64_t n = int64_t(s.k) * (s.c / s.groups) * s.kh * s.kw;
  for (int64_t i = 1; i < c.count; ++i) {  // chunk order, each element alike
    const float* part = grad_of(i);
    parallel_for_simd(n, n >= kMinParallelWork, [&](int64_t e) { gw[e] += part[e]; });
  }
}

}  // namespace

bool onednn_available() {
#ifdef GF_WITH_ONEDNN
  return true;
#else
  return false;
#endif
}

ConvImpl conv_impl() {
  int v = g_impl.load();
  if (v < 0) {
    const char* env = std::getenv("GF_CPU_CONV");
    ConvImpl impl = ConvImpl::onednn;
    if (!onednn_available() || (env && !std::strcmp(env, "reference")))
      impl = ConvImpl::reference;
    else if (env && !std::strcmp(env, "onednn-all"))
      impl = ConvImpl::onednn_all;
    v = static_cast<int>(impl);
    int expected = -1;
    if (!g_impl.compare_exchange_strong(expected, v)) v = expected;
  }
  return static_cast<ConvImpl>(v);
}

void set_conv_impl(ConvImpl impl) {
  if (impl != ConvImpl::reference && !onednn_available())
    throw std::invalid_argument("set_conv_impl: this build of ganforge has no oneDNN");
  g_impl.store(static_cast<int>(impl));
}

// oneDNN 2.6's weight gradient (jit:avx512_core, jit_1x1, gemm) gives each
// thread a share of the batch (or of the rows, at batch 1) and adds the
// shares: other bits at 1, 2 and 3 threads from 4x32x32x32 up, and oneDNN
// has no setting that fixes the split (its later deterministic attribute
// promises run-to-run bits in one environment only). `onednn` runs that
// pass in chunks fixed by the shape, one thread each (filter_chunks, above);
// the reference sums each weight in sample order through the GEMM's fixed
// tiles: either way the weight gradient, and with it a training step, gives
// the same bits on any number of threads. Their costs: bench/RESULTS.md.
template <class T>
ConvImpl conv_impl_for(ConvPass pass, const Conv2dShape& s) {
  const ConvImpl impl = conv_impl();
  if (!std::is_same_v<T, float> || impl == ConvImpl::reference) return ConvImpl::reference;
  if (pass == ConvPass::backward_filter && impl == ConvImpl::onednn)
    return filter_chunks(s).ok ? ConvImpl::onednn : ConvImpl::reference;
  return onednn::supports(pass, s) ? ConvImpl::onednn : ConvImpl::reference;
}

namespace {
// The weight gradient in chunks: `onednn`'s (onednn_all runs oneDNN's own).
bool chunked(ConvPass pass) { return pass == ConvPass::backward_filter && conv_impl() == ConvImpl::onednn; }
}  // namespace

// The chunks are planned once per entry point (each plan looks up two oneDNN
// entries), not again through conv_impl_for.
template <class T>
size_t conv2d_workspace_bytes(ConvPass pass, const Conv2dShape& s) {
  if (std::is_same_v<T, float> && chunked(pass)) {
    const FilterChunks c = filter_chunks(s);
    return c.ok ? c.bytes() : col_bytes<T>(s);
  }
  return conv_impl_for<T>(pass, s) == ConvImpl::onednn ? onednn::workspace_bytes(pass, s) : col_bytes<T>(s);
}

namespace {

// One pass through the implementation conv_impl_for picks; a, b, out in the
// order of kernels/conv2d.h.
template <class T>
void run_pass(ConvPass pass, const Conv2dShape& s, const T* a, const T* b, T* out, void* ws, size_t ws_bytes) {
  if constexpr (std::is_same_v<T, float>) {
    if (chunked(pass)) {
      const FilterChunks c = filter_chunks(s);
      if (c.ok) {
        if (ws_bytes < c.bytes()) throw std::invalid_argument("conv2d: workspace smaller than the chunks'");
        return chunked_backward_filter(s, c, a, b, out, ws);
      }
    } else if (conv_impl_for<T>(pass, s) == ConvImpl::onednn) {
      return onednn::run(pass, s, a, b, out, ws, ws_bytes);
    }
  }
  if (ws_bytes < col_bytes<T>(s)) throw std::invalid_argument("conv2d: workspace smaller than the columns");
  T* col = static_cast<T*>(ws);
  switch (pass) {
    case ConvPass::forward: return reference_forward(s, a, b, out, col);
    case ConvPass::backward_data: return reference_backward_data(s, a, b, out, col);
    case ConvPass::backward_filter: return reference_backward_filter(s, a, b, out, col);
  }
}

}  // namespace

template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, T* y, void* ws, size_t ws_bytes) {
  run_pass(ConvPass::forward, s, x, w, y, ws, ws_bytes);
}
template <class T>
void conv2d_backward_data(const Conv2dShape& s, const T* gy, const T* w, T* gx, void* ws, size_t ws_bytes) {
  run_pass(ConvPass::backward_data, s, gy, w, gx, ws, ws_bytes);
}
template <class T>
void conv2d_backward_filter(const Conv2dShape& s, const T* x, const T* gy, T* gw, void* ws, size_t ws_bytes) {
  run_pass(ConvPass::backward_filter, s, x, gy, gw, ws, ws_bytes);
}

#define GF_INSTANTIATE(T)                                                                        \
  template ConvImpl conv_impl_for<T>(ConvPass, const Conv2dShape&);                               \
  template size_t conv2d_workspace_bytes<T>(ConvPass, const Conv2dShape&);                        \
  template void conv2d_forward<T>(const Conv2dShape&, const T*, const T*, T*, void*, size_t);       \
  template void conv2d_backward_data<T>(const Conv2dShape&, const T*, const T*, T*, void*, size_t); \
  template void conv2d_backward_filter<T>(const Conv2dShape&, const T*, const T*, T*, void*, size_t);
GF_INSTANTIATE(float)
GF_INSTANTIATE(double)
#undef GF_INSTANTIATE

}  // namespace gf::cpu
