// What the emulator's parts share: diagnostics, the device memory map, the
// current device, streams.
#pragma once
#include <cuda_runtime.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace gfemu {

// A fault a GPU would turn into a hang, a crash or undefined results: one
// line on stderr naming it ("gfemu: ..."), then abort().
[[noreturn]] void die(const std::string& message);
// An error the real API returns: recorded for cudaGetLastError and, unless
// `quiet`, explained on stderr. Returns `e`.
cudaError_t api_error(cudaError_t e, const std::string& message, bool quiet = false);
std::string format_ptr(const void* p);

// ---- devices ----
int device_count();          // GFEMU_DEVICES, default 1
int sm_count();              // GFEMU_SMS, default 4
int current_device();        // of the calling host thread
bool peer_enabled(int device, int peer);
constexpr size_t kSharedPerBlock = 48 * 1024;         // without an opt-in
constexpr size_t kSharedPerBlockOptin = 227 * 1024;  // sm_90's opt-in maximum
size_t shared_optin_limit();  // the largest cudaFuncSetAttribute opt-in seen (see cudaFuncSetAttribute)

// ---- device memory ----
struct Allocation {
  uintptr_t base = 0;
  size_t bytes = 0;
  int device = -1;  // -1: pinned host memory (cudaMallocHost)
  // Device memory: its pages are inaccessible to host code outside device
  // work (DeviceAccess); false once the kernel refused (its map limit).
  bool guarded = true;
  bool open = false;  // guarded and accessible now, until the last DeviceAccess ends
};
// The device allocation holding address p, if any (p == base + bytes counts,
// as the end of an empty range).
bool find_allocation(const void* p, Allocation* out);
// Explains why [p, p + bytes) is not wholly inside one allocation of
// `device` (any device when device < 0); empty when it is.
std::string check_device_range(const void* p, size_t bytes, int device);

// Host code may not touch device memory: on a GPU a cudaMalloc'd pointer is
// no host address (a Tensor's data<T>() of a CUDA tensor read on the host
// crashes there). So device allocations are whole pages, inaccessible
// (PROT_NONE) at rest; the emulator's own device work (a launch, a copy or
// memset, cuBLAS, cuDNN, an NCCL transfer) runs inside a DeviceAccess, on
// whose thread a first touch of an allocation makes it accessible (a
// SIGSEGV the handler answers) until the process's last DeviceAccess
// closes. A touch from host code is a SIGSEGV the handler names before
// ASan's report.
class DeviceAccess {
 public:
  DeviceAccess();
  ~DeviceAccess();
  // Makes the allocation holding p accessible now: for a system call that
  // reads or writes it (send, recv), which gets EFAULT instead of a signal.
  void open(const void* p);
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
};

// cuBLAS and cuDNN handles live in the driver's registry until destroyed
// (see runtime.cpp), as streams do.
void keep_handle(const void* handle);
void drop_handle(const void* handle);

// ---- streams ----
// The device a stream belongs to (nullptr: the current device's default
// stream); -1 for a handle that is not a live stream.
int stream_device(cudaStream_t s);

// ---- asynchronous work ----
// Streams run their work at the call, except what the emulated NCCL queues on
// a worker thread: such an operation is a Work, ended (done) by the worker.
// An event recorded on a stream holds the stream's unfinished Work; a stream
// made to wait for the event takes it over, and its next synchronous
// operation (a launch, copy, memset, cuBLAS or cuDNN call, synchronize)
// first blocks the calling host thread until it is done, as the GPU would
// hold that operation back.
class Work {
 public:
  void finish();  // from the worker: done, and every waiter wakes
  bool done() const;
  void wait() const;
  std::chrono::steady_clock::time_point finished_at() const;

 private:
  mutable std::mutex m_;
  mutable std::condition_variable cv_;
  bool done_ = false;
  std::chrono::steady_clock::time_point at_;
};
using WorkPtr = std::shared_ptr<Work>;
// What an operation enqueued on `s` now must wait for (its earlier
// unfinished work, and the events it was made to wait on); then `w` becomes
// the stream's newest work. False (and nothing queued) for a dead stream.
bool stream_enqueue(cudaStream_t s, const WorkPtr& w, std::vector<WorkPtr>* deps);
// Every synchronous operation on `s` calls it first: blocks until the
// stream's earlier asynchronous work has ended.
void stream_begin(cudaStream_t s);

}  // namespace gfemu
