// Ctrl-C (SIGINT), SIGTERM, SIGHUP or SIGPIPE (io::kGuardedSignals) during training: instead of dying wherever the
// signal lands, the run stops at the next step boundary with an Interrupted
// error, so the program can record in its run folder how the run ended
// (record_run_stopped, train/run_dir.h) and then die of the signal
// (cli::run_main: exit status 130, 143, 129 or 141 in a shell).
// The handler only sets a flag (async-signal-safe). A second signal while
// the first is pending ends the process at once as before: the temporaries
// of writes in flight are removed (io::remove_temporaries_and_die). Writes
// between the two finish and are renamed, so none is left half-written.
#pragma once
#include <iterator>
#include <string>
#include <vector>

#include "engine/error.h"
#include "engine/io/temp_file_guard.h"

namespace gf {

// What the loop throws once a stop signal arrived; what(): "Interrupted by
// SIGINT", or "Interrupted by SIGTERM on rank 1" where the run's ranks stop
// together for one rank's signal (rank >= 0).
struct Interrupted : Error {
  explicit Interrupted(int sig, int rank = -1);
  int signal;
};

// Installs the flag-setting handler for those signals while it lives,
// where the action is the default or the temporaries' handler (an ignored
// signal stays ignored, a program's own handler stays); restores the
// previous actions when destroyed; a signal that came after the last check
// (the run completed) is raised again then, so the process still ends by it.
// Not nested.
class StopOnSignal {
 public:
  StopOnSignal();
  ~StopOnSignal();
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  bool installed_[std::size(io::kGuardedSignals)] = {};
  int uncaught_ = 0;
};

// Throws Interrupted when a stop signal arrived (and clears nothing: every
// later check throws too). Cheap: one atomic load.
void throw_if_stop_requested();

// The stop signal received while a StopOnSignal was installed (0: none).
int stop_signal_received();

// For ranks that gathered each one's stop_signal_received() (rank order):
// throws Interrupted(signal, rank) of the first rank with one, the same on
// every rank, so that all stop at the same point; nothing when none has.
void throw_if_any_rank_stopped(const std::vector<int>& pending);

// For tests: as if sig had been received (0 clears it).
void set_stop_signal_for_test(int sig);

}  // namespace gf
