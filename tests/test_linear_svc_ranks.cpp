// metrics/linear_svc_ranks.h: linear SVC fits shared among a process group's
// ranks (threads joined through loopback TCP, tests/tcp_ranks.h): rank r
// fits r, r + N, ...; rank 0 gets one process's outcomes, in order; a fit
// that throws something other than a refusal ends its rank, and the others
// name it.
#include <catch2/catch.hpp>

#include <atomic>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/numpy_random_state.h"
#include "metrics/linear_svc.h"
#include "metrics/linear_svc_ranks.h"
#include "tests/tcp_ranks.h"

using namespace gf;
using namespace gf::metrics;

namespace {

constexpr size_t kRankFits = 7;
constexpr int64_t kRankFitRows = 800;

// Fit i: a noisy plane in a few dimensions, rows and seed its own; fit 4
// has one class only (refused, as sklearn refuses it).
LinearSvcFit ranks_problem_fit(size_t i) {
  const int64_t n = int64_t(200 + 80 * i), d = int64_t(5 + i % 3);
  NumpyRandomState rs(uint32_t(30 + i));
  std::vector<float> x;
  std::vector<int> labels;
  for (int64_t k = 0; k < n * d; ++k) x.push_back(static_cast<float>(rs.randn()));
  for (int64_t r = 0; r < n; ++r) {
    double s = 0.5 * rs.randn();
    for (int64_t j = 0; j < d; ++j) s += double(x[size_t(r * d + j)]) * (j % 2 ? 1.0 : -0.7);
    labels.push_back(i == 4 ? 0 : s > 0 ? 1 : 0);
  }
  return fit_linear_svc(x.data(), n, d, labels);
}

bool same_outcome(const SvcOutcome& a, const SvcOutcome& b) {
  return a.predictions == b.predictions && a.converged == b.converged && a.error == b.error;
}

}  // namespace

TEST_CASE("fit_linear_svcs_on_ranks: rank r fits r, r + N, ...; rank 0 gets one process's outcomes in order", "[ls]") {
  std::vector<SvcOutcome> alone;
  fit_linear_svcs_on_ranks(nullptr, kRankFits, kRankFitRows, ranks_problem_fit, [&](size_t i, SvcOutcome o) {
    CHECK(i == alone.size());
    alone.push_back(std::move(o));
  });
  REQUIRE(alone.size() == kRankFits);
  CHECK(alone[4].predictions.empty());
  CHECK(alone[4].error.find("needs rows of both classes") != std::string::npos);
  CHECK(alone[3].predictions.size() == 440);
  for (const int world : {2, 3}) {
    INFO(world << " ranks");
    std::vector<std::vector<size_t>> ran(size_t(world), std::vector<size_t>{});
    std::vector<SvcOutcome> got;
    std::atomic<int> delivered_elsewhere{0};
    const std::vector<std::string> errors = test::run_ranks(world, 60, [&](int rank, Communicator& comm) {
      fit_linear_svcs_on_ranks(
          &comm, kRankFits, kRankFitRows,
          [&ran, rank](size_t i) {
            ran[size_t(rank)].push_back(i);
            return ranks_problem_fit(i);
          },
          [&got, &delivered_elsewhere, rank](size_t i, SvcOutcome o) {
            if (rank != 0) ++delivered_elsewhere;
            else if (i == got.size()) got.push_back(std::move(o));
          });
    });
    for (const std::string& e : errors) CHECK(e.empty());
    for (int r = 0; r < world; ++r) {
      std::vector<size_t> want;
      for (size_t i = size_t(r); i < kRankFits; i += size_t(world)) want.push_back(i);
      CHECK(ran[size_t(r)] == want);
    }
    CHECK(delivered_elsewhere == 0);
    REQUIRE(got.size() == kRankFits);
    for (size_t i = 0; i < kRankFits; ++i) {
      INFO("fit " << i);
      CHECK(same_outcome(got[i], alone[i]));
    }
  }
}

TEST_CASE("fit_linear_svcs_on_ranks: a fit that fails otherwise ends its rank, and rank 0 names it", "[ls]") {
  const std::vector<std::string> errors = test::run_ranks(2, 60, [](int rank, Communicator& comm) {
    fit_linear_svcs_on_ranks(
        &comm, kRankFits, kRankFitRows,
        [rank](size_t i) {
          if (rank == 1 && i == 3) throw std::runtime_error("out of something");
          return ranks_problem_fit(i);
        },
        [](size_t, SvcOutcome) {});
  });
  CHECK(errors[1] == "out of something");
  CHECK(errors[0].find("rank 1 closed its connection") != std::string::npos);
}

TEST_CASE("fit_linear_svcs_on_ranks: predictions past the rows given refused; counts past float32's whole numbers kept",
          "[ls]") {
  CHECK_THROWS_WITH(fit_linear_svcs_on_ranks(nullptr, 1, 100, ranks_problem_fit, [](size_t, SvcOutcome) {}),
                    Catch::Contains("a fit gave 200 predictions, more than its 100 rows"));
  // 2^24 + 3 predictions (float32's whole numbers end at 2^24): the count travels in two parts.
  constexpr int64_t rows = (int64_t(1) << 24) + 3;
  const auto big_fit = [](size_t) {
    LinearSvcFit f;
    f.predictions.assign(size_t(rows), 0);
    f.predictions.back() = 1;
    f.converged = false;
    return f;
  };
  std::vector<SvcOutcome> got;
  fit_linear_svcs_on_ranks(nullptr, 1, rows, big_fit, [&](size_t, SvcOutcome o) { got.push_back(std::move(o)); });
  REQUIRE(got.size() == 1);
  CHECK(int64_t(got[0].predictions.size()) == rows);
  CHECK(got[0].predictions.back() == 1);
  CHECK(got[0].predictions[size_t(rows - 2)] == 0);
  CHECK_FALSE(got[0].converged);
}
