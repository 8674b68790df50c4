// The device side of CUDA C++ for the CPU emulator: force-included (-include)
// into every kernels/*.cu that tools/cuda_emu/rewrite.cpp has turned into C++.
// Each CUDA thread runs as a fiber, a block at a time, so __syncthreads and
// the warp intrinsics keep their CUDA meaning (a barrier waits for the whole
// block, a shuffle for the lanes in its mask) and the emulator can check how
// they are used. Qualifiers vanish; builtins read the running fiber's state.
#pragma once
#include <cuda_runtime.h>

#include <cassert>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <tuple>
#include <type_traits>
#include <utility>

#ifndef __CUDACC__
#define __CUDACC__ 1
#endif
// Device code paths are the ones under test, so they are compiled in (sm_90,
// the architecture CI builds for); g++ compiles one pass for host and device.
#ifndef __CUDA_ARCH__
#define __CUDA_ARCH__ 900
#endif

#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
// __noinline__ is left undefined: libstdc++ spells its own attribute __attribute__((__noinline__)), which a macro would break.
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
// A __shared__ that rewrite.cpp did not turn into per-block storage (it
// rewrites every declaration it sees) must not compile silently.
#define __shared__ static_assert(false, "gfemu: __shared__ declaration not rewritten (see tools/cuda_emu/rewrite.cpp)");

inline constexpr int warpSize = 32;

// ---- builtin variables: set by the scheduler for the running fiber ----
extern __thread uint3 threadIdx;
extern __thread uint3 blockIdx;
extern __thread dim3 blockDim;
extern __thread dim3 gridDim;

namespace gfemu {

// ---- barriers and warp-level operations (scheduler.cpp) ----
enum class WarpOp : int { shfl_idx, shfl_up, shfl_down, shfl_xor, sync, ballot, any, all };
enum class BarrierOp : int { sync, count, and_, or_ };

// Waits until every thread of the block has arrived at this same barrier;
// returns the block-wide count / and / or of `pred` for the _count/_and/_or forms.
int barrier(BarrierOp op, int pred, const char* file, int line);
// The lanes in `mask` meet; each posts `value` (for shuffles) and gets the
// value of the lane its own `arg`/`width` select, or the vote over the mask.
uint64_t warp_op(WarpOp op, unsigned mask, uint64_t value, int arg, int width, const char* file, int line);
unsigned active_mask();
unsigned lane_id();

template <class T>
T shuffle(WarpOp op, unsigned mask, T v, int arg, int width, const char* file, int line) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "gfemu: shuffle of a type over 8 bytes");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  bits = warp_op(op, mask, bits, arg, width, file, line);
  T r;
  std::memcpy(&r, &bits, sizeof(T));
  return r;
}

// ---- shared memory ----
// Changes whenever a block starts on this host thread: a __shared__ variable
// seen with an older serial belongs to a finished block and is re-poisoned.
extern __thread unsigned long long block_serial;
void* dynamic_shared();
void poison(void* p, size_t bytes);  // fills with 0xFF bytes: NaN for float and double
void count_static_shared(size_t bytes, const char* name);

// Storage of one __shared__ variable for the block running on this host
// thread. Allocated at its exact size, so ASan sees an index past the end;
// poisoned at the start of every block, so a read before any write gives NaN.
template <class T>
class SharedVar {
 public:
  explicit SharedVar(const char* name) : name_(name) {}
  ~SharedVar() { ::operator delete(p_, std::align_val_t(kAlign)); }
  SharedVar(const SharedVar&) = delete;
  SharedVar& operator=(const SharedVar&) = delete;
  T& get() {
    if (serial_ != block_serial) {
      if (!p_) p_ = ::operator new(sizeof(T), std::align_val_t(kAlign));
      poison(p_, sizeof(T));
      count_static_shared(sizeof(T), name_);
      serial_ = block_serial;
    }
    return *static_cast<T*>(p_);
  }

