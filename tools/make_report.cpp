// make_report: writes report.html into finished (or copied, or older) run
// folders: the page the tick loop writes at the end of a run (train/report.h),
// built from the folder's stats.jsonl, training_options.json and image grids,
// and log.txt's last line: a run that ended with an error or a signal is
// "Stopped: <why>", as the run itself left its page.
//
//   build/bin/make_report runs/00003-fashion-mnist-small [more run folders]
//
// Every folder is tried: each one that fails (not a run folder, read-only)
// gets one line on stderr and the others still get their page; the exit
// code is 1 when any failed (it stopped at the first, leaving the rest
// without a page).
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "engine/error.h"
#include "train/cli.h"
#include "train/run_main.h"
#include "train/report.h"
#include "train/run_dir.h"

int main(int argc, char** argv) {
  return gf::cli::run_main("make_report", [&] {
    std::vector<std::string> dirs;
    bool options_ended = false;  // after "--", every argument is a folder ("--odd-name" too)
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      if (options_ended) {
        dirs.push_back(a);
        continue;
      }
      if (a == "--") {
        options_ended = true;
        continue;
      }
      if (a == "--help" || a == "-h") {
        std::cout << "Usage: make_report [--] RUNDIR [RUNDIR ...]\n\n"
                     "Writes RUNDIR/report.html from the run folder's stats.jsonl, training_options.json,\n"
                     "reals.png and fakes*.png: the page training writes (reloading while a trainer writes\n"
                     "the folder, as its ticks' pages do; final otherwise). Every RUNDIR is tried;\n"
                     "each failure is one line on stderr, and the exit status is 1 if any failed.\n";
        return 0;
      }
      if (a.rfind("--", 0) == 0) throw gf::Error("unknown option " + a + " (see --help)");
      dirs.push_back(a);
    }
    if (dirs.empty()) throw gf::Error("no run folder given (see --help)");
    int failed = 0;
    for (const std::string& d : dirs) {
      try {
        gf::ReportOptions o;
        o.decide_live_under_lock = true;  // a run training now: its page reloads, as its ticks' pages do
        gf::write_report(d, o);
        std::cout << (std::filesystem::path(d) / "report.html").string() << std::endl;  // "run/" gives run/report.html
      } catch (const std::exception& e) {
        std::cerr << "make_report: error: " << gf::cli::one_line(e.what()) << std::endl;
        ++failed;
      }
    }
    return failed ? 1 : 0;
  });
}
