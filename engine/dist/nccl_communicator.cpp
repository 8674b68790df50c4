// NCCL for the gradient all-reduce of one-process-per-GPU training, as the
// official code's torch.distributed NCCL backend: ncclCommInitRank with rank
// 0's unique id, which the host process group (MPI or TCP) carries; the host
// group keeps the small host collectives (loss statistics, checkpoint state).
//
// The all-reduce runs on a communication stream of its own: an event orders it
// after the compute stream's work so far (the backward passes that wrote the
// gradients), and another orders every later compute-stream kernel (the
// unflatten, nan_to_num, the optimizer) after it. Correctness rests on those
// two events alone; the host does not wait, so it goes on launching while the
// all-reduce runs. The flat buffer may return to the caching allocator as
// soon as the call returns: its next user is a compute-stream kernel, which
// waits on the second event.
//
// With the host not waiting, a dead peer would leave some later synchronizing
// call hanging for ever. A watchdog thread (as torch.distributed's NCCL
// watchdog) polls every all-reduce in flight: NCCL's asynchronous error, or
// one unfinished after GF_DIST_TIMEOUT seconds (ncclCommInitRank: after
// GF_DIST_RENDEZVOUS_TIMEOUT), ends the process with one line naming it.
// While a host call blocks (ncclCommInitRank waits for every rank, and NCCL
// does not notice one that is gone), it also watches the host group's
// connections: a rank whose connection closes (it failed to start NCCL, or
// died) is named at once, not after the rendezvous limit.
#include "engine/dist/communicator.h"
#include "engine/dist/deadline.h"
#include "engine/error.h"

#if defined(GF_WITH_NCCL) && defined(GF_WITH_CUDA)
#include <cuda_runtime_api.h>
#include <errno.h>  // program_invocation_short_name
#include <nccl.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "kernels/cuda_runtime.h"

namespace gf {
namespace {

using Clock = DeadlineClock;

void nccl_check(ncclResult_t r, const char* what, int rank) {
  if (r != ncclSuccess && r != ncclInProgress)
    throw Error("rank " + std::to_string(rank) + ": " + what + ": " + ncclGetErrorString(r));
}
void cuda_check(cudaError_t e, const char* what, int rank) {
  if (e != cudaSuccess) throw Error("rank " + std::to_string(rank) + ": " + what + ": " + cudaGetErrorString(e));
}

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::f16: return ncclFloat16;
    case DType::bf16: return ncclBfloat16;
  }
  return ncclFloat32;
}

