// Kernels for the emulator's self-tests: one correct kernel per construct
// (barriers, shuffles, votes, shared memory, atomics, vector loads, several
// devices) and one kernel per fault the emulator must report. Plain CUDA C++:
// it compiles under nvcc too.
#include <cuda_runtime.h>

#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "tests/cuda_emu/kernels.h"

namespace emu_test {
namespace {

#define CHECK_CUDA(call)                                                                            \
  do {                                                                                              \
    const cudaError_t e_ = (call);                                                                  \
    if (e_ != cudaSuccess) throw std::runtime_error(std::string(#call) + ": " + cudaGetErrorString(e_)); \
  } while (0)

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  size_t n = 0;
  explicit DeviceBuffer(size_t count) : n(count) { CHECK_CUDA(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T))); }
  explicit DeviceBuffer(const std::vector<T>& v) : DeviceBuffer(v.size()) {
    CHECK_CUDA(cudaMemcpy(p, v.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(p); }
  std::vector<T> get() const {
    std::vector<T> v(n);
    CHECK_CUDA(cudaMemcpy(v.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost));
    return v;
  }
};

// ---- correct constructs ----

template <bool kBarrier>
__global__ void block_sum_kernel(const float* x, float* y) {
  __shared__ float part[8][32];
  const int t = threadIdx.y * 32 + threadIdx.x;
  part[threadIdx.y][threadIdx.x] = x[t];
  if (kBarrier) __syncthreads();
  if (t == 0) {
    float s = 0;
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 32; ++c) s += part[r][c];
    y[0] = s;
  }
}

__global__ void warp_shuffle_kernel(const float* x, float* xor_sum, float* down_sum, float* scan, float* bcast) {
  const int i = threadIdx.x, lane = i & 31;
  const float v = x[i];
  float s = v;
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
  xor_sum[i] = s;
  float d = v;
  for (int o = 16; o > 0; o >>= 1) d += __shfl_down_sync(0xffffffffu, d, o);
  down_sum[i] = d;  // the warp's total in lane 0 only
  float p = v;
  for (int o = 1; o < 32; o <<= 1) {
    const float u = __shfl_up_sync(0xffffffffu, p, o);
    if (lane >= o) p += u;
  }
  scan[i] = p;
  bcast[i] = __shfl_sync(0xffffffffu, v, 3, 16);
}

__global__ void xor_segments_kernel(const float* x, float* y) {
  y[threadIdx.x] = __shfl_xor_sync(0xffffffffu, x[threadIdx.x], 16, 16);
}

__global__ void min_max_kernel(const float* a, const float* b, float* mn, float* mx) {
  const int i = threadIdx.x;
  mn[i] = min(a[i], b[i]);
  mx[i] = max(a[i], b[i]);
}

__global__ void partial_warp_kernel(const float* x, float* y) {
  const int i = threadIdx.x;
  // Threads 32..47 form a warp of 16 lanes: their mask names exactly those.
  const unsigned mask = i < 32 ? 0xffffffffu : 0x0000ffffu;
  const int width = i < 32 ? 32 : 16;
  float s = x[i];
  for (int o = width / 2; o > 0; o >>= 1) s += __shfl_xor_sync(mask, s, o, width);
  y[i] = s;
}

__global__ void vote_kernel(const int* pred, unsigned* ballot, int* any, int* all, int* block) {
  const int i = threadIdx.x;
  const int p = pred[i];
  ballot[i] = __ballot_sync(0xffffffffu, p);
  any[i] = __any_sync(0xffffffffu, p);
  all[i] = __all_sync(0xffffffffu, p);
  __syncwarp();
  const int c = __syncthreads_count(p), a = __syncthreads_and(p), o = __syncthreads_or(p);
  if (i == 0) {
    block[0] = c;
    block[1] = a;
    block[2] = o;
  }
}

__global__ void reverse_kernel(const float* x, float* y, int n) {
  extern __shared__ float buf[];
  for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = x[i];
  __syncthreads();
  for (int i = threadIdx.x; i < n; i += blockDim.x) y[i] = buf[n - 1 - i];
}

__global__ void atomics_kernel(long long* int_sum, float* float_sum, int* max, unsigned* cas_count,
                               double* double_sum) {
  const int g = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(reinterpret_cast<unsigned long long*>(int_sum), static_cast<unsigned long long>(g));
  atomicAdd(float_sum, static_cast<float>(g % 7));
  atomicMax(max, (g * 37) % 8191);
  unsigned old = *cas_count, seen;
  do {
    seen = old;
    old = atomicCAS(cas_count, seen, seen + 1);
  } while (old != seen);
  atomicAdd(double_sum, 0.5);
}

__global__ void vector_load_kernel(const float* x, float* y) {
  const int i = threadIdx.x;
  const float4 v = reinterpret_cast<const float4*>(x)[i];
  reinterpret_cast<float4*>(y)[i] = make_float4(2 * v.x, 2 * v.y, 2 * v.z, 2 * v.w);
}

__global__ void ids_kernel(int* out) {
  const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const int local = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const int id = block * blockDim.x * blockDim.y * blockDim.z + local;
  out[id] = id;
}

__global__ void double_kernel(float* x, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] *= 2;
}

// ---- faults ----

__global__ void divergent_barrier_kernel(float* y) {
  if (threadIdx.x < 100) __syncthreads();  // threads 100..127 never arrive
  y[threadIdx.x] = 1;
}

__global__ void two_barriers_kernel(float* y) {
  if (threadIdx.x % 2) {
    __syncthreads();
  } else {
    __syncthreads();  // another barrier: odd and even threads wait at different ones
  }
  y[threadIdx.x] = 1;
}

__global__ void early_return_kernel(float* y) {
  if (threadIdx.x == 0) return;
  __syncthreads();  // thread 0 has returned
  y[threadIdx.x] = 1;
}

__global__ void partial_warp_full_mask_kernel(float* y) {
  float s = y[threadIdx.x];
  for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);  // 48 threads: lanes 48..63 do not exist
  y[threadIdx.x] = s;
}

