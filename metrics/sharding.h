// A metric's feature pass shared among the ranks of a process group, as the
// official metrics (StyleGAN2-ADA metrics/metric_utils.py) share the items
// among the GPUs, but in whole batches, so that the result does not depend
// on the number of ranks: every batch is the batch one process would form
// (the same items, or the same generator draws), so each gives the same
// rows, and rank 0 takes them in the one-process order. The official code
// interleaves single items over the ranks, which changes each detector
// batch (and so, on some devices, the last bits of its features) with the
// number of GPUs.
#pragma once
#include <cstdint>
#include <functional>

#include "engine/dist/communicator.h"
#include "engine/tensor.h"

namespace gf::metrics {

// Whether this process computes and reports the metrics' results: it runs
// alone (no group, or a group of one), or it is rank 0.
bool computes_results(const Communicator* comm);
// The group's size: 1 without one.
int group_size(const Communicator* comm);

// Batches 0 .. num_batches - 1 of a pass. compute(b) gives batch b's rows,
// [n_b, D] float32 on any device (n_b may be 0); take(b, rows) gets them as
// [n_b, D] float32 on the CPU, in batch order, on the process that
// computes_results. Without a group (or with one rank) every batch is
// computed here, one after another. With N ranks, rank r computes batches
// r, r + N, r + 2N, ...: each round of N batches ends in an all_gather of
// the rows' counts and widths and one gather of the rows to rank 0 (each
// rank's padded to the round's largest), so every rank waits at most one
// batch for the others; the other ranks never call take. A collective:
// every rank calls it with the same num_batches. Rows of different widths
// throw the same gf::Error on every rank; an exception from compute or
// take ends this rank's part (the others then name it: its connection
// closes when its process ends). The round's all_gather also carries each
// rank's pending stop signal (train/stop_signal.h): when any rank has one,
// every rank throws Interrupted(signal, the first such rank) at the same
// round, so a Ctrl-C (or one rank's SIGTERM) during a shared evaluation
// leaves no rank waiting in a collective.
void for_each_batch(Communicator* comm, int64_t num_batches, const std::function<Tensor(int64_t)>& compute,
                    const std::function<void(int64_t, const Tensor&)>& take);

}  // namespace gf::metrics
