// The torchrun-style process group: rank 0 listens on the rendezvous port
// (MASTER_PORT, or MASTER_PORT + 1 under torchrun's own store, or
// GF_DIST_RENDEZVOUS_PORT: rendezvous_port_from_environment), every other rank
// connects to MASTER_ADDR on that port and says who it is. The star around
// rank 0 then carries the collectives' host bytes: a gather reads every rank's
// bytes at rank 0, a broadcast writes rank 0's to every rank. That is the
// whole data path for CPU processes (fixed order, so deterministic); with
// NCCL it only carries the unique id and the loss statistics.
//
// The rendezvous (every rank joins rank 0, then rank 0 welcomes each) has its
// own, shorter limit (GF_DIST_RENDEZVOUS_TIMEOUT): a rank that never starts is
// named after that, not after the long wait meant for a slow minibatch.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>
#include <utility>

#include "engine/dist/communicator.h"
#include "engine/dist/deadline.h"
#include "engine/error.h"

namespace gf {
namespace {

using Clock = DeadlineClock;

constexpr uint32_t kMagic = 0x67664431;  // "gfD1": a ganforge rank, protocol 1

struct Hello {
  uint32_t magic, rank, world;
};

// Rank 0's answer to a second process that joins as a rank it already has
// (rank field): that process is refused and told why; the run goes on.
constexpr uint32_t kRankTaken = 0xFFFFFFFFu;
// The same to a process that joins with another WORLD_SIZE (world field:
// rank 0's): another job on this port, or a rank of this job started with
// another WORLD_SIZE; either way that process is told, and this run goes on
// waiting (its rendezvous error, should its ranks not come, names it).
constexpr uint32_t kWorldDiffers = 0xFFFFFFFEu;

// How long rank 0 waits for a new connection's hello (a rank sends it at once).
constexpr double kHelloLimitS = 10;

std::string errno_text() { return std::strerror(errno); }

class TcpCommunicator final : public Communicator {
 public:
  TcpCommunicator(int rank, int world, int local, const std::string& addr, int port, double timeout,
                  double rendezvous, std::string port_source, std::string port_variable)
      : rank_(rank), world_(world), local_(local), rendezvous_(rendezvous),
        port_source_(std::move(port_source)), port_variable_(std::move(port_variable)),
        fds_(static_cast<size_t>(world), -1) {
    wait_limit_s_ = timeout;
    GF_CHECK(world >= 1 && rank >= 0 && rank < world, "tcp", "rank " << rank << " is outside world size " << world);
    if (world == 1) return;
    try {
      if (rank == 0)
        accept_all(port);
      else
        connect_to_root(addr, port);
    } catch (...) {
      close_all();  // the ranks that joined see their connection close now
      throw;
    }
  }
  ~TcpCommunicator() override { close_all(); }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  int local_rank() const override { return local_; }
  std::string backend() const override { return "tcp"; }

