#include "metrics/linear_svc_ranks.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/ops.h"
#include "metrics/sharding.h"

namespace gf::metrics {
namespace {

// A fit's outcome travels as one float32 row (for_each_batch's rows): its
// state, convergence and prediction count, the predictions (0 or 1), then a
// refused fit's text as bytes, each exact in a float.
constexpr int64_t kErrorBytes = 2000;
enum State : int { kFitted = 0, kRefused = 1 };

Tensor outcome_row(const SvcOutcome& o, int64_t max_rows) {
  GF_CHECK(int64_t(o.predictions.size()) <= max_rows, "ls",
           "a fit gave " << o.predictions.size() << " predictions, more than its " << max_rows << " rows");
  const Tensor t = zeros({1, 3 + max_rows + kErrorBytes});
  float* row = t.data<float>();
  row[0] = float(o.error.empty() ? kFitted : kRefused);
  row[1] = o.converged ? 1.0f : 0.0f;
  row[2] = float(o.predictions.size());
  std::copy(o.predictions.begin(), o.predictions.end(), row + 3);
  const size_t text = std::min(o.error.size(), size_t(kErrorBytes));
  for (size_t k = 0; k < text; ++k) row[size_t(3 + max_rows) + k] = float(static_cast<unsigned char>(o.error[k]));
  return t;
}

SvcOutcome outcome_of_row(const float* row, int64_t max_rows) {
  SvcOutcome o;
  o.converged = row[1] != 0.0f;
  if (int(row[0]) == kRefused) {
    for (int64_t k = 0; k < kErrorBytes && row[3 + max_rows + k] != 0.0f; ++k)
      o.error.push_back(static_cast<char>(static_cast<unsigned char>(row[3 + max_rows + k])));
    return o;
  }
  o.predictions.assign(row + 3, row + 3 + int64_t(row[2]));
  return o;
}

}  // namespace

void fit_linear_svcs_on_ranks(Communicator* comm, size_t count, int64_t max_rows,
                              const std::function<LinearSvcFit(size_t)>& fit,
                              const std::function<void(size_t, SvcOutcome)>& on_done) {
  // A prediction count travels as a float32: exact up to 2^24.
  GF_CHECK(max_rows >= 0 && max_rows <= (int64_t(1) << 24), "ls",
           "shares fits of at most 16777216 rows among the ranks, got " << max_rows);
  for_each_batch(
      comm, int64_t(count),
      [&](int64_t i) { return outcome_row(fit_outcome(fit, size_t(i)), max_rows); },
      [&](int64_t i, const Tensor& row) { on_done(size_t(i), outcome_of_row(row.data<float>(), max_rows)); });
}

}  // namespace gf::metrics