 private:
  static constexpr size_t kAlign = alignof(T) > 16 ? alignof(T) : 16;
  const char* name_;
  void* p_ = nullptr;
  unsigned long long serial_ = ~0ull;
};

// ---- launches ----
struct LaunchConfig {
  dim3 grid, block;
  size_t shared_bytes = 0;
  cudaStream_t stream = nullptr;
};
inline LaunchConfig launch_config(dim3 grid, dim3 block, size_t shared_bytes = 0, cudaStream_t stream = nullptr) {
  return {grid, block, shared_bytes, stream};
}

// Checks the configuration as a GPU does (a bad one sets the error
// cudaGetLastError returns, and nothing runs), then check(ctx) (the
// parameters), then runs body(ctx) once per thread of the grid; returns when
// the grid has finished.
void run_grid(const LaunchConfig& cfg, const char* kernel, const char* file, int line, void (*body)(void*),
              void (*check)(void*), void* ctx);
// A pointer parameter must point into memory the launching device can reach:
// its own allocations, a peer's with access enabled, or pinned host memory.
void check_pointer_param(const void* p, size_t index, const char* kernel);

template <class T>
void check_param(const T& v, size_t index, const char* kernel) {
  if constexpr (std::is_pointer<T>::value) check_pointer_param(reinterpret_cast<const void*>(v), index, kernel);
}

// `call` invokes the kernel with the parameters. They are copied once, when
// the launch is made (as the driver copies them to the GPU), and every thread
// calls the kernel with them: by-value parameters give each thread its copy.
template <class F, class... A>
void launch(const LaunchConfig& cfg, const char* kernel, const char* file, int line, F call, A&&... args) {
  using Params = std::tuple<std::decay_t<A>...>;
  Params params(std::forward<A>(args)...);
  struct Ctx {
    F* call;
    Params* params;
    const char* kernel;
  } ctx{&call, &params, kernel};
  run_grid(
      cfg, kernel, file, line,
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        std::apply(*c->call, *c->params);
      },
      [](void* p) {
        auto* c = static_cast<Ctx*>(p);
        std::apply([&](const auto&... v) {
          size_t i = 0;
          (check_param(v, i++, c->kernel), ...);
        }, *c->params);
      },
      &ctx);
}

// Source lane of a shuffle, as the CUDA programming guide defines it within
// segments of `width` lanes; -1 means "the caller's own value".
inline int source_lane(WarpOp op, int lane, int arg, int width) {
  const int base = lane & ~(width - 1), pos = lane & (width - 1);
  switch (op) {
    case WarpOp::shfl_idx: return base + (arg & (width - 1));
    case WarpOp::shfl_up: return pos - arg < 0 ? -1 : lane - arg;
    case WarpOp::shfl_down: return pos + arg >= width ? -1 : lane + arg;
    case WarpOp::shfl_xor: {
      // PTX's shfl.sync.bfly: valid while s <= the segment's last lane, so a
      // lane may read from an earlier segment; only a later one gives its own value.
      const int s = lane ^ arg;
      return s >= base + width ? -1 : s;
    }
    default: return -1;
  }
}

// ---- atomics ----
// Fibers of one host thread never interleave inside a call, so these would be
// atomic among emulated threads anyway; the __atomic builtins keep them so
// when two host threads run kernels at once.
template <class T>
T atomic_rmw_float(T* p, T v, int op) {  // op 0: add, 1: min, 2: max, 3: exchange
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  U* q = reinterpret_cast<U*>(p);
  U old = __atomic_load_n(q, __ATOMIC_RELAXED);
  for (;;) {
    T o, n;
    std::memcpy(&o, &old, sizeof(T));
    n = op == 0 ? o + v : op == 1 ? (v < o ? v : o) : op == 2 ? (v > o ? v : o) : v;
    U nb;
    std::memcpy(&nb, &n, sizeof(T));
    if (__atomic_compare_exchange_n(q, &old, nb, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) return o;
  }
}

}  // namespace gfemu

