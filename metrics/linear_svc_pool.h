// Many linear SVC fits (metrics/linear_svc.h) at once, each in a process of
// its own. liblinear shuffles its rows with the process-wide rand(), so two
// fits on threads of one process would draw from one stream in an order set
// by the scheduler; a forked process has its own rand(), seeded with 1 as a
// fit alone is: the results are the same bits for any number of workers.
// StyleGAN's linear separability makes 80 fits of 100000 x 512 rows
// (minutes each); one core takes hours.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/error.h"
#include "metrics/linear_svc.h"

namespace gf::metrics {

struct SvcOutcome {
  std::vector<int> predictions;  // [rows] 0 or 1; empty when the fit was refused
  bool converged = true;         // LinearSvcFit::converged
  std::string error;             // the gf::Error's what() of a refused fit (a non-finite value, one class)
};

// fit(i) run in this process: its predictions and convergence, or, where it
// throws gf::Error (a refused fit: one class, a non-finite value), that
// error's text, never empty (an empty one reads as a fit without a
// prediction). Other exceptions pass.
SvcOutcome fit_outcome(const std::function<LinearSvcFit(size_t)>& fit, size_t i);
// A refused fit's text as outcomes carry it: e.what(), or "refused" where that is empty.
std::string refusal_text(const Error& e);

// How many fits of `rows` x `d` run at once: the OpenMP thread count
// (omp_get_max_threads), fewer where half the memory available now
// (available_host_memory, which counts free swap) holds fewer fits' copies
// of their rows (liblinear's nodes: 16 bytes a value), at least 1.
int linear_svc_workers(int64_t rows, int64_t d);

// Runs fit(i) for each of names' fits (i in [0, names.size())): in this
// process one at a time when workers is 1, else up to `workers` forked
// processes at once, each calling fit(i) alone (it must return at most
// max_rows predictions, use no OpenMP (a fork keeps only the calling
// thread) and read only host memory of plain allocations, no device or
// pinned memory). Where the system will not fork, the fits go on in the
// processes running, or in this one. on_done(i, outcome) runs in this
// process for i = 0, 1, ... in order, as soon as fit i and those before it
// are done. A gf::Error thrown by fit(i) is its outcome's error. The workers
// are out of the terminal's process group (a Ctrl-C is this process's to
// act on) and die with this process. A worker that dies (killed, out of
// memory) is a gf::Error naming names[i] and the signal (an Interrupted where
// the signal is a stop signal, train/stop_signal.h, that this process got
// too: pkill); another exception in fit(i) a gf::Error with its text. Such
// an error is thrown in fit order, once the fits before it are delivered, so
// it names the first failing fit whatever the order they finish in, as the
// in-process loop does (an Interrupted at once).
// Whatever on_done throws ends the call: the running workers are killed and
// reaped first; so does a stop signal (train/stop_signal.h's flag, set in a
// training run) while it waits for them: Interrupted. (A process group's
// ranks must stop together: there the fits are shared among the ranks
// instead, metrics/linear_svc_ranks.h.)
void fit_linear_svcs(const std::vector<std::string>& names, int64_t max_rows, int workers,
                     const std::function<LinearSvcFit(size_t)>& fit,
                     const std::function<void(size_t, SvcOutcome)>& on_done);

}  // namespace gf::metrics
