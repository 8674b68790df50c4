// Process groups for data-parallel training with one process per device, as
// the official StyleGAN2-ADA code runs it through torch.distributed: a rank in
// [0, world_size), the same collectives called in the same order by every
// rank. Backends:
//  - MPI (Open MPI's mpirun; engine/dist/mpi_communicator.cpp, built when
//    CMake finds MPI),
//  - TCP (the torchrun-style environment: RANK, WORLD_SIZE, LOCAL_RANK,
//    MASTER_ADDR, MASTER_PORT, as torchrun itself sets them; a star around
//    rank 0 of our own, engine/dist/tcp_communicator.cpp; its port is
//    rendezvous_port_from_environment's),
//  - NCCL (GPU tensors; engine/dist/nccl_communicator.cpp, built when CMake
//    finds NCCL), over one of the two above, which carries its unique id.
// The in-process replicas of one process (engine/collective.h) stay beside
// these: a single-process run has no communicator.
//
// Every wait is bounded: a rank that dies or stops answering makes the others
// throw an Error naming it, within GF_DIST_TIMEOUT seconds (default 600) when
// it hangs and at once when its connection closes (TCP). The start has its own
// limit, GF_DIST_RENDEZVOUS_TIMEOUT (default 120 s): a rank that never joins
// the TCP rendezvous (or NCCL's initialization) is named after it; one whose
// TCP connection closes while NCCL initializes is named at once. The wait
// of the ranks for each other during the metrics' evaluation has its own
// too (within and barrier_within, GF_DIST_METRICS_TIMEOUT, default a day). Under mpirun, a rank that dies,
// before MPI_Init or after, is reported by mpirun, which then stops the
// others.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/tensor.h"

namespace gf {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  virtual int local_rank() const = 0;  // the rank among this machine's processes: its device index
  virtual std::string backend() const = 0;

  // Host bytes. gather: every rank gives `bytes` bytes; on rank 0, `all`
  // receives world_size * bytes of them in rank order (elsewhere it is not
  // touched and may be null). broadcast: rank 0's bytes into every rank's buf.
  virtual void gather(const void* mine, size_t bytes, void* all) = 0;
  virtual void broadcast(void* buf, size_t bytes) = 0;
  virtual void barrier();
  // Runs `collectives` (this rank's part of some host collectives) with
  // every wait bounded by `timeout_s` seconds instead of GF_DIST_TIMEOUT, and
  // named `limit_name` in the error lines; the limit before comes back after,
  // also when they throw. For the waits while one rank works alone (rank 0
  // reads the metrics cache or computes a metric from the gathered
  // features), so that only these waits are long. A rank whose TCP
  // connection closes is still named at once; under mpirun, mpirun stops the
  // job when a rank dies. The host backends (TCP, MPI) bound every wait by
  // wait_limit_s_, which this swaps for the call; NCCL hands it to its host
  // group. gf::Error for a limit <= 0.
  virtual void within(double timeout_s, const std::string& limit_name, const std::function<void()>& collectives);
  // A barrier under within's limit: where the ranks meet after the metrics.
  void barrier_within(double timeout_s, const std::string& limit_name);

  // A rank whose host connection has closed (it exited or was killed), or -1
  // when none is known to be gone (always -1 under MPI, where mpirun stops
  // the job when a rank dies). Never blocks and reads nothing: only peeks at
  // the connections, so another thread (the NCCL watchdog) may ask while this
  // rank's own thread is blocked elsewhere, e.g. in ncclCommInitRank, as long
  // as that thread is not inside this communicator's calls or destructor.
  virtual int closed_peer() const { return -1; }

  // Device all-reduce (NCCL): true when all_reduce_sum_device takes this
  // rank's GPU tensors; otherwise the host path below is used.
  virtual bool reduces_on_device(const Device&) const { return false; }
  // Sums `flat` (one contiguous tensor on this rank's GPU) over the ranks, in
  // place. Asynchronous (NCCL): it runs on a communication stream after the
  // work already on the compute stream, and all work enqueued on the compute
  // stream afterwards (the optimizer's) waits for it; the host does not.
  virtual void all_reduce_sum_device(const Tensor& flat);

 protected:
  // The limit of the waits in progress and the variable that sets it, for
  // the error lines: GF_DIST_TIMEOUT's (the backend sets the seconds when it
  // is made), except inside within.
  double wait_limit_s_ = 600;
  std::string wait_limit_name_ = "GF_DIST_TIMEOUT";
};

// The host process group the launcher describes, or null when this process
// runs alone: under mpirun (OMPI_COMM_WORLD_SIZE set) the MPI backend, else
// with WORLD_SIZE set the TCP rendezvous at MASTER_ADDR on
// rendezvous_port_from_environment()'s port (both required, as torch's
// env:// rendezvous requires MASTER_ADDR and MASTER_PORT; LOCAL_RANK defaults to
// RANK). Wrap it with make_nccl_communicator for GPU tensors. A launcher this
// build cannot serve, or malformed variables, throw one line.
std::unique_ptr<Communicator> communicator_from_environment();

