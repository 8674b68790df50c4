#include "metrics/linear_svc_ranks.h"

#include <algorithm>

#include "engine/error.h"
#include "engine/ops.h"
#include "metrics/sharding.h"

namespace gf::metrics {
namespace {

// A fit's outcome travels as one float32 row (for_each_batch's rows): its
// state, convergence, prediction count (in two parts of 24 bits: float32
// holds whole numbers exactly to 2^24), the predictions (0 or 1), then a
// refused fit's text as bytes, each exact in a float.
constexpr int64_t kErrorBytes = 2000, kHead = 4, kCountPart = int64_t(1) << 24;
enum State : int { kFitted = 0, kRefused = 1 };

Tensor outcome_row(const SvcOutcome& o, int64_t max_rows) {
  GF_CHECK(int64_t(o.predictions.size()) <= max_rows, "ls",
           "a fit gave " << o.predictions.size() << " predictions, more than its " << max_rows << " rows");
  const Tensor t = zeros({1, kHead + max_rows + kErrorBytes});
  float* row = t.data<float>();
  const int64_t count = int64_t(o.predictions.size());
  row[0] = float(o.error.empty() ? kFitted : kRefused);
  row[1] = o.converged ? 1.0f : 0.0f;
  row[2] = float(count / kCountPart);
  row[3] = float(count % kCountPart);
  std::copy(o.predictions.begin(), o.predictions.end(), row + kHead);
  const size_t text = std::min(o.error.size(), size_t(kErrorBytes));
  for (size_t k = 0; k < text; ++k) row[size_t(kHead + max_rows) + k] = float(static_cast<unsigned char>(o.error[k]));
  return t;
}

SvcOutcome outcome_of_row(const float* row, int64_t max_rows) {
  SvcOutcome o;
  o.converged = row[1] != 0.0f;
  if (int(row[0]) == kRefused) {
    for (int64_t k = 0; k < kErrorBytes && row[kHead + max_rows + k] != 0.0f; ++k)
      o.error.push_back(static_cast<char>(static_cast<unsigned char>(row[kHead + max_rows + k])));
    return o;
  }
  const int64_t count = int64_t(row[2]) * kCountPart + int64_t(row[3]);
  o.predictions.assign(row + kHead, row + kHead + count);
  return o;
}

}  // namespace

void fit_linear_svcs_on_ranks(Communicator* comm, size_t count, int64_t max_rows,
                              const std::function<LinearSvcFit(size_t)>& fit,
                              const std::function<void(size_t, SvcOutcome)>& on_done) {
  GF_CHECK(max_rows >= 0, "ls", "fits of " << max_rows << " rows");
  for_each_batch(
      comm, int64_t(count),
      [&](int64_t i) { return outcome_row(fit_outcome(fit, size_t(i)), max_rows); },
      [&](int64_t i, const Tensor& row) { on_done(size_t(i), outcome_of_row(row.data<float>(), max_rows)); });
}

}  // namespace gf::metrics