__global__ void outside_mask_kernel(float* y) {
  // Every lane calls, but the mask names only the low 16.
  y[threadIdx.x] = __shfl_sync(0x0000ffffu, y[threadIdx.x], 0);
}

__global__ void reads_outside_mask_kernel(float* y) {
  if (threadIdx.x < 16) y[threadIdx.x] = __shfl_sync(0x0000ffffu, y[threadIdx.x], 20);  // lane 20 is not in the mask
}

__global__ void shuffle_deadlock_kernel(float* y) {
  if (threadIdx.x == 0) {
    y[0] = __shfl_sync(0x3u, y[0], 1);  // waits for lane 1 ...
  } else if (threadIdx.x == 1) {
    __syncthreads();  // ... which waits at a barrier that lane 0 never reaches
  }
}

__global__ void off_by_one_kernel(const float* x, float* y, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i <= n; i += gridDim.x * blockDim.x) y[i] = 2 * x[i % n];
}

__global__ void shared_overrun_kernel(float* y) {
  __shared__ float s[32];
  float* p = s;  // through a pointer, as most kernels index shared memory (UBSan sees no array bound)
  p[threadIdx.x] = 1;  // launched with 33 threads
  __syncthreads();
  y[threadIdx.x] = s[threadIdx.x];
}

template <class T, int V>
struct alignas(sizeof(T) * V) Pack {
  T v[V];
};

__global__ void misaligned_load_kernel(const float* x, float* y) {
  // x + 1 is 4 bytes past a 256-byte boundary: a 16-byte load from it is a misaligned-address fault on a GPU.
  const Pack<float, 4> p = *reinterpret_cast<const Pack<float, 4>*>(x + 1 + 4 * threadIdx.x);
  y[threadIdx.x] = p.v[0];
}

std::string launch_status() {
  const cudaError_t e = cudaGetLastError();
  return cudaGetErrorName(e);
}

}  // namespace

// ---- host entry points: correct constructs ----

float block_sum(const std::vector<float>& x, bool with_barrier) {
  DeviceBuffer<float> dx(x), dy(1);
  if (with_barrier) block_sum_kernel<true><<<1, dim3(32, 8)>>>(dx.p, dy.p);
  else block_sum_kernel<false><<<1, dim3(32, 8)>>>(dx.p, dy.p);
  CHECK_CUDA(cudaGetLastError());
  return dy.get()[0];
}

WarpResults warp_shuffles(const std::vector<float>& x) {
  DeviceBuffer<float> dx(x), a(x.size()), b(x.size()), c(x.size()), d(x.size());
  warp_shuffle_kernel<<<1, static_cast<unsigned>(x.size())>>>(dx.p, a.p, b.p, c.p, d.p);
  CHECK_CUDA(cudaGetLastError());
  return {a.get(), b.get(), c.get(), d.get()};
}

std::vector<float> xor_across_segments(const std::vector<float>& x) {
  DeviceBuffer<float> dx(x), dy(x.size());
  xor_segments_kernel<<<1, static_cast<unsigned>(x.size())>>>(dx.p, dy.p);
  CHECK_CUDA(cudaGetLastError());
  return dy.get();
}

