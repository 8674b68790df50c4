#include "engine/dist/communicator.h"

#include <cstdio>

#include <cstdlib>
#include <cstring>

#include "engine/collective.h"
#include "engine/error.h"
#include "engine/ops.h"

namespace gf {

namespace {

// An environment variable as a whole number in [lo, hi]; `fallback` when
// unset. Set but empty is refused (for every launcher variable, MASTER_PORT
// and LOCAL_RANK too): `WORLD_SIZE= RANK=0` was a lone run.
int env_int(const char* name, int lo, int hi, int fallback) {
  const char* v = std::getenv(name);
  if (!v) return fallback;
  if (!*v) throw Error(std::string("environment variable ") + name + " is set but empty (unset it, or give a number)");
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (*end != '\0' || x < lo || x > hi)
    throw Error(std::string("environment variable ") + name + "='" + v + "' must be a whole number in [" +
                std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return static_cast<int>(x);
}

}  // namespace

void Communicator::barrier_within(double timeout_s, const std::string& limit_name) {
  within(timeout_s, limit_name, [this] { barrier(); });
}

void Communicator::within(double timeout_s, const std::string& limit_name, const std::function<void()>& collectives) {
  GF_CHECK(timeout_s > 0, backend(), "within: the limit must be > 0 s, got " << timeout_s);
  struct Restore {  // also when the barrier throws
    Communicator& c;
    double s;
    std::string name;
    ~Restore() {
      c.wait_limit_s_ = s;
      c.wait_limit_name_ = std::move(name);
    }
  } restore{*this, wait_limit_s_, wait_limit_name_};
  wait_limit_s_ = timeout_s;
  wait_limit_name_ = limit_name;
  collectives();
}

void Communicator::barrier() {
  char b = 0;
  std::vector<char> all(rank() == 0 ? static_cast<size_t>(world_size()) : 0);
  gather(&b, 1, all.data());
  broadcast(&b, 1);
}

void Communicator::all_reduce_sum_device(const Tensor&) {
  throw Error("the " + backend() + " process group has no device all-reduce");
}

// An environment variable as seconds in (0, 1e6]; `fallback` when unset.
static double env_seconds(const char* name, double fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  const double t = std::strtod(v, &end);
  if (*end != '\0' || !(t > 0 && t <= 1e6))
    throw Error(std::string(name) + "='" + v + "' must be seconds in (0, 1e6]");
  return t;
}

double dist_timeout_seconds() { return env_seconds("GF_DIST_TIMEOUT", 600); }
double rendezvous_timeout_seconds() { return env_seconds("GF_DIST_RENDEZVOUS_TIMEOUT", 120); }
double dist_metrics_timeout_seconds() { return env_seconds("GF_DIST_METRICS_TIMEOUT", 86400); }

std::string seconds_text(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", seconds);
  return buf;
}

RendezvousPort rendezvous_port_from_environment() {
  if (const char* v = std::getenv("GF_DIST_RENDEZVOUS_PORT"); v && *v)
    return {env_int("GF_DIST_RENDEZVOUS_PORT", 1, 65535, 0), "GF_DIST_RENDEZVOUS_PORT", "GF_DIST_RENDEZVOUS_PORT"};
  const int master = env_int("MASTER_PORT", 1, 65535, 29500);
  // torchrun's workers under its static rendezvous (launcher/api.py,
  // elastic/agent/server/local_elastic_agent.py): "True", Python's str(True).
  const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  if (!agent || std::strcmp(agent, "True") != 0) return {master, "MASTER_PORT", "MASTER_PORT"};
  if (master == 65535)
    throw Error("MASTER_PORT is 65535 and torchrun's agent holds it, so the rendezvous has no MASTER_PORT + 1: "
                "set GF_DIST_RENDEZVOUS_PORT to a free port of the MASTER_ADDR machine, the same for every rank");
  return {master + 1, "MASTER_PORT + 1: torchrun's agent holds MASTER_PORT", "GF_DIST_RENDEZVOUS_PORT"};
}

std::unique_ptr<Communicator> communicator_from_environment() {
  std::unique_ptr<Communicator> host;
  const double timeout = dist_timeout_seconds(), rendezvous = rendezvous_timeout_seconds();
  launched_world_size();  // the variables' consistency, one line each
  if (std::getenv("OMPI_COMM_WORLD_SIZE")) {  // started by Open MPI's mpirun
    if (!mpi_built())
      throw Error("started by mpirun, but this build has no MPI (install libopenmpi-dev and rebuild), or launch "
                  "with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT instead");
    host = make_mpi_communicator(timeout);
  } else if (std::getenv("WORLD_SIZE")) {  // torchrun-style
    const int world = env_int("WORLD_SIZE", 1, 65536, 1);
    const int rank = env_int("RANK", 0, world - 1, -1);
    if (rank < 0) throw Error("WORLD_SIZE is set but RANK is not (the torchrun-style launch needs both)");
    const int local = env_int("LOCAL_RANK", 0, 65535, rank);
    // As torch's env:// rendezvous: both named, none guessed (a forgotten
    // MASTER_ADDR on a second machine waited out the rendezvous at 127.0.0.1).
    for (const char* name : {"MASTER_ADDR", "MASTER_PORT"}) {
      const char* v = std::getenv(name);
      const char* own_port = std::getenv("GF_DIST_RENDEZVOUS_PORT");
      if (std::strcmp(name, "MASTER_PORT") == 0 && own_port && *own_port) continue;  // the port is given
      if (!v || !*v)
        throw Error(std::string("WORLD_SIZE is set but ") + name + " is " + (v ? "empty" : "not") +
                    " (the torchrun-style launch needs rank 0's address and port: MASTER_ADDR=127.0.0.1 "
                    "MASTER_PORT=29500 on one machine, or GF_DIST_RENDEZVOUS_PORT for the port)");
    }
    const RendezvousPort port = rendezvous_port_from_environment();
    host = make_tcp_communicator(rank, world, local, std::getenv("MASTER_ADDR"), port.port, timeout, rendezvous,
                                 port.source, port.variable);
  }
  return host;
}

int launched_world_size() {
  const bool mpi = std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr;
  const int torchrun = env_int("WORLD_SIZE", 1, 65536, 0);
  // RANK alone made a lone run of every process, each in its own folder;
  // WORLD_SIZE alone is refused where the group is joined.
  if (!mpi && torchrun == 0 && std::getenv("RANK"))
    throw Error("RANK is set but WORLD_SIZE is not (the torchrun-style launch needs both; unset RANK for one process)");
  if (!mpi) return torchrun == 0 ? 1 : torchrun;
  const int world = env_int("OMPI_COMM_WORLD_SIZE", 1, 65536, 1);
  // Variables left from another launcher: mpirun's count is the one used.
  if (torchrun != 0 && torchrun != world)
    throw Error("mpirun started " + std::to_string(world) + " processes, but WORLD_SIZE is " + std::to_string(torchrun) +
                " (left from a torchrun-style launch?): unset WORLD_SIZE and RANK under mpirun");
  return world;
}

bool launched_by_launcher() { return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("WORLD_SIZE"); }

void all_reduce_mean(Communicator& comm, const std::vector<Tensor>& tensors) {
  const int n = comm.world_size();
  if (n == 1 || tensors.empty()) return;
  NoGradGuard no_grad;
  const Device dev = tensors.front().device();
  const Tensor flat = flatten_tensors(tensors);
  if (comm.reduces_on_device(dev)) {
    comm.all_reduce_sum_device(flat);
    unflatten_into(flat / static_cast<double>(n), tensors);
    return;
  }
  const Tensor mine = flat.to(Device::cpu());
  const size_t bytes = mine.nbytes();
  Tensor result = Tensor::empty(mine.shape(), mine.dtype(), Device::cpu());
  if (comm.rank() == 0) {
    std::vector<Tensor> all(static_cast<size_t>(n));
    std::vector<char> buf(bytes * static_cast<size_t>(n));
    comm.gather(mine.raw(), bytes, buf.data());
    // The in-process order (engine/collective.cpp): ((x0 + x1) + x2) ... / n.
    Tensor sum = mine;
    for (int r = 1; r < n; ++r) {
      Tensor x = Tensor::empty(mine.shape(), mine.dtype(), Device::cpu());
      std::memcpy(x.raw(), buf.data() + bytes * static_cast<size_t>(r), bytes);
      sum = sum + x;
    }
    result = sum / static_cast<double>(n);
  } else {
    comm.gather(mine.raw(), bytes, nullptr);
  }
  comm.broadcast(result.raw(), bytes);
  unflatten_into(result.to(dev), tensors);
}

std::vector<std::vector<double>> all_gather(Communicator& comm, const std::vector<double>& values) {
  const size_t n = static_cast<size_t>(comm.world_size()), k = values.size();
  std::vector<double> flat(n * k);
  comm.gather(values.data(), k * sizeof(double), comm.rank() == 0 ? flat.data() : nullptr);
  comm.broadcast(flat.data(), flat.size() * sizeof(double));
  std::vector<std::vector<double>> out(n);
  for (size_t r = 0; r < n; ++r) out[r].assign(flat.begin() + static_cast<long>(r * k), flat.begin() + static_cast<long>((r + 1) * k));
  return out;
}

void broadcast_from_first(Communicator& comm, const std::vector<Tensor>& tensors) {
  if (comm.world_size() == 1 || tensors.empty()) return;
  NoGradGuard no_grad;
  const Tensor flat = flatten_tensors(tensors).to(Device::cpu());
  comm.broadcast(flat.raw(), flat.nbytes());
  unflatten_into(flat.to(tensors.front().device()), tensors);
}

}  // namespace gf
