// Process groups (engine/dist/communicator.h), with the ranks as threads of
// this process over real TCP sockets: the host all-reduce gives the bits of
// the in-process replicas' (engine/collective.h), a rank that goes away or
// hangs is named, and NCCL (a GPU's, or the CUDA emulator's) initializes and
// all-reduces as 1 rank.
// The multi-process launches themselves are tests/cli/distributed.cmake.
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <thread>

#include "engine/collective.h"
#include "engine/dist/communicator.h"
#include "engine/dist/same_run.h"
#include "tests/tcp_ranks.h"
#include "tests/testing.h"

namespace {

using namespace gf;
using gf::test::random_tensor;
using gf::test::free_port;
using gf::test::run_ranks;

const std::vector<Shape> kShapes = {{3, 4}, {7}, {2, 3, 5}};

std::vector<Tensor> rank_tensors(int r) {
  std::vector<Tensor> t;
  for (size_t i = 0; i < kShapes.size(); ++i) t.push_back(random_tensor(kShapes[i], 40 + 10 * r + i, DType::f32));
  return t;
}

}  // namespace

TEST_CASE("[#test_dist] the TCP host all-reduce gives the in-process replicas' bits on every rank") {
  const int world = GENERATE(2, 3);
  std::vector<std::vector<Tensor>> local;
  for (int r = 0; r < world; ++r) local.push_back(rank_tensors(r));
  all_reduce_mean(local);  // the in-process reference
  std::vector<std::vector<std::vector<double>>> got(static_cast<size_t>(world));
  const auto errors = run_ranks(world, 30, [&](int r, Communicator& comm) {
    const std::vector<Tensor> mine = rank_tensors(r);
    all_reduce_mean(comm, mine);
    for (const Tensor& x : mine) got[static_cast<size_t>(r)].push_back(x.to_vector());
  });
  for (int r = 0; r < world; ++r) {
    INFO("rank " << r);
    CHECK(errors[static_cast<size_t>(r)].empty());
    for (size_t i = 0; i < kShapes.size(); ++i) CHECK(got[static_cast<size_t>(r)][i] == local[0][i].to_vector());
  }
}

TEST_CASE("[#test_dist] all_gather, broadcast_from_first and barrier over TCP") {
  const int world = 3;
  std::vector<std::vector<std::vector<double>>> gathered(world);
  std::vector<std::vector<double>> bcast(world);
  const auto errors = run_ranks(world, 30, [&](int r, Communicator& comm) {
    gathered[static_cast<size_t>(r)] = all_gather(comm, {double(r), 0.5 * r + 1});
    comm.barrier();
    const Tensor t = random_tensor({5}, 7 + r, DType::f64);
    broadcast_from_first(comm, {t});
    bcast[static_cast<size_t>(r)] = t.to_vector();
  });
  const std::vector<std::vector<double>> expect = {{0, 1}, {1, 1.5}, {2, 2}};
  for (int r = 0; r < world; ++r) {
    CHECK(errors[static_cast<size_t>(r)].empty());
    CHECK(gathered[static_cast<size_t>(r)] == expect);
    CHECK(bcast[static_cast<size_t>(r)] == random_tensor({5}, 7, DType::f64).to_vector());
  }
}

TEST_CASE("[#test_dist] a rank that leaves is named by rank 0 at once; one that hangs, after the timeout") {
  SECTION("leaves") {
    const auto errors = run_ranks(2, 30, [](int r, Communicator& comm) {
      if (r == 1) return;  // its communicator closes: the connection ends
      std::vector<double> all(2);
      double x = 1;
      comm.gather(&x, sizeof x, all.data());
    });
    CHECK_THAT(errors[0], Catch::Contains("rank 0: rank 1 ") && Catch::Contains("exited or was killed"));
    CHECK(errors[1].empty());
  }
  SECTION("leaves, of three: the third rank, which sees only rank 0, is pointed to rank 0's error") {
    const auto errors = run_ranks(3, 30, [](int r, Communicator& comm) {
      if (r == 2) return;
      const Tensor t = full({4}, double(r));
      all_reduce_mean(comm, {t});
    });
    CHECK_THAT(errors[0], Catch::Contains("rank 0: rank 2 ") && Catch::Contains("exited or was killed"));
    CHECK_THAT(errors[0], !Catch::Contains("because of another rank"));
    CHECK_THAT(errors[1], Catch::Contains("rank 1: rank 0 ") &&
                              Catch::Contains("or rank 0 stopped or waits because of another rank: rank 0's error names it"));
    CHECK(errors[2].empty());
  }
  SECTION("hangs") {
    const auto t0 = std::chrono::steady_clock::now();
    const auto errors = run_ranks(2, 1, [](int r, Communicator& comm) {
      if (r == 1) {  // alive, but never takes part
        std::this_thread::sleep_for(std::chrono::seconds(3));
        return;
      }
      std::vector<double> all(2);
      double x = 1;
      comm.gather(&x, sizeof x, all.data());
    });
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK_THAT(errors[0], Catch::Contains("rank 0: no data from rank 1 for 1 s (GF_DIST_TIMEOUT)"));
    CHECK(took < 10);
  }
}

