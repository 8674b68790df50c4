// run_main (run_main.h): the programs' errors as one line and exit code 1, a stop signal as the
// process's end by that signal.
#include "train/run_main.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <iostream>
#include <new>
#include <string>

#include <nlohmann/json.hpp>

#include "engine/error.h"
#include "engine/io/json_input.h"
#include "engine/strings.h"
#include "kernels/openmp_spin.h"
#include "train/run_dir.h"
#include "train/stop_signal.h"

namespace gf::cli {

int run_main(const char* program, const std::function<int()>& body) {
  cpu::prefer_short_openmp_spin();  // first: it may execute the program again
  // As CPython: a write past the file-size limit (ulimit -f) fails with
  // EFBIG, which the writers report and clean up after, instead of killing
  // the process with its temporary files left behind.
  std::signal(SIGXFSZ, SIG_IGN);
  int sig = 0;
  try {
    const int rc = body();
    // Output that could not be written (a full disk behind stdout, /dev/full)
    // is an error, not a silent exit 0: for calc_metrics outside a run folder
    // the printed line is the result.
    std::cout.flush();
    if ((std::fflush(stdout) != 0 || std::ferror(stdout) || !std::cout) && stop_signal_received() == 0)
      throw Error(std::string("cannot write to standard output: ") + std::strerror(errno ? errno : EIO));
    return rc;
  } catch (const std::exception& e) {
    // A JSON error no reader put in words (each reader names its file) still
    // reaches the user without the library's bracketed tag.
    const auto* json_error = dynamic_cast<const nlohmann::json::exception*>(&e);
    const bool no_memory = dynamic_cast<const std::bad_alloc*>(&e) != nullptr;
    const std::string line =
        std::string(program) + ": error: " +
        (no_memory ? std::string("out of memory (an allocation failed: less data, a smaller --batch, or more memory for "
                                 "this process)")
                   : one_line(json_error ? io::json_error_text(*json_error) : std::string(e.what())));
    // A training run's folder says how it ended; first, so that a warning of
    // its own (a full disk) comes before the error line, which stays last.
    record_run_stopped(line);
    std::cerr << line << std::endl;
    // Interrupted, or another error that came while a stop signal was pending
    // (a failed final snapshot): the process still ends by the signal.
    const auto* i = dynamic_cast<const Interrupted*>(&e);
    sig = i ? i->signal : stop_signal_received();
  }
  if (sig == 0) return 1;
  // Stopped by a signal (train/stop_signal.h): die of it, as without the
  // handler, so a shell sees 130, 143, 129 or 141.
  std::cout.flush();
  std::fflush(nullptr);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
  return 128 + sig;
}

}  // namespace gf::cli
