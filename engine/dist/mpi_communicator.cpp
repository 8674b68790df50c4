// The MPI process group (Open MPI's mpirun). The collectives are point to
// point messages around rank 0 in rank order, as the TCP star's, so both
// launches reduce in one fixed order; their waits poll with a deadline, so a
// rank that hangs is named instead of waited on for ever (one that dies is
// reported by mpirun, which stops the others).
#include "engine/dist/communicator.h"
#include "engine/dist/deadline.h"
#include "engine/error.h"

#ifdef GF_WITH_MPI
#include <mpi.h>

#include <chrono>
#include <algorithm>
#include <climits>
#include <cstring>
#include <exception>
#include <thread>

namespace gf {
namespace {

using Clock = DeadlineClock;

constexpr int kTag = 17;
constexpr size_t kChunk = size_t(1) << 30;  // MPI counts are int: messages go in pieces of 1 GiB

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(double timeout) {
    wait_limit_s_ = timeout;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        throw Error("MPI_Init failed");
      owns_ = true;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &world_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_rank(local, &local_);
    MPI_Comm_free(&local);
  }
  ~MpiCommunicator() override {
    // After an error the other ranks may be anywhere: MPI_Finalize could wait
    // for them. Exit without it; mpirun reports the rank and stops the rest.
    if (owns_ && std::uncaught_exceptions() == 0 && !failed_) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  int local_rank() const override { return local_; }
  std::string backend() const override { return "mpi"; }

  void gather(const void* mine, size_t bytes, void* all) override {
    std::vector<MPI_Request> req;
    std::vector<int> peer;
    if (rank_ == 0) {
      char* out = static_cast<char*>(all);
      std::memcpy(out, mine, bytes);
      for (int r = 1; r < world_; ++r) post(false, out + bytes * static_cast<size_t>(r), bytes, r, req, peer);
    } else {
      post(true, const_cast<void*>(mine), bytes, 0, req, peer);
    }
    wait(req, peer, rank_ == 0 ? "no data from" : "no receive by");
  }

  void broadcast(void* buf, size_t bytes) override {
    if (world_ == 1) return;
    std::vector<MPI_Request> req;
    std::vector<int> peer;
    if (rank_ == 0)
      for (int r = 1; r < world_; ++r) post(true, buf, bytes, r, req, peer);
    else
      post(false, buf, bytes, 0, req, peer);
    wait(req, peer, rank_ == 0 ? "no receive by" : "no data from");
  }

 private:
  int rank_ = 0, world_ = 1, local_ = 0;
  bool owns_ = false, failed_ = false;

  static void post(bool send, void* p, size_t bytes, int r, std::vector<MPI_Request>& req, std::vector<int>& peer) {
    char* c = static_cast<char*>(p);
    for (size_t at = 0; at < bytes || (bytes == 0 && at == 0); at += kChunk) {
      const int n = static_cast<int>(std::min(kChunk, bytes - at));
      MPI_Request q;
      if (send)
        MPI_Isend(c + at, n, MPI_BYTE, r, kTag, MPI_COMM_WORLD, &q);
      else
        MPI_Irecv(c + at, n, MPI_BYTE, r, kTag, MPI_COMM_WORLD, &q);
      req.push_back(q);
      peer.push_back(r);
      if (bytes == 0) break;
    }
  }

  // Polls with a growing sleep (up to 1 ms): ranks oversubscribed on few
  // cores must not spin against the rank they wait for.
  void wait(std::vector<MPI_Request>& req, const std::vector<int>& peer, const char* what) {
    const Clock::time_point deadline = deadline_after(wait_limit_s_);
    std::chrono::microseconds nap(2);
    for (;;) {
      int done = 0;
      if (MPI_Testall(static_cast<int>(req.size()), req.data(), &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS) {
        failed_ = true;
        throw Error("rank " + std::to_string(rank_) + ": MPI message failed");
      }
      if (done) return;
      if (Clock::now() > deadline) {
        failed_ = true;
        for (size_t i = 0; i < req.size(); ++i) {
          int one = 0;
          MPI_Test(&req[i], &one, MPI_STATUS_IGNORE);
          if (!one)
            throw Error("rank " + std::to_string(rank_) + ": " + what + " rank " + std::to_string(peer[i]) + " for " +
                        seconds_text(wait_limit_s_) + " (" + wait_limit_name_ + "): it hangs or is gone");
        }
        throw Error("rank " + std::to_string(rank_) + ": MPI wait timed out");
      }
      std::this_thread::sleep_for(nap);
      nap = std::min(nap * 2, std::chrono::microseconds(1000));
    }
  }
};

}  // namespace

bool mpi_built() { return true; }
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s) {
  return std::make_unique<MpiCommunicator>(timeout_s);
}

}  // namespace gf

#else

namespace gf {
bool mpi_built() { return false; }
std::unique_ptr<Communicator> make_mpi_communicator(double) {
  throw Error("this build has no MPI (install libopenmpi-dev and rebuild)");
}
}  // namespace gf

#endif
