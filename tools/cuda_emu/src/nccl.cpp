// The emulated NCCL (include/nccl.h says what it models and its limits):
// a bootstrap root (a thread of the process that called ncclGetUniqueId)
// joined by every rank over TCP (on loopback, or on the interface
// NCCL_SOCKET_IFNAME names), and per communicator a worker
// thread that runs the queued collectives in order.
//
// Wire format, one header then its payload:
//   rank -> root: kHello (a = rank, b = nranks, n = the id's nonce) once;
//                 then per collective kAllReduce (a = dtype, b = op, n = count)
//                 + count values, or kBye when the rank destroys its communicator.
//   root -> rank: kReady once every rank joined; per collective kResult
//                 (n = bytes) + the sum; kFail (a = the rank that failed,
//                 b = an ncclResult_t) when a rank's connection closed or the
//                 ranks called different collectives; then it closes.
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nccl.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "internal.h"

using gfemu::WorkPtr;

namespace {

constexpr char kMagic[8] = "gfnccl";
struct IdBody {  // what ncclUniqueId carries
  char magic[8];
  uint64_t nonce;
  uint32_t addr;  // the root's IPv4 address (network order): root_address()'s
  uint16_t port;  // the root's port (host order)
};
static_assert(sizeof(IdBody) <= NCCL_UNIQUE_ID_BYTES, "the id holds the root's address");

enum Frame : uint32_t { kHello = 1, kReady, kAllReduce, kBye, kResult, kFail };
struct Header {
  uint32_t type;
  int32_t a, b;
  uint64_t n;
};

std::string address_text(uint32_t addr) {  // network order -> "10.0.0.1"
  char buf[INET_ADDRSTRLEN] = "?";
  in_addr a{};
  a.s_addr = addr;
  ::inet_ntop(AF_INET, &a, buf, sizeof buf);
  return buf;
}

// The address the bootstrap root listens on and the id carries, as NCCL's
// NCCL_SOCKET_IFNAME picks its interface: a comma-separated list of name
// prefixes ("eth,ib"); "^" first excludes them instead; "=" (after "^" if
// any) matches whole names. The first interface that is up and has an IPv4
// address, in getifaddrs order. Unset or empty: loopback, so the emulator
// stays on one machine unless told (a GPU's NCCL then takes the first
// interface other than lo and docker*). Nothing matching: false, `why` set.
bool root_address(uint32_t* addr, std::string* why) {
  const char* v = std::getenv("NCCL_SOCKET_IFNAME");
  if (!v || !*v) {
    *addr = htonl(INADDR_LOOPBACK);
    return true;
  }
  std::string list = v;
  const bool exclude = list[0] == '^';
  if (exclude) list.erase(0, 1);
  const bool exact = !list.empty() && list[0] == '=';
  if (exact) list.erase(0, 1);
  std::vector<std::string> names;
  for (size_t b = 0, e; b <= list.size(); b = e + 1) {
    e = list.find(',', b);
    if (e == std::string::npos) e = list.size();
    if (e > b) names.push_back(list.substr(b, e - b));
  }
  ifaddrs* all = nullptr;
  if (::getifaddrs(&all) != 0) {
    *why = std::string("getifaddrs: ") + std::strerror(errno);
    return false;
  }
  bool found = false;
  for (const ifaddrs* i = all; i && !found; i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP)) continue;
    const std::string name = i->ifa_name;
    bool listed = false;
    for (const std::string& n : names) listed = listed || (exact ? name == n : name.compare(0, n.size(), n) == 0);
    if (listed == exclude) continue;
    *addr = reinterpret_cast<const sockaddr_in*>(i->ifa_addr)->sin_addr.s_addr;
    found = true;
  }
  ::freeifaddrs(all);
  if (!found) *why = std::string("no interface that is up with an IPv4 address matches NCCL_SOCKET_IFNAME=") + v;
  return found;
}