TEST_CASE("[#test_dist] barrier_within: the ranks wait for rank 0 under its own limit, not GF_DIST_TIMEOUT's") {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  // GF_DIST_TIMEOUT's part is 1 s here (run_ranks' timeout); rank 0 works
  // (evaluates its metrics) for 2.5 s before it meets the others.
  SECTION("a longer limit: rank 1 waits past GF_DIST_TIMEOUT; the next plain wait has GF_DIST_TIMEOUT's again") {
    std::string after;
    const auto errors = run_ranks(2, 1, [&](int r, Communicator& comm) {
      if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      comm.barrier_within(10, "GF_DIST_METRICS_TIMEOUT");
      if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      try {
        comm.barrier();
      } catch (const std::exception& e) {
        if (r == 1) after = e.what();
        throw;
      }
    });
    CHECK_THAT(after, Catch::Contains("rank 1: no data from rank 0 for 1 s (GF_DIST_TIMEOUT)"));
    CHECK_THAT(errors[1], Catch::Contains("GF_DIST_TIMEOUT"));
  }
  SECTION("a short limit: rank 1 names rank 0 and the limit") {
    const Clock::time_point t0 = Clock::now();
    double waited = 0;
    const auto errors = run_ranks(2, 60, [&](int r, Communicator& comm) {
      if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
      const Clock::time_point w0 = Clock::now();
      try {
        comm.barrier_within(0.5, "GF_DIST_METRICS_TIMEOUT");
      } catch (...) {
        if (r == 1) waited = seconds_since(w0);
        throw;
      }
    });
    CHECK_THAT(errors[1], Catch::Contains("rank 1: no data from rank 0 for 0.5 s (GF_DIST_METRICS_TIMEOUT): it hangs or is gone"));
    CHECK(waited < 2);
    CHECK(seconds_since(t0) < 10);
  }
  SECTION("rank 0 leaves during the wait: named at once, not after the long limit") {
    const Clock::time_point t0 = Clock::now();
    const auto errors = run_ranks(2, 60, [&](int r, Communicator& comm) {
      if (r == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        return;  // its communicator closes, as when its metrics threw
      }
      comm.barrier_within(600, "GF_DIST_METRICS_TIMEOUT");
    });
    CHECK_THAT(errors[1], Catch::Contains("rank 1: rank 0 ") && Catch::Contains(": it exited or was killed"));
    CHECK(errors[0].empty());
    CHECK(seconds_since(t0) < 10);
  }
}