  void gather(const void* mine, size_t bytes, void* all) override {
    if (rank_ != 0) {
      send_all(0, mine, bytes);
      return;
    }
    char* out = static_cast<char*>(all);
    std::memcpy(out, mine, bytes);
    // Read from every rank as its bytes come, so a dead rank is noticed
    // while waiting on another.
    std::vector<size_t> got(static_cast<size_t>(world_), 0);
    got[0] = bytes;
    const Clock::time_point deadline = deadline_after(wait_limit_s_);
    for (;;) {
      std::vector<pollfd> p;
      std::vector<int> who;
      for (int r = 1; r < world_; ++r)
        if (got[static_cast<size_t>(r)] < bytes) {
          p.push_back({fds_[static_cast<size_t>(r)], POLLIN, 0});
          who.push_back(r);
        }
      if (p.empty()) return;
      const int n = ::poll(p.data(), p.size(), wait_ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error("rank 0: poll failed: " + errno_text());
      if (n == 0) throw Error("rank 0: no data from rank " + std::to_string(who.front()) + " for " + seconds() +
                              " (" + wait_limit_name_ + "): it hangs or is gone");
      for (size_t i = 0; i < p.size(); ++i) {
        if (!p[i].revents) continue;
        const size_t r = static_cast<size_t>(who[i]);
        const ssize_t k = ::recv(p[i].fd, out + r * bytes + got[r], bytes - got[r], 0);
        if (k <= 0) lost(who[i], k);
        got[r] += static_cast<size_t>(k);
      }
    }
  }

  void broadcast(void* buf, size_t bytes) override {
    if (world_ == 1) return;
    if (rank_ == 0) {
      for (int r = 1; r < world_; ++r) send_all(r, buf, bytes);
      return;
    }
    recv_all(0, buf, bytes);
  }

  // Polls each connection with no wait for the peer's end of it: POLLRDHUP
  // (its FIN) even behind data it sent before (a gather it had begun), or a
  // reset. Reads nothing, so the owner's next recv sees the same bytes.
  int closed_peer() const override {
    if (world_ == 1) return -1;
    std::vector<pollfd> p;
    std::vector<int> who;
    for (int r = 0; r < world_; ++r)
      if (r != rank_ && fds_[static_cast<size_t>(r)] >= 0) {
        p.push_back({fds_[static_cast<size_t>(r)], POLLRDHUP, 0});
        who.push_back(r);
      }
    if (::poll(p.data(), p.size(), 0) <= 0) return -1;
    for (size_t i = 0; i < p.size(); ++i)
      if (p[i].revents & (POLLRDHUP | POLLHUP | POLLERR)) return who[i];
    return -1;
  }

 private:
  int rank_, world_, local_;
  double rendezvous_;
  std::string port_source_, port_variable_;  // where the port came from; what to set instead
  std::vector<int> fds_;  // rank 0: one per other rank; elsewhere fds_[0], the link to rank 0
  int listen_fd_ = -1;
  bool stray_said_ = false;  // rank 0 warned of a connection that is no rank
  std::string refused_;      // rank 0: the first process refused for another WORLD_SIZE, for its rendezvous error

  void close_all() {
    for (int& fd : fds_)
      if (fd >= 0) ::close(std::exchange(fd, -1));
    if (listen_fd_ >= 0) ::close(std::exchange(listen_fd_, -1));
  }

  std::string seconds() const { return seconds_text(wait_limit_s_); }

  static int wait_ms(Clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return static_cast<int>(std::max<long long>(0, std::min<long long>(left, 1 << 30)));
  }

  // Ranks other than 0 see only rank 0, which stops (or waits) when another rank is lost or hangs.
  std::string via_root() const {
    return rank_ != 0 && world_ > 2 ? " (or rank 0 stopped or waits because of another rank: rank 0's error names it)" : "";
  }

  [[noreturn]] void lost(int peer, ssize_t k) const {
    const std::string why = k == 0 ? "closed its connection" : "connection failed (" + errno_text() + ")";
    throw Error("rank " + std::to_string(rank_) + ": rank " + std::to_string(peer) + " " + why +
                ": it exited or was killed" + via_root());
  }

  void send_all(int peer, const void* data, size_t bytes) {
    const char* p = static_cast<const char*>(data);
    const int fd = fds_[static_cast<size_t>(peer)];
    const Clock::time_point deadline = deadline_after(wait_limit_s_);
    while (bytes > 0) {
      pollfd q{fd, POLLOUT, 0};
      const int n = ::poll(&q, 1, wait_ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0)
        throw Error("rank " + std::to_string(rank_) + ": rank " + std::to_string(peer) + " took no data for " +
                    seconds() + " (" + wait_limit_name_ + "): it hangs or is gone");
      const ssize_t k = ::send(fd, p, bytes, MSG_NOSIGNAL);
      if (k < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (k <= 0) lost(peer, k < 0 ? -1 : 0);
      p += k;
      bytes -= static_cast<size_t>(k);
    }
  }

  // `limit_s` (default the current limit, wait_limit_s_) bounds the wait; `limit_name` names it.
  void recv_all(int peer, void* data, size_t bytes, double limit_s = -1, const char* limit_name = nullptr) {
    char* p = static_cast<char*>(data);
    const int fd = fds_[static_cast<size_t>(peer)];
    if (limit_s < 0) limit_s = wait_limit_s_;
    if (!limit_name) limit_name = wait_limit_name_.c_str();
    const Clock::time_point deadline = deadline_after(limit_s);
    while (bytes > 0) {
      pollfd q{fd, POLLIN, 0};
      const int n = ::poll(&q, 1, wait_ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0)
        throw Error("rank " + std::to_string(rank_) + ": no data from rank " + std::to_string(peer) + " for " +
                    seconds_text(limit_s) + " (" + limit_name + "): it hangs or is gone" +
                    (peer == 0 ? via_root() : std::string()));
      const ssize_t k = ::recv(fd, p, bytes, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) lost(peer, k);
      p += k;
      bytes -= static_cast<size_t>(k);
    }
  }

  void accept_all(int port) {
    listen_fd_ = ::socket(AF_INET6, SOCK_STREAM, 0);
    bool v6 = listen_fd_ >= 0;
    if (!v6) listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw Error("rank 0: socket: " + errno_text());
    int one = 1, zero = 0;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (v6) {
      ::setsockopt(listen_fd_, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);  // IPv4 peers too
      sockaddr_in6 a{};
      a.sin6_family = AF_INET6;
      a.sin6_addr = in6addr_any;
      a.sin6_port = htons(static_cast<uint16_t>(port));
      rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    } else {
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_ANY);
      a.sin_port = htons(static_cast<uint16_t>(port));
      rc = ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    }
    if (rc != 0 || ::listen(listen_fd_, world_) != 0)
      throw Error("rank 0: cannot listen on port " + std::to_string(port) + " (" + port_source_ + "): " +
                  errno_text() + "; set " + port_variable_ + " to a port free on this machine, the same for every rank");
    const Clock::time_point deadline = deadline_after(rendezvous_);
    for (int joined = 1; joined < world_;) {
      pollfd q{listen_fd_, POLLIN, 0};
      const int n = ::poll(&q, 1, wait_ms(deadline));
      if (n < 0 && errno == EINTR) continue;
      if (n == 0) {
        std::string missing;
        int n_missing = 0;
        for (int r = 1; r < world_; ++r)
          if (fds_[static_cast<size_t>(r)] < 0) {
            missing += (missing.empty() ? "" : ", ") + std::to_string(r);
            ++n_missing;
          }
        throw Error("rank 0: " + std::string(n_missing == 1 ? "rank " : "ranks ") + missing + " of " +
                    std::to_string(world_) + " did not join within " + seconds_text(rendezvous_) +
                    " (GF_DIST_RENDEZVOUS_TIMEOUT): start every rank with the same WORLD_SIZE, MASTER_ADDR and "
                    "port (" + port_source_ + ")" + refused_);
      }
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      set_nodelay(fd);
      fds_[0] = fd;  // borrowed for the hello
      Hello h{};
      // A rank says who it is as soon as it connects; a connection that says
      // nothing within kHelloLimitS (a port scan, a health check) is closed,
      // and may not hold up the rendezvous to its end.
      const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
      try {
        recv_all(0, &h, sizeof h, std::max(0.001, std::min(left, kHelloLimitS)), "the hello's limit");
      } catch (const Error&) {
        ::close(fd);
        fds_[0] = -1;
        continue;
      }
      fds_[0] = -1;
      if (h.magic != kMagic) {  // not a ganforge process: passed over, said once
        ::close(fd);
        if (!stray_said_) std::cerr << "rank 0: warning: closed a connection on port " << port << " (" << port_source_
                                    << ") that is no ganforge rank; still waiting for the ranks\n";
        stray_said_ = true;
        continue;
      }
      if (h.magic == kMagic && h.world == static_cast<uint32_t>(world_) && h.rank > 0 &&
          h.rank < static_cast<uint32_t>(world_) && fds_[h.rank] >= 0) {
        // A rank that is here already: the later process is most likely one
        // of another job on this port. It is told so; this run keeps its own.
        const Hello taken{kMagic, kRankTaken, static_cast<uint32_t>(world_)};
        (void)!::send(fd, &taken, sizeof taken, MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      if (h.world != static_cast<uint32_t>(world_) || h.rank == 0 || h.rank >= static_cast<uint32_t>(world_)) {
        const Hello differs{kMagic, kWorldDiffers, static_cast<uint32_t>(world_)};
        (void)!::send(fd, &differs, sizeof differs, MSG_NOSIGNAL);
        ::close(fd);
        if (refused_.empty())
          refused_ = "; refused meanwhile: a process joining as rank " + std::to_string(h.rank) + " of " + std::to_string(h.world);
        continue;
      }
      fds_[h.rank] = fd;
      ++joined;
    }
    ::close(listen_fd_);
    listen_fd_ = -1;
    // Every rank joined: tell each, so that none starts before all are here.
    const Hello welcome{kMagic, 0, static_cast<uint32_t>(world_)};
    for (int r = 1; r < world_; ++r) send_all(r, &welcome, sizeof welcome);
  }

  void connect_to_root(const std::string& addr, int port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    const int g = ::getaddrinfo(addr.c_str(), std::to_string(port).c_str(), &hints, &res);
    if (g != 0) throw Error("rank " + std::to_string(rank_) + ": MASTER_ADDR '" + addr + "': " + gai_strerror(g));
    const Clock::time_point deadline = deadline_after(rendezvous_);
    int fd = -1;
    while (fd < 0) {  // rank 0 may not listen yet
      for (addrinfo* a = res; a && fd < 0; a = a->ai_next) {
        fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
          ::close(fd);
          fd = -1;
        }
      }
      if (fd >= 0) break;
      if (Clock::now() > deadline) {
        ::freeaddrinfo(res);
        throw Error("rank " + std::to_string(rank_) + ": cannot reach rank 0 at " + addr + ":" + std::to_string(port) +
                    " within " + seconds_text(rendezvous_) +
                    " (GF_DIST_RENDEZVOUS_TIMEOUT): is rank 0 running, with this MASTER_ADDR and port (" + port_source_ +
                    ")?");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ::freeaddrinfo(res);
    set_nodelay(fd);
    fds_[0] = fd;
    const Hello h{kMagic, static_cast<uint32_t>(rank_), static_cast<uint32_t>(world_)};
    send_all(0, &h, sizeof h);
    // Rank 0 welcomes every rank once all joined, or closes the connection
    // when one did not (its own error names which). A margin beyond rank 0's
    // limit, so rank 0, which knows the missing ranks, speaks first.
    Hello w{};
    try {
      recv_all(0, &w, sizeof w, rendezvous_ + 10, "GF_DIST_RENDEZVOUS_TIMEOUT + 10 s");
    } catch (const Error& e) {
      // Rank 0 also closes a connection it never accepted: once its ranks
      // are all in, it stops listening, and one that took this rank's place
      // (a process of another job on the same port) is in.
      throw Error(std::string(e.what()) + " (during the rendezvous: rank 0 names the ranks that did not join; or "
                  "another process joined as rank " + std::to_string(rank_) + " first: another job on this port?)");
    }
    if (w.magic == kMagic && w.rank == kWorldDiffers)
      throw Error("rank " + std::to_string(rank_) + ": rank 0 at " + addr + ":" + std::to_string(port) + " runs " +
                  std::to_string(w.world) + " processes, and this one was started with WORLD_SIZE " +
                  std::to_string(world_) + ": another job on this port, or give every rank the same WORLD_SIZE");
    if (w.magic == kMagic && w.rank == kRankTaken)
      throw Error("rank " + std::to_string(rank_) + ": rank 0 at " + addr + ":" + std::to_string(port) +
                  " already has a rank " + std::to_string(rank_) + ": another job on this port? (each job needs its own " +
                  port_variable_ + ", and each rank its own RANK)");
    if (w.magic != kMagic || w.world != static_cast<uint32_t>(world_))
      throw Error("rank " + std::to_string(rank_) + ": the process at " + addr + ":" + std::to_string(port) +
                  " is not rank 0 of this run of " + std::to_string(world_));
  }

  static void set_nodelay(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
};

}  // namespace

std::unique_ptr<Communicator> make_tcp_communicator(int rank, int world_size, int local_rank,
                                                    const std::string& master_addr, int master_port,
                                                    double timeout_s, double rendezvous_timeout_s,
                                                    const std::string& port_source,
                                                    const std::string& port_variable) {
  return std::make_unique<TcpCommunicator>(rank, world_size, local_rank, master_addr, master_port, timeout_s,
                                           rendezvous_timeout_s, port_source, port_variable);
}

}  // namespace gf
