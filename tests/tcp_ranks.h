// Ranks of a process group as threads of the test process, joined through
// real TCP sockets on the loopback (engine/dist/communicator.h), for the
// tests of collectives and of what uses them.
#pragma once
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "engine/dist/communicator.h"

namespace gf::test {

// A loopback port nothing listens on now (the kernel's pick).
inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

// Runs body(rank, comm) on `world` threads joined through TCP, each wait
// bounded by timeout_s; the error message each rank threw ("" when none).
// A rank that throws closes its communicator, as its process would end.
inline std::vector<std::string> run_ranks(int world, double timeout_s,
                                          const std::function<void(int, Communicator&)>& body) {
  const int port = free_port();
  std::vector<std::string> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r)
    threads.emplace_back([&, r] {
      try {
        auto comm = make_tcp_communicator(r, world, r, "127.0.0.1", port, timeout_s, 30);
        body(r, *comm);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace gf::test
