// metrics/linear_svc_pool.h: linear SVC fits in forked worker processes give
// the fits of one process's, in order, for any number of workers; what a
// refused fit, a dying worker, a stop signal and a caller that stops it
// come to.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/host_memory.h"
#include "engine/numpy_random_state.h"
#include "metrics/linear_svc.h"
#include "metrics/linear_svc_pool.h"
#include "tests/testing.h"
#include "train/stop_signal.h"

using namespace gf;
using namespace gf::metrics;

namespace {

// Fit i: rows of a noisy plane in d dimensions, of a size and seed of its
// own (rows near the plane make the solver's shuffle matter).
struct Problem {
  int64_t n, d;
  std::vector<float> x;
  std::vector<int> labels;
};

Problem problem(size_t i) {
  Problem p{int64_t(300 + 97 * i), int64_t(6 + i % 3), {}, {}};
  NumpyRandomState rs(uint32_t(10 + i));
  for (int64_t k = 0; k < p.n * p.d; ++k) p.x.push_back(static_cast<float>(rs.randn()));
  for (int64_t r = 0; r < p.n; ++r) {
    double s = 0.4 * rs.randn();
    for (int64_t j = 0; j < p.d; ++j) s += double(p.x[size_t(r * p.d + j)]) * (j % 2 ? 1.0 : -0.5);
    p.labels.push_back(s > 0 ? 1 : 0);
  }
  return p;
}

std::vector<std::string> names(size_t n) {
  std::vector<std::string> v;
  for (size_t i = 0; i < n; ++i) v.push_back("fit " + std::to_string(i));
  return v;
}

// No child of this process is left (running or unreaped).
bool no_children() { return ::waitpid(-1, nullptr, WNOHANG) < 0 && errno == ECHILD; }

}  // namespace

TEST_CASE("fit_linear_svcs: the fits of one process, in order, for any number of workers", "[ls]") {
  const size_t count = 7;
  std::vector<Problem> problems;
  for (size_t i = 0; i < count; ++i) problems.push_back(problem(i));
  // Fit 3 refuses its rows (a NaN), as sklearn would.
  problems[3].x[5] = std::nanf("");
  const auto fit = [&](size_t i) {
    const Problem& p = problems[i];
    return fit_linear_svc(p.x.data(), p.n, p.d, p.labels);
  };
  std::vector<std::vector<int>> alone;
  for (size_t i = 0; i < count; ++i) {
    if (i == 3) {
      CHECK_THROWS_WITH(fit(i), Catch::Contains("row 0 holds nan"));
      alone.emplace_back();
      continue;
    }
    alone.push_back(fit(i).predictions);
  }
  for (const int workers : {1, 2, 3, 16}) {
    INFO(workers << " workers");
    std::vector<size_t> order;
    std::vector<SvcOutcome> got;
    fit_linear_svcs(names(count), 300 + 97 * int64_t(count), workers, fit, [&](size_t i, SvcOutcome o) {
      order.push_back(i);
      got.push_back(std::move(o));
    });
    REQUIRE(order.size() == count);
    for (size_t i = 0; i < count; ++i) {
      INFO("fit " << i);
      CHECK(order[i] == i);
      CHECK(got[i].predictions == alone[i]);
      CHECK(got[i].converged);
      if (i == 3)
        CHECK_THAT(got[i].error, Catch::StartsWith("linear_svc: row 0 holds nan"));
      else
        CHECK(got[i].error.empty());
    }
    CHECK(no_children());
  }
}