// The number of processes the launcher's variables say it started
// (OMPI_COMM_WORLD_SIZE under mpirun, else WORLD_SIZE), 1 when neither is
// set; read without joining anyone, so that what one rank can check alone
// (a flag against the process count) fails before the rendezvous's wait.
// A malformed or empty value, RANK without WORLD_SIZE, or a WORLD_SIZE that
// disagrees with mpirun's count throws one line.
int launched_world_size();

// Whether a launcher's variables are set at all (OMPI_COMM_WORLD_SIZE or
// WORLD_SIZE), even for one process: --gpus must then equal their count.
bool launched_by_launcher();

// The port rank 0 of the TCP rendezvous listens on (on the MASTER_ADDR
// machine), and the variable(s) it came from, for error lines:
//  - GF_DIST_RENDEZVOUS_PORT when set;
//  - else, under torchrun's static rendezvous (its default without
//    --standalone or --rdzv_backend=c10d; the workers then see
//    TORCHELASTIC_USE_AGENT_STORE=True), MASTER_PORT + 1: there torchrun's
//    agent on the MASTER_ADDR machine holds MASTER_PORT itself, for its c10d
//    TCPStore (torch/distributed/elastic/rendezvous/static_tcp_rendezvous.py),
//    whose protocol we do not speak; so MASTER_PORT + 1 must then be free
//    there and reachable from every machine;
//  - else MASTER_PORT (29500 when unset here; communicator_from_environment
//    refuses an unset one): a launcher that only sets the
//    variables, or torchrun's c10d rendezvous, whose agent picks a free
//    MASTER_PORT and leaves it to the workers.
// Malformed values, or MASTER_PORT 65535 under the agent's store, throw one line.
struct RendezvousPort {
  int port;
  std::string source;    // "MASTER_PORT", "GF_DIST_RENDEZVOUS_PORT", "MASTER_PORT + 1: torchrun's agent holds MASTER_PORT"
  std::string variable;  // the one to set for another port: MASTER_PORT or GF_DIST_RENDEZVOUS_PORT
};
RendezvousPort rendezvous_port_from_environment();

// Backends, for tests and for communicator_from_environment. `port_source`
// and `port_variable` (RendezvousPort's) say where master_port came from and
// what to set instead, in the error lines.
std::unique_ptr<Communicator> make_tcp_communicator(int rank, int world_size, int local_rank,
                                                    const std::string& master_addr, int master_port,
                                                    double timeout_s, double rendezvous_timeout_s,
                                                    const std::string& port_source = "MASTER_PORT",
                                                    const std::string& port_variable = "MASTER_PORT");
std::unique_ptr<Communicator> make_mpi_communicator(double timeout_s);  // throws when built without MPI
// Takes the host communicator over (rank 0's unique id goes through it).
std::unique_ptr<Communicator> make_nccl_communicator(std::unique_ptr<Communicator> host, int cuda_device);
bool mpi_built();
bool nccl_built();

// GF_DIST_TIMEOUT (seconds), else 600: the longest wait for another rank
// once all joined (a collective, a message).
double dist_timeout_seconds();
// GF_DIST_RENDEZVOUS_TIMEOUT (seconds), else 120: the longest wait for every
// rank to join (the TCP rendezvous, NCCL's initialization). Enough for ranks
// a launcher starts together, on one machine or several; raise it when the
// machines' ranks are started by hand.
double rendezvous_timeout_seconds();
// GF_DIST_METRICS_TIMEOUT (seconds), else 86400 (a day): the longest wait of
// one rank for another while the ranks evaluate the metrics after a
// snapshot or in calc_metrics (within: rank 0 alone reads and writes the
// metrics cache and forms each result from the gathered features, e.g.
// KID's subsets; pr50k3_full's distances, hours on a CPU, are shared).
double dist_metrics_timeout_seconds();
// A limit in seconds for the backends' error lines: "600 s", "0.5 s".
std::string seconds_text(double seconds);

// Every rank's tensors (the same shapes and one dtype on every rank) become
// their mean over the ranks, with the same bits on every rank. The host path
// (MPI, TCP) forms it as the in-process all_reduce_mean does (engine/
// collective.h): rank 0 sums the flat buffers in rank order and divides by
// the world size, then broadcasts, so N processes give the bits of N
// in-process replicas. With NCCL every rank divides NCCL's sum: a GPU's NCCL
// sums in its ring or tree order (not that of the in-process replicas, so the
// last bits may differ from --gpus N), while the CUDA emulator's NCCL
// (tools/cuda_emu/src/nccl.cpp) sums in rank order, ((x0 + x1) + x2) ..., so
// on the emulator N processes match the in-process replicas bit for bit (the
// cuda.train_stylegan_nccl_*_equals_inprocess tests). Outside the graph.
void all_reduce_mean(Communicator& comm, const std::vector<Tensor>& tensors);

// Every rank's `values` (the same count on every rank), in rank order, on every rank.
std::vector<std::vector<double>> all_gather(Communicator& comm, const std::vector<double>& values);

// Rank 0's tensors, bit for bit, into every rank's.
void broadcast_from_first(Communicator& comm, const std::vector<Tensor>& tensors);

}  // namespace gf