// ---- barriers, warp intrinsics ----
#define __syncthreads() ((void)::gfemu::barrier(::gfemu::BarrierOp::sync, 1, __FILE__, __LINE__))
#define __syncthreads_count(p) ::gfemu::barrier(::gfemu::BarrierOp::count, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(p) ::gfemu::barrier(::gfemu::BarrierOp::and_, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_or(p) ::gfemu::barrier(::gfemu::BarrierOp::or_, (p) ? 1 : 0, __FILE__, __LINE__)
// The optional width (shuffles) and mask (__syncwarp) arguments.
namespace gfemu {
constexpr int width_arg() { return 32; }
constexpr int width_arg(int w) { return w; }
constexpr unsigned mask_arg() { return 0xffffffffu; }
constexpr unsigned mask_arg(unsigned m) { return m; }
}  // namespace gfemu
#define GFEMU_WIDTH(...) ::gfemu::width_arg(__VA_ARGS__)
#define __shfl_sync(mask, v, src, ...) \
  ::gfemu::shuffle(::gfemu::WarpOp::shfl_idx, mask, v, src, GFEMU_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_up_sync(mask, v, delta, ...) \
  ::gfemu::shuffle(::gfemu::WarpOp::shfl_up, mask, v, delta, GFEMU_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_down_sync(mask, v, delta, ...) \
  ::gfemu::shuffle(::gfemu::WarpOp::shfl_down, mask, v, delta, GFEMU_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_xor_sync(mask, v, lane_mask, ...) \
  ::gfemu::shuffle(::gfemu::WarpOp::shfl_xor, mask, v, lane_mask, GFEMU_WIDTH(__VA_ARGS__), __FILE__, __LINE__)
#define __syncwarp(...) \
  ((void)::gfemu::warp_op(::gfemu::WarpOp::sync, ::gfemu::mask_arg(__VA_ARGS__), 0, 0, 32, __FILE__, __LINE__))
#define __ballot_sync(mask, p) \
  static_cast<unsigned>(::gfemu::warp_op(::gfemu::WarpOp::ballot, mask, (p) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __any_sync(mask, p) \
  static_cast<int>(::gfemu::warp_op(::gfemu::WarpOp::any, mask, (p) ? 1 : 0, 0, 32, __FILE__, __LINE__))
#define __all_sync(mask, p) \
  static_cast<int>(::gfemu::warp_op(::gfemu::WarpOp::all, mask, (p) ? 1 : 0, 0, 32, __FILE__, __LINE__))
inline unsigned __activemask() { return ::gfemu::active_mask(); }
inline void __threadfence() {}  // one fiber runs at a time: every write is already visible
inline void __threadfence_block() {}
inline void __threadfence_system() {}

// ---- loads through the read-only path: plain loads here ----
template <class T>
inline T __ldg(const T* p) { return *p; }
template <class T>
inline T __ldcg(const T* p) { return *p; }
template <class T>
inline T __ldcs(const T* p) { return *p; }
template <class T>
inline void __stcs(T* p, T v) { *p = v; }
template <class T>
inline void __stcg(T* p, T v) { *p = v; }

// ---- integer and bit intrinsics ----
inline unsigned __umulhi(unsigned a, unsigned b) { return static_cast<unsigned>((uint64_t(a) * b) >> 32); }
inline int __mulhi(int a, int b) { return static_cast<int>((int64_t(a) * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned __brev(unsigned x) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((x >> i) & 1u) << (31 - i);
  return r;
}
inline int __float_as_int(float x) { int r; std::memcpy(&r, &x, 4); return r; }
inline float __int_as_float(int x) { float r; std::memcpy(&r, &x, 4); return r; }
inline unsigned __float_as_uint(float x) { unsigned r; std::memcpy(&r, &x, 4); return r; }
inline float __uint_as_float(unsigned x) { float r; std::memcpy(&r, &x, 4); return r; }
inline long long __double_as_longlong(double x) { long long r; std::memcpy(&r, &x, 8); return r; }
inline double __longlong_as_double(long long x) { double r; std::memcpy(&r, &x, 8); return r; }

// ---- float intrinsics: correctly rounded ones exactly, fast ones as their accurate versions ----
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dsub_rn(double a, double b) { return a - b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __ddiv_rn(double a, double b) { return a / b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
inline double __dsqrt_rn(double a) { return std::sqrt(a); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float __powf(float a, float b) { return std::pow(a, b); }
inline float __saturatef(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float rcbrtf(float x) { return 1.0f / std::cbrt(x); }
inline double rcbrt(double x) { return 1.0 / std::cbrt(x); }
inline int __float2int_rn(float x) { return static_cast<int>(std::nearbyint(x)); }
inline int __float2int_rz(float x) { return static_cast<int>(x); }
inline int __float2int_rd(float x) { return static_cast<int>(std::floor(x)); }
inline int __float2int_ru(float x) { return static_cast<int>(std::ceil(x)); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }

// CUDA's global min/max overloads (integer and floating, mixed types widened).
// The floating ones are fminf/fmaxf (fmin/fmax): a NaN loses to a number.
template <class A, class B>
inline std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>) return std::fmin(C(a), C(b));
  else return b < a ? b : a;
}
template <class A, class B>
inline std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  if constexpr (std::is_floating_point_v<C>) return std::fmax(C(a), C(b));
  else return a < b ? b : a;
}

// ---- atomics (old value returned, as in CUDA) ----
#define GFEMU_INT_ATOMICS(T)                                                                              \
  inline T atomicAdd(T* p, T v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }                    \
  inline T atomicSub(T* p, T v) { return __atomic_fetch_sub(p, v, __ATOMIC_SEQ_CST); }                    \
  inline T atomicExch(T* p, T v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }                  \
  inline T atomicAnd(T* p, T v) { return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST); }                    \
  inline T atomicOr(T* p, T v) { return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST); }                      \
  inline T atomicXor(T* p, T v) { return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST); }                    \
  inline T atomicCAS(T* p, T expected, T desired) {                                                       \
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);        \
    return expected;                                                                                      \
  }                                                                                                       \
  inline T atomicMin(T* p, T v) {                                                                         \
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);                                                         \
    while (v < old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) \
      ;                                                                                                   \
    return old;                                                                                           \
  }                                                                                                       \
  inline T atomicMax(T* p, T v) {                                                                         \
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);                                                         \
    while (v > old && !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) \
      ;                                                                                                   \
    return old;                                                                                           \
  }
GFEMU_INT_ATOMICS(int)
GFEMU_INT_ATOMICS(unsigned)
GFEMU_INT_ATOMICS(unsigned long long)
GFEMU_INT_ATOMICS(long long)
#undef GFEMU_INT_ATOMICS
inline float atomicAdd(float* p, float v) { return gfemu::atomic_rmw_float(p, v, 0); }
inline double atomicAdd(double* p, double v) { return gfemu::atomic_rmw_float(p, v, 0); }
inline float atomicExch(float* p, float v) { return gfemu::atomic_rmw_float(p, v, 3); }
inline float atomicMin(float* p, float v) { return gfemu::atomic_rmw_float(p, v, 1); }
inline float atomicMax(float* p, float v) { return gfemu::atomic_rmw_float(p, v, 2); }
// atomicInc/atomicDec wrap at `limit` as CUDA defines them.
inline unsigned atomicInc(unsigned* p, unsigned limit) {
  unsigned old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &old, old >= limit ? 0u : old + 1, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
    ;
  return old;
}
inline unsigned atomicDec(unsigned* p, unsigned limit) {
  unsigned old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(p, &old, (old == 0 || old > limit) ? limit : old - 1, false, __ATOMIC_SEQ_CST,
                                      __ATOMIC_RELAXED))
    ;
  return old;
}