std::pair<std::vector<float>, std::vector<float>> float_min_max(const std::vector<float>& a, const std::vector<float>& b) {
  DeviceBuffer<float> da(a), db(b), mn(a.size()), mx(a.size());
  min_max_kernel<<<1, static_cast<unsigned>(a.size())>>>(da.p, db.p, mn.p, mx.p);
  CHECK_CUDA(cudaGetLastError());
  return {mn.get(), mx.get()};
}

std::vector<float> partial_warp_sum(const std::vector<float>& x) {
  DeviceBuffer<float> dx(x), dy(x.size());
  partial_warp_kernel<<<1, 48>>>(dx.p, dy.p);
  CHECK_CUDA(cudaGetLastError());
  return dy.get();
}

Votes votes(const std::vector<int>& pred) {
  DeviceBuffer<int> dp(pred), any(pred.size()), all(pred.size()), block(3);
  DeviceBuffer<unsigned> ballot(pred.size());
  vote_kernel<<<1, static_cast<unsigned>(pred.size())>>>(dp.p, ballot.p, any.p, all.p, block.p);
  CHECK_CUDA(cudaGetLastError());
  const std::vector<int> b = block.get();
  return {ballot.get(), any.get(), all.get(), b[0], b[1], b[2]};
}

std::vector<float> reverse_through_dynamic_shared(const std::vector<float>& x, size_t bytes, bool opt_in) {
  DeviceBuffer<float> dx(x), dy(x.size());
  if (opt_in) CHECK_CUDA(cudaFuncSetAttribute(reverse_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  reverse_kernel<<<1, 128, bytes>>>(dx.p, dy.p, static_cast<int>(x.size()));
  CHECK_CUDA(cudaGetLastError());
  return dy.get();
}

Atomics atomics() {
  DeviceBuffer<long long> int_sum(1);
  DeviceBuffer<float> float_sum(1);
  DeviceBuffer<int> max(1);
  DeviceBuffer<unsigned> cas(1);
  DeviceBuffer<double> dsum(1);
  CHECK_CUDA(cudaMemset(int_sum.p, 0, sizeof(long long)));
  CHECK_CUDA(cudaMemset(float_sum.p, 0, sizeof(float)));
  CHECK_CUDA(cudaMemset(max.p, 0, sizeof(int)));
  CHECK_CUDA(cudaMemset(cas.p, 0, sizeof(unsigned)));
  CHECK_CUDA(cudaMemset(dsum.p, 0, sizeof(double)));
  atomics_kernel<<<64, 128>>>(int_sum.p, float_sum.p, max.p, cas.p, dsum.p);
  CHECK_CUDA(cudaGetLastError());
  return {int_sum.get()[0], float_sum.get()[0], max.get()[0], cas.get()[0], dsum.get()[0]};
}

std::vector<float> vector_load(const std::vector<float>& x) {
  DeviceBuffer<float> dx(x), dy(x.size());
  vector_load_kernel<<<1, static_cast<unsigned>(x.size() / 4)>>>(dx.p, dy.p);
  CHECK_CUDA(cudaGetLastError());
  return dy.get();
}

std::vector<int> thread_ids() {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  DeviceBuffer<int> out(3 * 2 * 2 * 4 * 3 * 2);
  ids_kernel<<<grid, block>>>(out.p);
  CHECK_CUDA(cudaGetLastError());
  return out.get();
}

std::vector<float> double_on_device(const std::vector<float>& x, int device, int peer) {
  int before = 0;
  CHECK_CUDA(cudaGetDevice(&before));
  CHECK_CUDA(cudaSetDevice(device));
  cudaStream_t s = nullptr;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  DeviceBuffer<float> dx(x);
  double_kernel<<<2, 64, 0, s>>>(dx.p, static_cast<int>(x.size()));
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaSetDevice(peer));
  DeviceBuffer<float> dp(x.size());
  CHECK_CUDA(cudaMemcpyPeerAsync(dp.p, peer, dx.p, device, x.size() * sizeof(float), s));
  CHECK_CUDA(cudaStreamSynchronize(s));
  std::vector<float> r = dp.get();
  CHECK_CUDA(cudaStreamDestroy(s));
  CHECK_CUDA(cudaSetDevice(before));
  return r;
}

int device_seen_by_other_thread(int device) {
  CHECK_CUDA(cudaSetDevice(device));
  int seen = -1;
  std::thread([&] { cudaGetDevice(&seen); }).join();
  CHECK_CUDA(cudaSetDevice(0));
  return seen;
}

// ---- host entry points: faults ----

std::vector<std::string> fault_names() {
  return {"divergent_barrier", "two_barriers", "early_return", "partial_warp_shuffle", "shuffle_outside_mask",
          "shuffle_reads_outside_mask", "shuffle_deadlock", "block_too_large", "grid_y_too_large",
          "block_z_too_large", "dynamic_shared_over_limit", "stream_of_other_device", "out_of_bounds_write",
          "shared_overrun", "misaligned_vector_load", "device_pointer_as_host_source",
          "device_pointer_as_host_destination", "copy_overruns_allocation", "host_pointer_to_kernel",
          "memset_overrun", "host_reads_device_memory", "host_writes_device_memory", "out_of_bounds_write_in_page"};
}

std::string run_fault(const std::string& name) {
  DeviceBuffer<float> x(1024), y(1024);
  std::vector<float> h(1024, 1.0f);
  CHECK_CUDA(cudaMemcpy(x.p, h.data(), sizeof(float) * 1024, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(y.p, h.data(), sizeof(float) * 1024, cudaMemcpyHostToDevice));
  if (name == "divergent_barrier") divergent_barrier_kernel<<<1, 128>>>(y.p);
  else if (name == "two_barriers") two_barriers_kernel<<<1, 64>>>(y.p);
  else if (name == "early_return") early_return_kernel<<<1, 64>>>(y.p);
  else if (name == "partial_warp_shuffle") partial_warp_full_mask_kernel<<<1, 48>>>(y.p);
  else if (name == "shuffle_outside_mask") outside_mask_kernel<<<1, 32>>>(y.p);
  else if (name == "shuffle_reads_outside_mask") reads_outside_mask_kernel<<<1, 32>>>(y.p);
  else if (name == "shuffle_deadlock") shuffle_deadlock_kernel<<<1, 2>>>(y.p);
  else if (name == "block_too_large") divergent_barrier_kernel<<<1, 2048>>>(y.p);
  else if (name == "grid_y_too_large") divergent_barrier_kernel<<<dim3(1, 70000), 128>>>(y.p);
  else if (name == "block_z_too_large") divergent_barrier_kernel<<<1, dim3(1, 1, 65)>>>(y.p);
  else if (name == "dynamic_shared_over_limit") reverse_kernel<<<1, 128, 64 * 1024>>>(x.p, y.p, 16);
  else if (name == "stream_of_other_device") {
    cudaStream_t s = nullptr;
    CHECK_CUDA(cudaSetDevice(1));
    CHECK_CUDA(cudaStreamCreate(&s));
    CHECK_CUDA(cudaSetDevice(0));
    double_kernel<<<1, 32, 0, s>>>(y.p, 32);  // a launch runs on the current device, not the stream's
    const std::string r = launch_status();
    CHECK_CUDA(cudaStreamDestroy(s));
    return r;
  } else if (name == "out_of_bounds_write") {
    off_by_one_kernel<<<4, 256>>>(x.p, y.p, 1024);
  } else if (name == "out_of_bounds_write_in_page") {
    // 100 floats: the byte past the end lies in the allocation's last page,
    // poisoned for ASan by cudaMalloc (a whole page: 1024 floats, past it).
    DeviceBuffer<float> z(100);
    off_by_one_kernel<<<1, 128>>>(x.p, z.p, 100);
    return launch_status();
  } else if (name == "shared_overrun") {
    shared_overrun_kernel<<<1, 33>>>(y.p);
  } else if (name == "misaligned_vector_load") {
    misaligned_load_kernel<<<1, 32>>>(x.p, y.p);
  } else if (name == "device_pointer_as_host_source") {
    return cudaGetErrorName(cudaMemcpy(y.p, x.p, 64, cudaMemcpyHostToDevice));  // x is device memory
  } else if (name == "device_pointer_as_host_destination") {
    return cudaGetErrorName(cudaMemcpy(y.p, x.p, 64, cudaMemcpyDeviceToHost));  // y is device memory
  } else if (name == "copy_overruns_allocation") {
    return cudaGetErrorName(cudaMemcpy(h.data(), x.p + 1000, 100 * sizeof(float), cudaMemcpyDeviceToHost));
  } else if (name == "memset_overrun") {
    return cudaGetErrorName(cudaMemset(y.p + 1, 0, 1024 * sizeof(float)));
  } else if (name == "host_pointer_to_kernel") {
    double_kernel<<<1, 32>>>(h.data(), 32);
  } else if (name == "host_reads_device_memory") {
    const volatile float* d = x.p;  // a device pointer dereferenced on the host (a crash on a GPU)
    return std::to_string(d[3]);
  } else if (name == "host_writes_device_memory") {
    volatile float* d = y.p;
    d[1000] = 2.0f;
    return "written";
  } else {
    throw std::runtime_error("no fault named " + name);
  }
  return launch_status();
}

}  // namespace emu_test
