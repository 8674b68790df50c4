// One process per device, as the programs join it (train_stylegan and
// calc_metrics: `mpirun -np N PROGRAM ...` or the torchrun-style environment
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT): the launcher's
// host group (engine/dist/communicator.h), the check that every rank was
// given the same flags, this rank's device and NCCL over the host group
// where built, and the agreement of the ranks on a set-up step that may
// fail on one rank alone, and on a stop signal before each step. One copy
// of these for every program.
#pragma once
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engine/device.h"
#include "engine/dist/communicator.h"
#include "engine/dist/same_run.h"
#include "train/cli.h"

namespace gf {

// The flags as run items for check_same_run ("--cfg" = "tiny"), in the
// parser's order, less `skipped` (what may differ between ranks: an output
// folder only rank 0 writes). The flags in `paths` (input files and
// folders: another machine may hold them elsewhere, and the files only rank
// 0 reads) count only by whether they are given: their value is "a path",
// unless it is empty or "none" (no file: compared as is). What they hold is
// for each program to compare once read.
std::vector<RunItem> flag_items(const cli::Args& args, const std::set<std::string>& paths,
                                const std::set<std::string>& skipped);

struct ProcessGroup {
  std::shared_ptr<Communicator> comm;  // null when this process runs alone
  Device device;                       // this rank's: for cuda:K, cuda:K+LOCAL_RANK
  int world = 1;                       // the processes of the run
  int rank = 0;
  bool main() const { return rank == 0; }
};

// Joins the group the launcher describes (communicator_from_environment;
// none: a lone process on `device`). Then, before any other collective,
// every rank's flag_items(args, paths, skipped) must agree (check_same_run:
// ranks launched with other flags would pair collectives of other sizes;
// every rank stops with one line naming the first flag that differs). With
// a group and a CUDA device, this rank takes device index + local rank and,
// where NCCL is built, NCCL over the host group. The device is checked
// usable (check_device_usable). What a rank can check alone (a flag against
// launched_world_size()) belongs before this call: the rendezvous waits up
// to GF_DIST_RENDEZVOUS_TIMEOUT for ranks that never come.
ProcessGroup join_process_group(const cli::Args& args, Device device, const std::set<std::string>& paths,
                                const std::set<std::string>& skipped);

// For a program that trains in one process (train_pggan, train_psp,
// train_stylegan --arch stylegan): throws one line when the launcher's
// variables say several processes were started (mpirun -np N, WORLD_SIZE
// N), which would otherwise be N whole runs, each in its own run folder.
// `what` names the program ("train_pggan").
void refuse_multi_process_launch(const std::string& what);

// Runs check on every rank, then (with a group of more than one) the ranks
// share their verdicts under the metrics' limit (GF_DIST_METRICS_TIMEOUT:
// a check may load a detector or a large dataset): when one rank's check
// threw, every rank stops, that rank with its own exception, the others
// with "rank R: rank K <consequence>: <K's line>" (K: the first that
// failed), e.g. consequence "refused the metrics, so no rank trains". So a
// set-up step that fails on one rank alone (its file, its device) leaves no
// other rank waiting in a collective. A collective: every rank calls it at
// the same point.
void checked_on_every_rank(Communicator* comm, const std::function<void()>& check, const std::string& consequence);

// LoopOptions::agree_stop with one process per device: every rank's pending
// stop signal gathered, so that a Ctrl-C (every rank's) or one rank's
// SIGTERM stops all ranks at the same step. Two small host collectives per step.
void agree_on_stop(Communicator& comm);

}  // namespace gf