bool write_all(int fd, const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  while (bytes) {
    const ssize_t k = ::send(fd, c, bytes, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    c += k;
    bytes -= static_cast<size_t>(k);
  }
  return true;
}
bool read_all(int fd, void* p, size_t bytes) {
  char* c = static_cast<char*>(p);
  while (bytes) {
    const ssize_t k = ::recv(fd, c, bytes, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;  // 0: the peer closed
    c += k;
    bytes -= static_cast<size_t>(k);
  }
  return true;
}
bool send_header(int fd, Frame t, int a = 0, int b = 0, uint64_t n = 0) {
  const Header h{t, a, b, n};
  return write_all(fd, &h, sizeof h);
}

size_t type_bytes(ncclDataType_t t) {
  switch (t) {
    case ncclInt8: case ncclUint8: return 1;
    case ncclBfloat16: return 2;
    case ncclInt32: case ncclUint32: case ncclFloat32: return 4;
    case ncclInt64: case ncclUint64: case ncclFloat64: return 8;
    default: return 0;  // ncclFloat16: not emulated
  }
}

float bf16_to_float(uint16_t h) {
  const uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bf16(float f) {  // round to nearest even, as __float2bfloat16; NaN stays NaN
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

template <class T>
void add_as(void* acc, const void* x, size_t count) {
  T* a = static_cast<T*>(acc);
  const T* b = static_cast<const T*>(x);
  for (size_t i = 0; i < count; ++i) a[i] = static_cast<T>(a[i] + b[i]);
}
// acc += x in the values' own type: one rounding per addition, as the
// in-process sum's elementwise add (engine/collective.cpp) does.
void add_into(void* acc, const void* x, size_t count, ncclDataType_t t) {
  switch (t) {
    case ncclInt8: add_as<int8_t>(acc, x, count); break;
    case ncclUint8: add_as<uint8_t>(acc, x, count); break;
    case ncclInt32: add_as<int32_t>(acc, x, count); break;
    case ncclUint32: add_as<uint32_t>(acc, x, count); break;
    case ncclInt64: add_as<int64_t>(acc, x, count); break;
    case ncclUint64: add_as<uint64_t>(acc, x, count); break;
    case ncclFloat32: add_as<float>(acc, x, count); break;
    case ncclFloat64: add_as<double>(acc, x, count); break;
    case ncclBfloat16: {
      uint16_t* a = static_cast<uint16_t*>(acc);
      const uint16_t* b = static_cast<const uint16_t*>(x);
      for (size_t i = 0; i < count; ++i) a[i] = float_to_bf16(bf16_to_float(a[i]) + bf16_to_float(b[i]));
      break;
    }
    default: break;
  }
}

std::string failure_text(int rank, int code) {
  if (code == ncclInvalidUsage)
    return "the ranks called different collectives (rank " + std::to_string(rank) + "'s differs from rank 0's)";
  return "rank " + std::to_string(rank) + " closed its connection (it exited, or aborted its communicator)";
}

// ---- the bootstrap root ----

struct Root {
  int listen_fd = -1;
  uint64_t nonce = 0;
  std::mutex m;
  std::condition_variable cv;
  std::vector<int> fds;  // by rank, once joined (under m)
  std::vector<int> accepted;  // every accepted connection, for stop() (under m)
  bool stopping = false, finished = false;

  void run();
  // Ends the root: wakes it wherever it blocks, then waits until it has.
  void stop() {
    std::unique_lock<std::mutex> lock(m);
    if (finished) return;  // its sockets are closed (their numbers may be another's now)
    stopping = true;
    ::shutdown(listen_fd, SHUT_RDWR);
    for (int fd : accepted) ::shutdown(fd, SHUT_RDWR);
    cv.wait(lock, [this] { return finished; });
  }

 private:
  void fail_all(int rank, int code, const std::vector<int>& ranks) {
    for (size_t k = 0; k < ranks.size(); ++k)
      if ((static_cast<int>(k) != rank || code == ncclInvalidUsage) && ranks[k] >= 0)
        send_header(ranks[k], kFail, rank, code);
  }
  void serve(const std::vector<int>& ranks);
};

void Root::run() {
  std::vector<int> ranks;  // fd by rank
  int nranks = -1, joined = 0;
  while (nranks < 0 || joined < nranks) {
    const int fd = ::accept(listen_fd, nullptr, nullptr);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      break;  // stop(), or a broken socket: the ranks waiting see the root close
    }
    {
      std::lock_guard<std::mutex> lock(m);
      accepted.push_back(fd);
      if (stopping) break;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Header h{};
    if (!read_all(fd, &h, sizeof h) || h.type != kHello || h.n != nonce) continue;  // not one of ours
    if (nranks < 0) {
      nranks = h.b;
      ranks.assign(static_cast<size_t>(nranks), -1);
    }
    if (h.b != nranks || h.a < 0 || h.a >= nranks || ranks[static_cast<size_t>(h.a)] >= 0) {
      send_header(fd, kFail, h.a, ncclInvalidUsage);  // a second rank h.a, or another world size
      continue;
    }
    ranks[static_cast<size_t>(h.a)] = fd;
    ++joined;
  }
  if (nranks > 0 && joined == nranks) {
    for (int fd : ranks) send_header(fd, kReady);
    serve(ranks);
  }
  std::lock_guard<std::mutex> lock(m);
  for (int fd : accepted) ::close(fd);
  ::close(listen_fd);
  accepted.clear();
  finished = true;
  cv.notify_all();
}

// Rounds in lock step: every rank's next frame, in rank order, summed into
// rank 0's buffer; then the sum to every rank.
void Root::serve(const std::vector<int>& ranks) {
  const size_t n = ranks.size();
  std::vector<char> acc, x;
  for (;;) {
    Header first{};
    for (size_t k = 0; k < n; ++k) {
      Header h{};
      if (!read_all(ranks[k], &h, sizeof h)) return fail_all(static_cast<int>(k), ncclRemoteError, ranks);
      if (k == 0) first = h;
      if (h.type != first.type || h.a != first.a || h.b != first.b || h.n != first.n ||
          (h.type != kAllReduce && h.type != kBye))
        return fail_all(static_cast<int>(k), ncclInvalidUsage, ranks);
      if (h.type == kBye) continue;
      const size_t bytes = h.n * type_bytes(static_cast<ncclDataType_t>(h.a));
      std::vector<char>& into = k == 0 ? acc : x;
      into.resize(bytes);
      if (!read_all(ranks[k], into.data(), bytes)) return fail_all(static_cast<int>(k), ncclRemoteError, ranks);
      if (k > 0) add_into(acc.data(), x.data(), h.n, static_cast<ncclDataType_t>(h.a));
    }
    if (first.type == kBye) return;  // every rank left in order
    // Rank 0 last: the root lives in its process, which may exit once its
    // own result is in; by then the others' are in their sockets.
    for (size_t k = n; k-- > 0;)
      if (!send_header(ranks[k], kResult, 0, 0, acc.size()) || !write_all(ranks[k], acc.data(), acc.size()))
        return fail_all(static_cast<int>(k), ncclRemoteError, ranks);
  }
}

// The roots this process opened, by nonce, until rank 0's communicator, if
// in this process, takes its own (never destroyed: a root no communicator
// took, when another rank made the id, lives until the process exits).
std::mutex g_roots_mutex;
std::map<uint64_t, std::shared_ptr<Root>>& roots() {
  static auto* r = new std::map<uint64_t, std::shared_ptr<Root>>();
  return *r;
}

thread_local std::string t_last_error;  // ncclGetLastError(nullptr), and the text returned

ncclResult_t fail(ncclResult_t r, const std::string& why) {
  t_last_error = why;
  std::fprintf(stderr, "gfemu: %s (%s)\n", why.c_str(), ncclGetErrorString(r));
  return r;
}

}  // namespace

// ---- communicators ----

struct ncclComm {
  struct Job {
    std::vector<WorkPtr> deps;  // what the stream held before this operation
    WorkPtr work;
    const void* send;
    void* recv;
    size_t count;
    ncclDataType_t type;
  };
  int rank = 0, nranks = 0, device = 0, fd = -1;
  std::shared_ptr<Root> root;  // when this process hosts the bootstrap root
  std::mutex m;
  std::condition_variable cv;
  std::deque<Job> queue;        // queued, and the one running at the front (under m)
  bool stop = false;            // under m
  std::string last_error;       // under m
  std::atomic<int> async_error{ncclSuccess};
  std::thread worker;

  void run_worker();
  void set_error(ncclResult_t r, const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(m);
      if (last_error.empty()) last_error = why;
    }
    int ok = ncclSuccess;
    async_error.compare_exchange_strong(ok, r);
    cv.notify_all();  // a ncclCommDestroy waiting for the queue stops waiting
  }
};

void ncclComm::run_worker() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(m);
      cv.wait(lock, [this] { return stop || (!queue.empty() && async_error.load() == ncclSuccess); });
      if (stop) return;
      job = queue.front();  // stays queued until done: ncclCommAbort ends what is left
    }
    for (const WorkPtr& d : job.deps) d->wait();
    const size_t bytes = job.count * type_bytes(job.type);
    // The buffers are device memory, sent and received by system calls: open
    // while their bytes move, not while the root waits for the other ranks.
    auto with_buffer = [](const void* p, const std::function<bool()>& transfer) {
      gfemu::DeviceAccess access;
      access.open(p);
      return transfer();
    };
    Header h{};
    const bool sent = send_header(fd, kAllReduce, job.type, ncclSum, job.count) &&
                      with_buffer(job.send, [&] { return write_all(fd, job.send, bytes); });
    if (!sent || !read_all(fd, &h, sizeof h)) {
      set_error(ncclRemoteError, rank == 0 ? "the bootstrap root closed (this process is shutting down)"
                                           : "rank 0 closed its connection (it exited, or aborted its communicator)");
      continue;  // the operation never completes, as NCCL's kernel would spin
    }
    if (h.type == kFail) {
      set_error(static_cast<ncclResult_t>(h.b), failure_text(h.a, h.b));
      continue;
    }
    if (h.type != kResult || h.n != bytes || !with_buffer(job.recv, [&] { return read_all(fd, job.recv, bytes); })) {
      set_error(ncclRemoteError, "rank 0 closed its connection (it exited, or aborted its communicator)");
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(m);
      queue.pop_front();
    }
    job.work->finish();
    cv.notify_all();
  }
}