// Watches NCCL work from a thread of its own. An item is an event recorded
// after the work on the communication stream (it owns the event), or, with
// no event, a host call in progress that the owner ends with host_done().
// `host` (the process group, which must outlive the watchdog) is asked for a
// closed connection only while such a host call is in progress: the owner's
// thread is then inside NCCL, not in the host group's own calls.
class Watchdog {
 public:
  Watchdog(const Communicator& host, int device)
      : host_(host), rank_(host.rank()), world_size_(host.world_size()), device_(device),
        thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
    for (const Item& x : items_)
      if (x.event) cudaEventDestroy(x.event);
  }
  void set_comm(ncclComm_t comm) {
    std::lock_guard<std::mutex> lock(m_);
    comm_ = comm;
  }
  void watch(std::string what, cudaEvent_t event, double limit_s, const char* limit_name) {
    {
      std::lock_guard<std::mutex> lock(m_);
      items_.push_back({std::move(what), event, deadline_after(limit_s), limit_s, limit_name});
    }
    cv_.notify_all();
  }
  void host_done() {  // the oldest item without an event has returned
    std::lock_guard<std::mutex> lock(m_);
    for (auto it = items_.begin(); it != items_.end(); ++it)
      if (!it->event) {
        items_.erase(it);
        return;
      }
  }

 private:
  struct Item {
    std::string what;
    cudaEvent_t event;
    Clock::time_point deadline;
    double limit_s;
    const char* limit_name;
  };
  const Communicator& host_;
  int rank_, world_size_, device_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Item> items_;
  ncclComm_t comm_ = nullptr;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist

  [[noreturn]] void fail(const std::string& why) const {
    // The main thread may be blocked in CUDA waiting for this very work:
    // leave at once (checkpoints are written atomically; nothing half-written
    // stays). The other ranks see this one's host connection close.
    std::fprintf(stderr, "%s: error: rank %d: %s\n", program_invocation_short_name, rank_, why.c_str());
    std::fflush(stderr);
    std::_Exit(1);
  }

  void loop() {
    cudaSetDevice(device_);
    std::unique_lock<std::mutex> lock(m_);
    while (!stop_) {
      if (items_.empty()) {
        cv_.wait(lock);
        continue;
      }
      // Events complete in the order they were recorded on the one stream:
      // the oldest item decides.
      while (!items_.empty() && items_.front().event) {
        const cudaError_t q = cudaEventQuery(items_.front().event);
        if (q == cudaErrorNotReady) break;
        // A CUDA error is sticky: the event reports the first fault of any
        // earlier work on the device, not necessarily the all-reduce's.
        if (q != cudaSuccess)
          fail(items_.front().what + ": " + cudaGetErrorString(q) + " (on device " + std::to_string(device_) +
               ": this all-reduce or earlier work there)");
        cudaEventDestroy(items_.front().event);
        items_.pop_front();
      }
      if (items_.empty()) continue;
      if (comm_) {
        ncclResult_t async = ncclSuccess;
        ncclCommGetAsyncError(comm_, &async);
        if (async != ncclSuccess && async != ncclInProgress) {
          // NCCL's own words name the peer where it knows it (the emulator's always do).
          std::string detail = "a rank died or its network failed";
#if NCCL_VERSION_CODE >= 21300
          if (const char* last = ncclGetLastError(comm_); last && *last) detail = last;
#endif
          fail(items_.front().what + " failed: " + ncclGetErrorString(async) + " (" + detail + ")");
        }
      }
      for (const Item& x : items_)
        if (!x.event) {
          if (const int gone = host_.closed_peer(); gone >= 0)
            fail(x.what + " stopped: rank " + std::to_string(gone) + " closed its " + host_.backend() +
                 " connection: it exited or was killed (its own output says why)");
          break;  // one look per round
        }
      for (const Item& x : items_)
        if (Clock::now() > x.deadline) {
          char limit[32];
          std::snprintf(limit, sizeof limit, "%g s", x.limit_s);
          // NCCL does not say which rank it waits for; of two, it is the other.
          const std::string who = world_size_ == 2 ? "rank " + std::to_string(1 - rank_) + " (the other rank)"
                                                   : std::string("another rank");
          fail(x.what + " did not finish within " + limit + " (" + x.limit_name + "): " + who + " hangs or is gone");
        }
      cv_.wait_for(lock, std::chrono::milliseconds(5));
    }
  }
};

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> host, int device)
      : host_(std::move(host)), device_(device), timeout_(dist_timeout_seconds()),
        watchdog_(*host_, device) {
    const int r = host_->rank();
    ncclUniqueId id{};
    if (r == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId", r);
    host_->broadcast(&id, sizeof id);
    cuda::set_device(device_);
    // Blocks until every rank calls it: a rank that died after the host
    // rendezvous, or failed in its own call, would hold this one here for
    // ever; the watchdog names it when its host connection closes.
    watchdog_.watch("ncclCommInitRank (NCCL's start, after every rank joined the host group)", nullptr,
                    rendezvous_timeout_seconds(), "GF_DIST_RENDEZVOUS_TIMEOUT");
    nccl_check(ncclCommInitRank(&comm_, host_->world_size(), id, r), "ncclCommInitRank", r);
    watchdog_.host_done();
    watchdog_.set_comm(comm_);
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate", r);
    cuda_check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate", r);
  }
  ~NcclCommunicator() override {
    if (std::uncaught_exceptions() == 0 && comm_) {
      // A normal end: every rank finishes its last all-reduce (still
      // watched), then the communicator goes.
      cudaStreamSynchronize(stream_);
      watchdog_.set_comm(nullptr);
      ncclCommDestroy(comm_);
    }
    // Unwinding an error (another rank may be gone): nothing that could wait
    // on a peer; the process is about to exit.
    if (ready_) cudaEventDestroy(ready_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return host_->rank(); }
  int world_size() const override { return host_->world_size(); }
  int local_rank() const override { return host_->local_rank(); }
  std::string backend() const override { return "nccl over " + host_->backend(); }
  void gather(const void* mine, size_t bytes, void* all) override { host_->gather(mine, bytes, all); }
  void broadcast(void* buf, size_t bytes) override { host_->broadcast(buf, bytes); }
  // On the host group alone (gather and broadcast are its): no NCCL call is
  // in flight or made while this rank waits here (the all-reduces before it
  // have finished on every rank, so the watchdog holds nothing that could
  // pass its deadline).
  void within(double timeout_s, const std::string& limit_name, const std::function<void()>& collectives) override {
    host_->within(timeout_s, limit_name, collectives);
  }

  bool reduces_on_device(const Device& d) const override { return d.is_cuda() && d.index == device_; }

  void all_reduce_sum_device(const Tensor& flat) override {
    const int r = rank();
    GF_CHECK(reduces_on_device(flat.device()), "nccl", "rank " << r << ": tensor on " << flat.device().str()
                                                             << ", the communicator's GPU is cuda:" << device_);
    cuda::set_device(device_);
    const auto compute = static_cast<cudaStream_t>(cuda::stream(device_));
    // compute -> comm: the gradients are written.
    cuda_check(cudaEventRecord(ready_, compute), "cudaEventRecord", r);
    cuda_check(cudaStreamWaitEvent(stream_, ready_, 0), "cudaStreamWaitEvent", r);
    nccl_check(ncclAllReduce(flat.raw(), flat.raw(), static_cast<size_t>(flat.numel()), nccl_type(flat.dtype()),
                             ncclSum, comm_, stream_),
               "ncclAllReduce", r);
    // comm -> compute: everything enqueued from here on sees the sum. A new
    // event per call: the watchdog owns it until it completes.
    cudaEvent_t done = nullptr;
    cuda_check(cudaEventCreateWithFlags(&done, cudaEventDisableTiming), "cudaEventCreate", r);
    if (const cudaError_t e = cudaEventRecord(done, stream_); e != cudaSuccess) {
      cudaEventDestroy(done);
      cuda_check(e, "cudaEventRecord", r);
    }
    cuda_check(cudaStreamWaitEvent(compute, done, 0), "cudaStreamWaitEvent", r);
    watchdog_.watch("NCCL all-reduce of " + std::to_string(flat.numel()) + " values", done, timeout_,
                    "GF_DIST_TIMEOUT");
  }

 private:
  std::unique_ptr<Communicator> host_;
  int device_;
  double timeout_;
  Watchdog watchdog_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;  // re-recorded each call: a stream wait takes the record current at the call
};

}  // namespace

bool nccl_built() { return true; }
std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> host, int cuda_device) {
  return std::make_unique<NcclCommunicator>(std::move(host), cuda_device);
}

}  // namespace gf

#else

namespace gf {
bool nccl_built() { return false; }
std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator>, int) {
  throw Error("this build has no NCCL (build with the CUDA toolkit's NCCL found by CMake)");
}
}  // namespace gf

#endif
