#include <mutex>
#include <new>
#include <vector>

#include "kernels/cublas_loader.h"
#include "kernels/cuda_context.cuh"

namespace gf::cuda {
namespace {

struct DeviceState {
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnHandle_t cudnn = nullptr;
};

std::mutex g_mutex;
// The calling thread's current device as this file last set it, so that
// making a device current before every launch costs a compare.
thread_local int t_current = -1;
std::vector<DeviceState>& states() {
  static std::vector<DeviceState> s(static_cast<size_t>(device_count()));
  return s;
}

DeviceState& state(int device) {
  auto& s = states();
  if (device < 0 || device >= static_cast<int>(s.size()))
    throw std::runtime_error("CUDA device " + std::to_string(device) + " does not exist (" +
                             std::to_string(s.size()) + " found)");
  return s[static_cast<size_t>(device)];
}

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no driver" error
    return 0;
  }
  return n;
}

bool available() { return device_count() > 0; }

std::string device_name(int device) {
  cudaDeviceProp p{};
  GF_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
  return p.name;
}

void set_device(int device) {
  if (t_current != device) {
    GF_CUDA_CHECK(cudaSetDevice(device));
    t_current = device;
  }
}

// Kernels, cuBLAS and cuDNN run only on the current device, so asking for a
// device's stream makes that device current: every op gets its stream first,
// and tensors on several devices (data-parallel replicas) then just work.
cudaStream_t cuda_stream(int device) {
  std::lock_guard<std::mutex> lock(g_mutex);
  DeviceState& s = state(device);
  set_device(device);
  if (!s.stream) GF_CUDA_CHECK(cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking));
  return s.stream;
}

Stream stream(int device) { return cuda_stream(device); }

// cuBLAS is loaded here, at its first use (kernels/cublas_loader.h).
cublasHandle_t cublas_handle(int device) {
  const CublasApi& api = cublas_api();
  cudaStream_t st = cuda_stream(device);
  std::lock_guard<std::mutex> lock(g_mutex);
  DeviceState& s = state(device);
  if (!s.cublas) {
    GF_CUDA_CHECK(api.create(&s.cublas));
    GF_CUDA_CHECK(api.set_stream(s.cublas, st));
  }
  return s.cublas;
}

cudnnHandle_t cudnn_handle(int device) {
  cudaStream_t st = cuda_stream(device);
  std::lock_guard<std::mutex> lock(g_mutex);
  DeviceState& s = state(device);
  if (!s.cudnn) {
    GF_CUDA_CHECK(cudnnCreate(&s.cudnn));
    GF_CUDA_CHECK(cudnnSetStream(s.cudnn, st));
  }
  return s.cudnn;
}

void synchronize(int device) { GF_CUDA_CHECK(cudaStreamSynchronize(cuda_stream(device))); }

void* raw_malloc(size_t bytes, int device) {
  set_device(device);
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    throw std::bad_alloc();  // the caching allocator frees its cache and retries
  }
  GF_CUDA_CHECK(e);
  return p;
}

void raw_free(void* p, int device) {
  set_device(device);
  GF_CUDA_CHECK(cudaFree(p));
}

void copy(void* dst, const void* src, size_t bytes, CopyKind kind, int device) {
  if (bytes == 0) return;
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  cudaStream_t st = cuda_stream(device);
  GF_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, k, st));
  // Host buffers are pageable and may be freed by the caller right after.
  if (kind != CopyKind::DeviceToDevice) GF_CUDA_CHECK(cudaStreamSynchronize(st));
}

void copy_peer(void* dst, int dst_device, const void* src, int src_device, size_t bytes) {
  if (bytes == 0) return;
  GF_CUDA_CHECK(cudaStreamSynchronize(cuda_stream(src_device)));
  cudaStream_t st = cuda_stream(dst_device);
  GF_CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device, src, src_device, bytes, st));
  GF_CUDA_CHECK(cudaStreamSynchronize(st));
}

void enable_peer_access(int device, int peer) {
  int can = 0;
  GF_CUDA_CHECK(cudaDeviceCanAccessPeer(&can, device, peer));
  if (!can) return;
  set_device(device);
  const cudaError_t e = cudaDeviceEnablePeerAccess(peer, 0);
  if (e == cudaErrorPeerAccessAlreadyEnabled || e == cudaErrorTooManyPeers) {
    cudaGetLastError();  // already on, or out of peer slots: copies are staged instead
    return;
  }
  GF_CUDA_CHECK(e);
}

void memset_zero(void* dst, size_t bytes, int device) { fill_bytes(dst, 0, bytes, device); }

void fill_bytes(void* dst, unsigned char value, size_t bytes, int device) {
  if (bytes) GF_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, cuda_stream(device)));
}

}  // namespace gf::cuda