namespace {

// Tears a communicator down: the worker ends, what it still held is completed
// (after ncclCommAbort, or a failure), and an abort ends the root too, if this
// process hosts it.
void teardown(ncclComm_t comm, bool abort) {
  {
    std::lock_guard<std::mutex> lock(comm->m);
    comm->stop = true;
  }
  if (abort) ::shutdown(comm->fd, SHUT_RDWR);  // wakes a worker blocked on a peer
  comm->cv.notify_all();
  comm->worker.join();
  for (const ncclComm::Job& j : comm->queue) j.work->finish();
  if (!abort) send_header(comm->fd, kBye);  // the others may have gone already: no answer is awaited
  ::shutdown(comm->fd, SHUT_RDWR);
  ::close(comm->fd);
  // Destroy leaves the root serving the ranks still in their last
  // collective, until each leaves (or this process exits); abort ends it.
  if (comm->root && abort) comm->root->stop();
  delete comm;
}

}  // namespace

extern "C" {

const char* ncclGetErrorString(ncclResult_t r) {
  switch (r) {
    case ncclSuccess: return "no error";
    case ncclUnhandledCudaError: return "unhandled cuda error";
    case ncclSystemError: return "unhandled system error";
    case ncclInternalError: return "internal error";
    case ncclInvalidArgument: return "invalid argument";
    case ncclInvalidUsage: return "invalid usage";
    case ncclRemoteError: return "remote process exited or there was a network error";
    case ncclInProgress: return "NCCL operation in progress";
    default: return "unknown result code";
  }
}

const char* ncclGetLastError(ncclComm_t comm) {
  if (comm) {
    std::lock_guard<std::mutex> lock(comm->m);
    t_last_error = comm->last_error;
  }
  return t_last_error.c_str();
}

ncclResult_t ncclGetVersion(int* version) {
  if (!version) return fail(ncclInvalidArgument, "ncclGetVersion: null pointer");
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

ncclResult_t ncclGetUniqueId(ncclUniqueId* id) {
  if (!id) return fail(ncclInvalidArgument, "ncclGetUniqueId: null pointer");
  uint32_t addr = 0;
  std::string no_address;
  if (!root_address(&addr, &no_address)) return fail(ncclSystemError, "ncclGetUniqueId: " + no_address);
  auto root = std::make_shared<Root>();
  root->listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = addr;
  socklen_t len = sizeof a;
  if (root->listen_fd < 0 || ::bind(root->listen_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(root->listen_fd, 128) != 0 || ::getsockname(root->listen_fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    const std::string why = std::strerror(errno);
    if (root->listen_fd >= 0) ::close(root->listen_fd);
    return fail(ncclSystemError, "ncclGetUniqueId: cannot listen on " + address_text(addr) + ": " + why);
  }
  std::random_device rd;
  root->nonce = (uint64_t(rd()) << 32) ^ rd() ^ uint64_t(::getpid());
  IdBody body{};
  std::memcpy(body.magic, kMagic, sizeof kMagic);
  body.nonce = root->nonce;
  body.addr = addr;
  body.port = ntohs(a.sin_port);
  std::memset(id->internal, 0, sizeof id->internal);
  std::memcpy(id->internal, &body, sizeof body);
  {
    std::lock_guard<std::mutex> lock(g_roots_mutex);
    roots()[root->nonce] = root;
  }
  std::thread([root] { root->run(); }).detach();
  return ncclSuccess;
}

ncclResult_t ncclCommInitRank(ncclComm_t* out, int nranks, ncclUniqueId id, int rank) {
  if (!out) return fail(ncclInvalidArgument, "ncclCommInitRank: null communicator pointer");
  *out = nullptr;
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return fail(ncclInvalidArgument, "ncclCommInitRank: rank " + std::to_string(rank) + " of " +
                                         std::to_string(nranks) + " ranks");
  IdBody body;
  std::memcpy(&body, id.internal, sizeof body);
  if (std::memcmp(body.magic, kMagic, sizeof kMagic) != 0)
    return fail(ncclInvalidArgument, "ncclCommInitRank: the id did not come from ncclGetUniqueId");
  if (const char* f = std::getenv("GFEMU_NCCL_FAIL_INIT"); f && *f) {  // a test's rank that cannot start NCCL
    char* end = nullptr;
    if (std::strtol(f, &end, 10) == rank && *end == '\0')
      return fail(ncclSystemError, "ncclCommInitRank: rank " + std::to_string(rank) +
                                       " fails on purpose (GFEMU_NCCL_FAIL_INIT=" + f + ")");
  }
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = body.addr;
  a.sin_port = htons(body.port);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    const std::string why = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return fail(ncclSystemError, "ncclCommInitRank: rank " + std::to_string(rank) + ": cannot reach the bootstrap "
                                     "root at " + address_text(body.addr) + ":" + std::to_string(body.port) + " (" + why + ")");
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  Header h{};
  if (!send_header(fd, kHello, rank, nranks, body.nonce) || !read_all(fd, &h, sizeof h) || h.type != kReady) {
    ::close(fd);
    if (h.type == kFail && h.b == ncclInvalidUsage)
      return fail(ncclInvalidUsage, "ncclCommInitRank: rank " + std::to_string(rank) + " of " + std::to_string(nranks) +
                                        ": another rank joined with this rank or another number of ranks");
    return fail(ncclRemoteError, "ncclCommInitRank: rank " + std::to_string(rank) +
                                     ": the bootstrap root closed before every rank joined");
  }
  auto* comm = new ncclComm();
  comm->rank = rank;
  comm->nranks = nranks;
  comm->fd = fd;
  cudaGetDevice(&comm->device);
  {
    std::lock_guard<std::mutex> lock(g_roots_mutex);
    auto it = roots().find(body.nonce);
    if (rank == 0 && it != roots().end()) {  // rank 0's communicator ends it
      comm->root = it->second;
      roots().erase(it);
    }
  }
  comm->worker = std::thread([comm] { comm->run_worker(); });
  *out = comm;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm) return ncclSuccess;
  {
    // Operations in flight finish first (unless the communicator has failed:
    // then they never would).
    std::unique_lock<std::mutex> lock(comm->m);
    comm->cv.wait(lock, [comm] { return comm->queue.empty() || comm->async_error.load() != ncclSuccess; });
  }
  teardown(comm, comm->async_error.load() != ncclSuccess);
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (comm) teardown(comm, true);
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t* error) {
  if (!comm || !error) return fail(ncclInvalidArgument, "ncclCommGetAsyncError: null argument");
  *error = static_cast<ncclResult_t>(comm->async_error.load());
  return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int* count) {
  if (!comm || !count) return fail(ncclInvalidArgument, "ncclCommCount: null argument");
  *count = comm->nranks;
  return ncclSuccess;
}

ncclResult_t ncclCommCuDevice(const ncclComm_t comm, int* device) {
  if (!comm || !device) return fail(ncclInvalidArgument, "ncclCommCuDevice: null argument");
  *device = comm->device;
  return ncclSuccess;
}

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int* rank) {
  if (!comm || !rank) return fail(ncclInvalidArgument, "ncclCommUserRank: null argument");
  *rank = comm->rank;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void* send, void* recv, size_t count, ncclDataType_t type, ncclRedOp_t op,
                           ncclComm_t comm, cudaStream_t stream) {
  if (!comm) return fail(ncclInvalidArgument, "ncclAllReduce: null communicator");
  if (op != ncclSum) return fail(ncclInvalidArgument, "ncclAllReduce: only ncclSum is emulated");
  const size_t size = type_bytes(type);
  if (!size)
    return fail(ncclInvalidArgument, "ncclAllReduce: data type " + std::to_string(static_cast<int>(type)) +
                                         " is not emulated (float16)");
  if (const ncclResult_t e = static_cast<ncclResult_t>(comm->async_error.load()))
    return fail(e, "ncclAllReduce: the communicator has failed: " + std::string(ncclGetLastError(comm)));
  const int sd = gfemu::stream_device(stream);
  if (sd != comm->device)
    return fail(ncclInvalidArgument, "ncclAllReduce: " + (sd < 0 ? "not a live stream" : "a stream of device " +
                                         std::to_string(sd)) + ", the communicator's device is " +
                                         std::to_string(comm->device));
  if (count == 0) return ncclSuccess;
  for (const auto& [p, name] : {std::pair<const void*, const char*>{send, "sendbuff"}, {recv, "recvbuff"}}) {
    const std::string why = gfemu::check_device_range(p, count * size, comm->device);
    if (!why.empty()) return fail(ncclInvalidArgument, std::string("ncclAllReduce: ") + name + " " + why);
  }
  auto work = std::make_shared<gfemu::Work>();
  ncclComm::Job job{{}, work, send, recv, count, type};
  const bool on_stream = stream && gfemu::stream_enqueue(stream, work, &job.deps);
  {
    std::lock_guard<std::mutex> lock(comm->m);
    comm->queue.push_back(std::move(job));
  }
  comm->cv.notify_all();
  if (!on_stream) work->wait();  // the null stream holds no asynchronous work: the host waits here
  return ncclSuccess;
}

}  // extern "C"

std::string gfemu::nccl_id_address(const ncclUniqueId& id) {
  IdBody body;
  std::memcpy(&body, id.internal, sizeof body);
  return std::memcmp(body.magic, kMagic, sizeof kMagic) == 0 ? address_text(body.addr) : "";
}
