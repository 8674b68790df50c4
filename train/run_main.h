// The programs' main: any error one line on stderr and exit code 1, a stop signal the
// process's end by that signal.
#pragma once
#include <functional>

namespace gf::cli {

// Runs body and turns any exception into "<program>: error: <what>" on
// stderr and exit code 1, the line also recorded in the run folder of a
// training run (record_run_stopped, train/run_dir.h); an Interrupted
// (train/stop_signal.h) ends the process by its signal after that, so the
// exit status stays 130/143. --help exits 0 from inside body via Args.
int run_main(const char* program, const std::function<int()>& body);

}  // namespace gf::cli
