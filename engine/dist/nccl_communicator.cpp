// NCCL for the gradient all-reduce of one-process-per-GPU training, as the
// official code's torch.distributed NCCL backend: ncclCommInitRank with rank
// 0's unique id, which the host process group (MPI or TCP) carries; the host
// group keeps the small host collectives (loss statistics, checkpoint state).
// The all-reduce runs on a communication stream of its own, ordered after the
// compute stream's work by an event and before its next work by another.
// Its wait is bounded: NCCL's asynchronous error is polled, and a deadline
// (GF_DIST_TIMEOUT) aborts the communicator instead of hanging on a dead peer.
#include "engine/dist/communicator.h"
#include "engine/error.h"

#if defined(GF_WITH_NCCL) && defined(GF_WITH_CUDA)
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <chrono>
#include <thread>

#include "kernels/cuda_runtime.h"

namespace gf {
namespace {

using Clock = std::chrono::steady_clock;

Clock::time_point deadline_after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

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

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> host, int device)
      : host_(std::move(host)), device_(device), timeout_(dist_timeout_seconds()) {
    const int r = host_->rank();
    ncclUniqueId id{};
    if (r == 0) nccl_check(ncclGetUniqueId(&id), "ncclGetUniqueId", r);
    host_->broadcast(&id, sizeof id);
    cuda::set_device(device_);
    nccl_check(ncclCommInitRank(&comm_, host_->world_size(), id, r), "ncclCommInitRank", r);
    cuda_check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate", r);
    cuda_check(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming), "cudaEventCreate", r);
    cuda_check(cudaEventCreateWithFlags(&done_, cudaEventDisableTiming), "cudaEventCreate", r);
  }
  ~NcclCommunicator() override {
    if (comm_) (aborted_ ? ncclCommAbort(comm_) : ncclCommDestroy(comm_));
    if (done_) cudaEventDestroy(done_);
    if (ready_) cudaEventDestroy(ready_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  int rank() const override { return host_->rank(); }
  int world_size() const override { return host_->world_size(); }
  int local_rank() const override { return host_->local_rank(); }
  std::string backend() const override { return "nccl over " + host_->backend(); }
  void gather(const void* mine, size_t bytes, void* all) override { host_->gather(mine, bytes, all); }
  void broadcast(void* buf, size_t bytes) override { host_->broadcast(buf, bytes); }

  bool reduces_on_device(const Device& d) const override { return d.is_cuda() && d.index == device_; }

  void all_reduce_sum_device(const Tensor& flat) override {
    const int r = rank();
    GF_CHECK(reduces_on_device(flat.device()), "nccl", "rank " << r << ": tensor on " << flat.device().str()
                                                             << ", the communicator's GPU is cuda:" << device_);
    cuda::set_device(device_);
    const auto compute = static_cast<cudaStream_t>(cuda::stream(device_));
    cuda_check(cudaEventRecord(ready_, compute), "cudaEventRecord", r);
    cuda_check(cudaStreamWaitEvent(stream_, ready_, 0), "cudaStreamWaitEvent", r);
    nccl_check(ncclAllReduce(flat.raw(), flat.raw(), static_cast<size_t>(flat.numel()), nccl_type(flat.dtype()),
                             ncclSum, comm_, stream_),
               "ncclAllReduce", r);
    cuda_check(cudaEventRecord(done_, stream_), "cudaEventRecord", r);
    cuda_check(cudaStreamWaitEvent(compute, done_, 0), "cudaStreamWaitEvent", r);
    // Bounded wait: a peer that died leaves the all-reduce unfinished for ever.
    const Clock::time_point deadline = deadline_after(timeout_);
    std::chrono::microseconds nap(2);
    for (;;) {
      const cudaError_t q = cudaEventQuery(done_);
      if (q == cudaSuccess) return;
      if (q != cudaErrorNotReady) cuda_check(q, "all-reduce", r);
      ncclResult_t async = ncclSuccess;
      ncclCommGetAsyncError(comm_, &async);
      if (async != ncclSuccess && async != ncclInProgress) {
        aborted_ = true;
        throw Error("rank " + std::to_string(r) + ": NCCL all-reduce failed: " + ncclGetErrorString(async) +
                    " (a rank died or its network failed)");
      }
      if (Clock::now() > deadline) {
        aborted_ = true;
        throw Error("rank " + std::to_string(r) + ": NCCL all-reduce did not finish within " +
                    std::to_string(static_cast<long long>(timeout_)) +
                    " s (GF_DIST_TIMEOUT): another rank hangs or is gone");
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(500));
    }
  }

 private:
  std::unique_ptr<Communicator> host_;
  int device_;
  double timeout_;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr, done_ = nullptr;
  bool aborted_ = false;
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
