// Many linear SVC fits (metrics/linear_svc.h) shared among the ranks of a
// process group (mpirun, torchrun): StyleGAN's linear separability makes 80
// fits of 100000 x 512 rows, minutes each; one rank alone took hours while
// the others waited. Each fit runs in one rank's process, one at a time
// there (rand() seeded with 1 before each, as a fit alone: the same bits on
// any rank), never in a forked process beside the group's transports
// (metrics/linear_svc_pool.h says why).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "engine/dist/communicator.h"
#include "metrics/linear_svc.h"
#include "metrics/linear_svc_pool.h"

namespace gf::metrics {

// Runs fit(i) for i in [0, count): with N ranks, rank r fits r, r + N,
// r + 2N, ... in rounds of N fits (metrics/sharding.h's for_each_batch: each
// rank waits at most one fit for the others; a stop signal on any rank stops
// every rank at the same round with Interrupted). fit(i) must return at most
// max_rows predictions. on_done(i, outcome) runs on rank 0 alone, for i = 0,
// 1, ... in order, after each round; a gf::Error thrown by fit(i) is its
// outcome's error (at most 2000 bytes of its text travel), as with
// fit_linear_svcs. Another exception ends this rank's part (the other ranks
// then name it). A collective: every rank calls it with the same count and
// max_rows. Without a group (comm null, or one rank) the fits run here in
// order.
void fit_linear_svcs_on_ranks(Communicator* comm, size_t count, int64_t max_rows,
                              const std::function<LinearSvcFit(size_t)>& fit,
                              const std::function<void(size_t, SvcOutcome)>& on_done);

}  // namespace gf::metrics