TEST_CASE("fit_linear_svcs: a worker that dies, a stop signal, a caller that stops", "[ls]") {
  const auto sleeper = [](size_t i) {
    if (i == 0) return fit_linear_svc(problem(0).x.data(), problem(0).n, problem(0).d, problem(0).labels);
    std::this_thread::sleep_for(std::chrono::seconds(60));
    return LinearSvcFit{};
  };
  SECTION("killed (the OOM killer's SIGKILL)") {
    CHECK_THROWS_WITH(fit_linear_svcs(names(2), 1000, 2,
                                      [](size_t i) {
                                        if (i == 1) ::raise(SIGKILL);
                                        return LinearSvcFit{};
                                      },
                                      [](size_t, SvcOutcome) {}),
                      "linear_svc: the process fitting fit 1 was killed by signal 9 (Killed; out of memory?)");
  }
  SECTION("a stop signal: the workers die of it too, the run stops as Interrupted") {
    // SIGTERM: a background job's SIGINT may be ignored, and stays so in the workers.
    set_stop_signal_for_test(SIGTERM);  // as a training run's handler would have it
    CHECK_THROWS_AS(fit_linear_svcs(names(2), 1000, 2,
                                    [](size_t) -> LinearSvcFit {
                                      ::signal(SIGTERM, SIG_DFL);  // where the test's process ignores it
                                      ::raise(SIGTERM);
                                      ::_exit(5);
                                    },
                                    [](size_t, SvcOutcome) {}),
                    Interrupted);
    set_stop_signal_for_test(0);
  }
  SECTION("an exception other than gf::Error") {
    CHECK_THROWS_WITH(fit_linear_svcs(names(2), 1000, 2,
                                      [](size_t i) -> LinearSvcFit {
                                        if (i == 1) throw std::runtime_error("no room");
                                        return LinearSvcFit{};
                                      },
                                      [](size_t, SvcOutcome) {}),
                      "linear_svc: fitting fit 1: no room");
  }
  SECTION("more predictions than the slots hold: an error, not a refused fit") {
    // Fit 0 fails last; its error is still the one thrown (fit order, as in-process: a CI run saw fit 1's).
    CHECK_THROWS_WITH(fit_linear_svcs(names(2), 10, 2,
                                      [](size_t i) {
                                        if (i == 0) ::usleep(200000);
                                        return LinearSvcFit{std::vector<int>(11, 1), {}, {}, 0, true};
                                      },
                                      [](size_t, SvcOutcome) {}),
                      "linear_svc: fitting fit 0: a fit of 11 rows in a pool of at most 10");
  }
  SECTION("a Ctrl-C to the terminal's process group does not reach the workers") {
    // In a process of its own group (the terminal's, here) with a handler
    // for SIGINT, as a training run has: worker 0 sends SIGINT to that
    // group; worker 1 (not ignoring it: a caught signal is reset in the
    // workers) must live on to give its result.
    const pid_t child = ::fork();
    if (child == 0) {
      ::setpgid(0, 0);
      static volatile sig_atomic_t caught = 0;
      struct sigaction on_int {};
      on_int.sa_handler = [](int) { caught = 1; };
      ::sigaction(SIGINT, &on_int, nullptr);
      int results = 0;
      try {
        fit_linear_svcs(names(2), 1000, 2,
                        [](size_t i) {
                          if (i == 0) ::kill(-::getppid(), SIGINT);
                          std::this_thread::sleep_for(std::chrono::milliseconds(300));
                          LinearSvcFit f;
                          f.predictions = {int(i)};
                          return f;
                        },
                        [&](size_t i, SvcOutcome o) { results += o.predictions == std::vector<int>{int(i)}; });
      } catch (...) {
        ::_exit(3);
      }
      ::_exit(results == 2 && caught ? 0 : 4);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);  // 3: a worker died of it; 4: no result or no SIGINT
  }
  SECTION("a stop signal while the workers run (a training run's Ctrl-C): Interrupted at once, workers killed") {
    set_stop_signal_for_test(SIGINT);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(fit_linear_svcs(names(4), 1000, 3, sleeper, [](size_t, SvcOutcome) {}), Interrupted);
    set_stop_signal_for_test(0);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
  }
  SECTION("on_done throws (a progress hook's stop): the running workers are killed, not waited for") {
    const auto t0 = std::chrono::steady_clock::now();
    CHECK_THROWS_WITH(fit_linear_svcs(names(4), 1000, 3, sleeper,
                                      [](size_t, SvcOutcome) { throw Error("stop requested"); }),
                      "stop requested");
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(30));
  }
  CHECK(no_children());
}

TEST_CASE("linear_svc_workers: the thread count, at least 1", "[ls]") {
  {
    test::OmpThreads one(1);
    CHECK(linear_svc_workers(100000, 512) == 1);
  }
  test::OmpThreads three(3);
  CHECK(linear_svc_workers(1000, 8) == 3);
  // More rows than any memory holds: one fit at a time (where memory is known).
  if (available_host_memory().bytes != UINT64_MAX) CHECK(linear_svc_workers(int64_t(1) << 40, 512) == 1);
}

TEST_CASE("fit_linear_svcs: a refusal without text is still a refusal, in this process and in a worker", "[ls]") {
  // An empty error text read as a fit without predictions, whose entropy
  // then indexed past them.
  for (const int workers : {1, 2}) {
    INFO(workers << " workers");
    std::vector<SvcOutcome> got;
    fit_linear_svcs(
        names(2), 1000, workers,
        [](size_t i) -> LinearSvcFit {
          if (i == 1) throw Error("");
          const Problem p = problem(i);
          return fit_linear_svc(p.x.data(), p.n, p.d, p.labels);
        },
        [&](size_t, SvcOutcome o) { got.push_back(std::move(o)); });
    REQUIRE(got.size() == 2);
    CHECK(got[0].error.empty());
    CHECK(got[1].error == "refused");
    CHECK(got[1].predictions.empty());
  }
}