TEST_CASE("[#test_dist] within: every wait of the collectives it runs has its limit; GF_DIST_TIMEOUT's comes back after a throw") {
  // GF_DIST_TIMEOUT's part is 1 s here; rank 0 works 1.5 s before each of
  // two gathers inside one `within` of 10 s (rank 0 reading the metrics
  // cache, then forming a result), then throws out of it; the next plain
  // wait has 1 s again.
  std::string inside, after;
  const auto errors = run_ranks(2, 1, [&](int r, Communicator& comm) {
    try {
      comm.within(10, "GF_DIST_METRICS_TIMEOUT", [&] {
        for (int k = 0; k < 2; ++k) {
          if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
          all_gather(comm, {double(r)});
        }
        throw Error("out of the collectives");
      });
    } catch (const Error& e) {
      if (r == 1) inside = e.what();
    }
    if (r == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
    try {
      comm.barrier();
    } catch (const std::exception& e) {
      if (r == 1) after = e.what();
      throw;
    }
  });
  CHECK(inside == "out of the collectives");
  CHECK_THAT(after, Catch::Contains("rank 1: no data from rank 0 for 1 s (GF_DIST_TIMEOUT)"));
  CHECK_THAT(errors[1], Catch::Contains("GF_DIST_TIMEOUT"));
}

TEST_CASE("[#test_dist] GF_DIST_METRICS_TIMEOUT: a day by default, seconds when set, a bad value refused") {
  unsetenv("GF_DIST_METRICS_TIMEOUT");
  CHECK(dist_metrics_timeout_seconds() == 86400);
  setenv("GF_DIST_METRICS_TIMEOUT", "7200", 1);
  CHECK(dist_metrics_timeout_seconds() == 7200);
  setenv("GF_DIST_METRICS_TIMEOUT", "0", 1);
  CHECK_THROWS_WITH(dist_metrics_timeout_seconds(), Catch::Contains("GF_DIST_METRICS_TIMEOUT='0' must be seconds in (0, 1e6]"));
  unsetenv("GF_DIST_METRICS_TIMEOUT");
}

TEST_CASE("[#test_dist] closed_peer names a rank whose connection closed, and reads nothing") {
  // Ranks 1 and 2 send their gather bytes; rank 2 then leaves (while rank 0
  // is in no call of its own), rank 1 stays. Rank 0, asking from its thread
  // as the NCCL watchdog does from another, learns that 2 is gone, then
  // gathers every byte the ranks sent, rank 2's included.
  std::atomic<int> stage{0};
  const auto reaches = [&](int k) {  // within 10 s: a failed rank may not hang the others
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (stage < k && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  std::vector<double> all(3, -1);
  int before = -2, after = -2, peer_of_1 = -2;
  const auto errors = run_ranks(3, 30, [&](int r, Communicator& comm) {
    double x = r;
    if (r == 0) {
      before = comm.closed_peer();
      stage = 1;
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
      while ((after = comm.closed_peer()) < 0 && std::chrono::steady_clock::now() < end)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      stage = 2;
      comm.gather(&x, sizeof x, all.data());
      reaches(3);  // rank 1 asks before rank 0 leaves
      return;
    }
    comm.gather(&x, sizeof x, nullptr);
    reaches(1);
    if (r == 2) return;  // its communicator closes
    reaches(2);
    peer_of_1 = comm.closed_peer();  // rank 0 is still there
    stage = 3;
  });
  CHECK(errors == std::vector<std::string>(3));
  CHECK(before == -1);
  CHECK(after == 2);
  CHECK(all == std::vector<double>{0, 1, 2});
  CHECK(peer_of_1 == -1);
}

TEST_CASE("[#test_dist] the rendezvous names the ranks that never joined, within its own limit") {
  using Clock = std::chrono::steady_clock;
  const auto seconds_since = [](Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  SECTION("rank 0 and rank 1 of 4 start: rank 0 names 2 and 3; rank 1 learns the start failed") {
    const int port = free_port();
    std::string e0, e1;
    const Clock::time_point t0 = Clock::now();
    std::thread one([&] {
      try {
        make_tcp_communicator(1, 4, 1, "127.0.0.1", port, 600, 1);
      } catch (const std::exception& e) {
        e1 = e.what();
      }
    });
    try {
      make_tcp_communicator(0, 4, 0, "127.0.0.1", port, 600, 1);  // GF_DIST_TIMEOUT's 600 s must not apply
    } catch (const std::exception& e) {
      e0 = e.what();
    }
    one.join();
    CHECK_THAT(e0, Catch::Contains("rank 0: ranks 2, 3 of 4 did not join within 1 s (GF_DIST_RENDEZVOUS_TIMEOUT)"));
    CHECK_THAT(e1, Catch::Contains("rank 1: rank 0 closed its connection") &&
                       Catch::Contains("during the rendezvous"));
    CHECK(seconds_since(t0) < 10);
  }
  SECTION("rank 1 alone: rank 0 is never reached") {
    const Clock::time_point t0 = Clock::now();
    CHECK_THROWS_WITH(make_tcp_communicator(1, 2, 1, "127.0.0.1", free_port(), 600, 0.5),
                      Catch::Contains("rank 1: cannot reach rank 0 at 127.0.0.1:") &&
                          Catch::Contains("within 0.5 s (GF_DIST_RENDEZVOUS_TIMEOUT)"));
    CHECK(seconds_since(t0) < 10);
  }
}

TEST_CASE("[#test_dist] a second process joining as a rank already in is refused, and the run goes on") {
  // Another job's rank 1 on the same port: rank 0 stopped its own run, or
  // took whichever came first and left the other with a reset connection.
  const int port = free_port();
  std::string e0 = "none", e1 = "none", e2 = "none", stray = "none";
  std::atomic<int> finished{0};
  auto join = [&](int rank, std::string& error) {
    try {
      auto comm = make_tcp_communicator(rank, 3, rank, "127.0.0.1", port, 30, 20);
      comm->barrier();
      error.clear();
    } catch (const std::exception& e) {
      error = e.what();
    }
    ++finished;
  };
  std::thread zero(join, 0, std::ref(e0)), one(join, 1, std::ref(e1));
  // The stray joins once rank 1 is likely in (rank 0 keeps listening for
  // rank 2). Whichever of the two came second is refused at once and ends;
  // the other waits for rank 2, started once one of them has ended.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::thread second(join, 1, std::ref(stray));
  for (int waited = 0; finished.load() == 0 && waited < 100; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(finished.load() == 1);  // the refusal came within 10 s, not after a limit
  std::thread two(join, 2, std::ref(e2));
  for (std::thread* t : {&zero, &one, &second, &two}) t->join();
  CHECK(e0.empty());
  CHECK(e2.empty());
  CHECK((e1.empty() || stray.empty()));
  const std::string& refused = e1.empty() ? stray : e1;
  CHECK_THAT(refused, Catch::Contains("rank 1: rank 0 at 127.0.0.1:") &&
                          Catch::Contains("already has a rank 1: another job on this port?"));
}

TEST_CASE("[#test_dist] a process joining with another WORLD_SIZE is refused, and the run goes on") {
  // Another job's rank 1 of 3 on a port where a run of 2 waits: rank 0
  // stopped its own run ("a process joined as rank 1 of 3"), and this run's
  // own rank 1 then waited out the rendezvous.
  using Clock = std::chrono::steady_clock;
  const int port = free_port();
  std::string e0 = "none", e1 = "none", other = "none";
  std::atomic<bool> other_done{false};
  auto join = [&](int rank, int world, std::string& error) {
    try {
      auto comm = make_tcp_communicator(rank, world, rank, "127.0.0.1", port, 30, 20);
      comm->barrier();
      error.clear();
    } catch (const std::exception& e) {
      error = e.what();
    }
  };
  std::thread zero(join, 0, 2, std::ref(e0));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const Clock::time_point t0 = Clock::now();
  std::thread intruder([&] {
    join(1, 3, other);
    other_done = true;
  });
  for (int waited = 0; !other_done.load() && waited < 100; ++waited)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(std::chrono::duration<double>(Clock::now() - t0).count() < 10);  // told at once
  std::thread one(join, 1, 2, std::ref(e1));
  for (std::thread* t : {&zero, &intruder, &one}) t->join();
  CHECK(e0.empty());
  CHECK(e1.empty());
  CHECK_THAT(other, Catch::Contains("rank 1: rank 0 at 127.0.0.1:") &&
                        Catch::Contains("runs 2 processes, and this one was started with WORLD_SIZE 3: another job on this port"));
}

TEST_CASE("[#test_dist] rank 0's rendezvous error names a process refused for its WORLD_SIZE") {
  const int port = free_port();
  std::string e0 = "none", other = "none";
  std::thread zero([&] {
    try {
      make_tcp_communicator(0, 2, 0, "127.0.0.1", port, 30, 2);
    } catch (const std::exception& e) {
      e0 = e.what();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  try {
    make_tcp_communicator(1, 4, 1, "127.0.0.1", port, 30, 20);
  } catch (const std::exception& e) {
    other = e.what();
  }
  zero.join();
  CHECK_THAT(other, Catch::Contains("started with WORLD_SIZE 4"));
  CHECK_THAT(e0, Catch::Contains("rank 1 of 2 did not join within 2 s") &&
                     Catch::Contains("refused meanwhile: a process joining as rank 1 of 4"));
}

TEST_CASE("[#test_dist] malformed launcher variables are refused with one line") {
  setenv("WORLD_SIZE", "2", 1);
  setenv("RANK", "2", 1);
  CHECK_THROWS_WITH(communicator_from_environment(), Catch::Contains("RANK='2' must be a whole number in [0, 1]"));
  unsetenv("RANK");
  CHECK_THROWS_WITH(communicator_from_environment(), Catch::Contains("RANK is not"));
  // MASTER_ADDR and MASTER_PORT are required, as torch's env:// requires
  // them; GF_DIST_RENDEZVOUS_PORT stands for MASTER_PORT.
  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "1", 1);
  CHECK_THROWS_WITH(communicator_from_environment(), Catch::Contains("WORLD_SIZE is set but MASTER_ADDR is not"));
  setenv("MASTER_ADDR", "", 1);
  CHECK_THROWS_WITH(communicator_from_environment(), Catch::Contains("MASTER_ADDR is empty"));
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  CHECK_THROWS_WITH(communicator_from_environment(), Catch::Contains("MASTER_PORT is not"));
  setenv("GF_DIST_RENDEZVOUS_PORT", "0", 1);  // given, so MASTER_PORT is not needed; 0 itself is refused
  CHECK_THROWS_WITH(communicator_from_environment(), Catch::Contains("GF_DIST_RENDEZVOUS_PORT='0' must be"));
  for (const char* v : {"RANK", "WORLD_SIZE", "MASTER_ADDR", "GF_DIST_RENDEZVOUS_PORT"}) unsetenv(v);
  CHECK(communicator_from_environment() == nullptr);
}

TEST_CASE("[#test_dist] under torchrun's own store the rendezvous moves to MASTER_PORT + 1; a taken port is named") {
  const char* vars[] = {"GF_DIST_RENDEZVOUS_PORT", "MASTER_PORT", "MASTER_ADDR", "TORCHELASTIC_USE_AGENT_STORE", "WORLD_SIZE", "RANK",
                        "GF_DIST_RENDEZVOUS_TIMEOUT"};
  for (const char* v : vars) unsetenv(v);
  CHECK(rendezvous_port_from_environment().port == 29500);
  setenv("MASTER_PORT", "29600", 1);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "False", 1);  // torchrun's c10d rendezvous: MASTER_PORT is ours
  RendezvousPort p = rendezvous_port_from_environment();
  CHECK(p.port == 29600);
  CHECK(p.source == "MASTER_PORT");
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);  // its static rendezvous: the agent listens on MASTER_PORT
  p = rendezvous_port_from_environment();
  CHECK(p.port == 29601);
  CHECK(p.variable == "GF_DIST_RENDEZVOUS_PORT");
  setenv("GF_DIST_RENDEZVOUS_PORT", "12345", 1);
  CHECK(rendezvous_port_from_environment().port == 12345);
  setenv("GF_DIST_RENDEZVOUS_PORT", "0", 1);
  CHECK_THROWS_WITH(rendezvous_port_from_environment(),
                    Catch::Contains("GF_DIST_RENDEZVOUS_PORT='0' must be a whole number in [1, 65535]"));
  unsetenv("GF_DIST_RENDEZVOUS_PORT");
  setenv("MASTER_PORT", "65535", 1);
  CHECK_THROWS_WITH(rendezvous_port_from_environment(), Catch::Contains("set GF_DIST_RENDEZVOUS_PORT"));

  // Another process listens on MASTER_PORT + 1: rank 0 says so at once, and what to set.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(fd, 1) == 0);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  const int taken = ntohs(a.sin_port);
  setenv("MASTER_PORT", std::to_string(taken - 1).c_str(), 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("RANK", "0", 1);
  setenv("GF_DIST_RENDEZVOUS_TIMEOUT", "1", 1);  // bounds the wait, should the port be free after all
  CHECK_THROWS_WITH(communicator_from_environment(),
                    Catch::Contains("rank 0: cannot listen on port " + std::to_string(taken) +
                                    " (MASTER_PORT + 1: torchrun's agent holds MASTER_PORT): ") &&
                        Catch::Contains("set GF_DIST_RENDEZVOUS_PORT to a port free on this machine"));
  ::close(fd);
  for (const char* v : vars) unsetenv(v);
}

TEST_CASE("[#test_dist] NCCL initializes and all-reduces on one rank's GPU", "[cuda]") {
  // On the CUDA emulator: its NCCL (tools/cuda_emu/include/nccl.h).
  REQUIRE(nccl_built());  // a CUDA build without NCCL has no one-process-per-GPU training
  auto comm = make_nccl_communicator(make_tcp_communicator(0, 1, 0, "127.0.0.1", 0, 30, 30), 0);
  const Device gpu = Device::cuda(0);
  CHECK(comm->reduces_on_device(gpu));
  CHECK_FALSE(comm->reduces_on_device(Device::cpu()));
  for (DType t : {DType::f32, DType::f64}) {
    const Tensor x = random_tensor({1000}, 5, t, gpu);
    const std::vector<double> before = x.to_vector();
    comm->all_reduce_sum_device(x);  // the sum over one rank: the values themselves
    CHECK(x.to_vector() == before);
  }
}

TEST_CASE("[#test_dist] first_difference names the first item that differs, theirs first") {
  const std::vector<RunItem> first = {{"--cfg", "tiny"}, {"--gamma", "1"}, {"--seed", "0"}};
  CHECK(first_difference(first, first) == "");
  CHECK(first_difference({{"--cfg", "small"}, {"--gamma", "2"}, {"--seed", "0"}}, first) == "--cfg 'small' vs 'tiny'");
  CHECK(first_difference({{"--cfg", "tiny"}, {"--gamma", "2"}, {"--seed", "0"}}, first) == "--gamma '2' vs '1'");
  CHECK(first_difference({{"--cfg", "tiny"}, {"--gamma", "1"}}, first) == "--seed: missing vs '0'");
  CHECK(first_difference({{"--cfg", "tiny"}, {"--gamma", "1"}, {"--seed", "0"}, {"--x", "1"}}, first) ==
        "--x '1' vs missing");
  CHECK(first_difference({{"--cfg", "tiny"}, {"--p", "1"}}, first) == "--p '1' vs --gamma '1'");
  const std::vector<RunItem> odd = {{"a\tb", std::string("x\0y\n", 4)}, {"", ""}};
  const std::vector<RunItem> back = decode_run_items(encode_run_items(odd));
  REQUIRE(back.size() == 2);
  CHECK(first_difference(back, odd) == "");
  CHECK_THROWS_WITH(decode_run_items(encode_run_items(odd).substr(0, 10)), "a run description is cut short");
}

TEST_CASE("[#test_dist] check_same_run: agreeing ranks pass; one that differs stops every rank with one line") {
  const std::vector<RunItem> base = {{"--cfg", "tiny"}, {"--gamma", "1"}, {"G parameter b4.weight", "[512,3]"}};
  auto same = run_ranks(3, 30, [&](int, Communicator& comm) {
    check_same_run(comm, base);
    all_gather(comm, {1.0});  // the collectives after it still pair up
  });
  for (const std::string& e : same) CHECK(e == "");
  // Rank 2 differs in one value, rank 1 has one item more: rank 1, the first, is named.
  auto differ = run_ranks(3, 30, [&](int r, Communicator& comm) {
    std::vector<RunItem> mine = base;
    if (r == 2) mine[0].value = "small";
    if (r == 1) mine.push_back({"--freezed", "2"});
    check_same_run(comm, mine);
  });
  for (int r = 0; r < 3; ++r)
    CHECK(differ[static_cast<size_t>(r)] ==
          "rank " + std::to_string(r) +
              ": rank 1's run differs from rank 0's: --freezed '2' vs missing (every rank must be launched with the "
              "same flags, data and checkpoint)");
  auto cfg = run_ranks(2, 30, [&](int r, Communicator& comm) {
    std::vector<RunItem> mine = base;
    if (r == 1) mine[0].value = "small";
    check_same_run(comm, mine);
  });
  CHECK_THAT(cfg[0], Catch::Matchers::Contains("rank 0: rank 1's run differs from rank 0's: --cfg 'small' vs 'tiny'"));
  CHECK_THAT(cfg[1], Catch::Matchers::Contains("rank 1: rank 1's run differs from rank 0's: --cfg 'small' vs 'tiny'"));
}
