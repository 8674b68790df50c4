#include "metrics/linear_svc.h"

#include <linear.h>

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>
#include <mutex>

#include "engine/error.h"

namespace gf::metrics {
namespace {

// liblinear reports through one process-wide print function, and its
// shuffle draws from the process-wide rand(): one fit at a time.
std::mutex& fit_mutex() {
  static std::mutex m;
  return m;
}

bool g_reached_max_iterations = false;  // under fit_mutex
bool g_alone = false;                   // a forked fitter's process: no other thread fits

// fit_mutex() locked, unless this process fits alone.
class FitLock {
 public:
  FitLock() {
    if (!g_alone) fit_mutex().lock();
  }
  ~FitLock() {
    if (!g_alone) fit_mutex().unlock();
  }
  FitLock(const FitLock&) = delete;
  FitLock& operator=(const FitLock&) = delete;
};

// liblinear 2.40 and later have parameter::regularize_bias, which the
// zero-initialization would set to 0 (the bias unregularized: a dual solver
// refused by check_parameter); sklearn's LinearSVC regularizes it (1).
// Debian bookworm's 2.3.0 has no such field.
template <class P, class = void>
struct HasRegularizeBias : std::false_type {};
template <class P>
struct HasRegularizeBias<P, std::void_t<decltype(std::declval<P&>().regularize_bias)>> : std::true_type {};

template <class P>
constexpr void regularize_the_bias(P& p) {
  if constexpr (HasRegularizeBias<P>::value) p.regularize_bias = 1;
}

struct WithRegularizeBias {
  int regularize_bias = 0;
};
static_assert(HasRegularizeBias<WithRegularizeBias>::value && !HasRegularizeBias<feature_node>::value,
              "the field's detection");
static_assert([] {
  WithRegularizeBias p;
  regularize_the_bias(p);
  return p.regularize_bias == 1;
}(), "set where it exists");

void note_liblinear_message(const char* text) {
  if (std::strstr(text, "reaching max number of iterations")) g_reached_max_iterations = true;
}

}  // namespace

void linear_svc_process_fits_alone() { g_alone = true; }

std::string linear_svc_deviation() {
  if (liblinear_version < 242) return "";
  return "liblinear " + std::to_string(liblinear_version / 100) + "." + std::to_string(liblinear_version % 100) +
         " (2.42 and later) stops its dual solver at 300 iterations and goes on with a primal Newton solver: "
         "sklearn's LinearSVC (the official metric's) does neither; converged fits agree within the tolerance, "
         "fits that reach the limit do not (its 'stopped at 1000 iterations' lines mean that limit)";
}

LinearSvcFit fit_linear_svc(const float* x, int64_t n, int64_t d, const std::vector<int>& labels) {
  GF_CHECK(n > 0 && d > 0 && x != nullptr, "linear_svc", "needs rows and features, got " << n << " x " << d);
  std::vector<const float*> rows(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) rows[size_t(i)] = x + i * d;
  return fit_linear_svc(rows, d, labels);
}

LinearSvcFit fit_linear_svc(const std::vector<const float*>& x_rows, int64_t d, const std::vector<int>& labels) {
  const int64_t n = static_cast<int64_t>(x_rows.size());
  GF_CHECK(int64_t(labels.size()) == n, "linear_svc", labels.size() << " labels for " << n << " rows");
  GF_CHECK(n > 0 && d > 0, "linear_svc", "needs rows and features, got " << n << " x " << d);
  // liblinear indexes rows and features by int; its nodes hold d + 2 per row.
  GF_CHECK(n <= INT_MAX && d + 2 <= INT_MAX && n <= INT64_MAX / (d + 2), "linear_svc",
           n << " x " << d << " is past liblinear's sizes");
  bool seen[2] = {false, false};
  for (int64_t i = 0; i < n; ++i) {
    GF_CHECK(labels[size_t(i)] == 0 || labels[size_t(i)] == 1, "linear_svc", "label " << labels[size_t(i)]
                                                                                  << " at row " << i << " (0 or 1)");
    seen[labels[size_t(i)]] = true;
  }
  GF_CHECK(seen[0] && seen[1], "linear_svc", "needs rows of both classes, got class " << (seen[0] ? 0 : 1) << " only");
  // The rows as liblinear's nodes: features 1..d, the bias feature d + 1
  // (value problem.bias), then the terminator -1.
  std::vector<feature_node> nodes(size_t(n * (d + 2)));
  std::vector<feature_node*> rows(static_cast<size_t>(n));
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    feature_node* r = &nodes[size_t(i * (d + 2))];
    rows[size_t(i)] = r;
    for (int64_t j = 0; j < d; ++j) {
      const float v = x_rows[size_t(i)][j];
      GF_CHECK(std::isfinite(v), "linear_svc", "row " << i << " holds " << v << " (sklearn refuses it too)");
      r[j] = {int(j + 1), double(v)};
    }
    r[d] = {int(d + 1), 1.0};
    r[d + 1] = {-1, 0.0};
    y[size_t(i)] = labels[size_t(i)];
  }
  problem prob{};
  prob.l = int(n);
  prob.n = int(d + 1);
  prob.y = y.data();
  prob.x = rows.data();
  prob.bias = 1.0;  // sklearn's intercept_scaling
  parameter param{};
  param.solver_type = L2R_L2LOSS_SVC_DUAL;
  param.eps = 1e-4;  // LinearSVC's tol
  param.C = 1.0;
  param.p = 0.1;  // unused by this solver
  regularize_the_bias(param);
  const char* bad = check_parameter(&prob, &param);
  GF_CHECK(bad == nullptr, "linear_svc", "liblinear: " << bad);

  LinearSvcFit fit;
  {
    FitLock lock;
    g_reached_max_iterations = false;
    set_print_string_function(note_liblinear_message);
    std::srand(1);
    model* m = train(&prob, &param);
    GF_CHECK(m != nullptr, "linear_svc", "liblinear's train failed");
    std::unique_ptr<model, void (*)(model*)> owned(m, [](model* p) { free_and_destroy_model(&p); });
    // Two classes: one weight vector, positive for label[0].
    const double sign = m->label[0] == 1 ? 1.0 : -1.0;
    fit.coef.resize(size_t(d));
    for (int64_t j = 0; j < d; ++j) fit.coef[size_t(j)] = sign * m->w[j];
    fit.intercept = sign * m->w[d] * prob.bias;
    fit.converged = !g_reached_max_iterations;
  }
  // sklearn's decision_function and predict: class 1 where it is positive.
  fit.decision.resize(size_t(n));
  fit.predictions.resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < d; ++j) s += fit.coef[size_t(j)] * double(x_rows[size_t(i)][j]);
    fit.decision[size_t(i)] = s + fit.intercept;
    fit.predictions[size_t(i)] = fit.decision[size_t(i)] > 0 ? 1 : 0;
  }
  return fit;
}

}  // namespace gf::metrics
