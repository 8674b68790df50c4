// RunDir (train/run_dir.h): the numbered run folders of the official layout.
#include <catch2/catch.hpp>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/error.h"
#include "train/report.h"
#include "train/run_dir.h"

namespace fs = std::filesystem;

// Runs started at once scan the outdir before either makes its folder; each
// must still get a folder of its own. One round of threads rarely interleaves
// the scan and the mkdir on a 2-core machine, so the test races many rounds
// (before the fix about half of them failed). Runs of other names must not
// share a number either (00005-a and 00005-b: before the outdir's lock, in
// about one round of six with eight runs).
TEST_CASE("run folders: runs started at once in one outdir each get their own numbered folder", "[run_dir]") {
  const fs::path outdir = fs::temp_directory_path() / ("gf_test_run_dir_" + std::to_string(::getpid()));
  constexpr int kRuns = 4, kRounds = 40;
  for (int round = 0; round < kRounds; ++round) {
    fs::remove_all(outdir);
    fs::create_directories(outdir / "00004-other");  // the numbering continues after any run's number
    std::vector<std::string> paths(kRuns), errors(kRuns);
    std::atomic<int> ready{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kRuns; ++i)
      threads.emplace_back([&, i] {
        ++ready;
        while (ready < kRuns) std::this_thread::yield();  // all scan the outdir at about the same moment
        try {
          paths[i] = gf::RunDir(outdir.string(), i % 2 ? "same" : "name" + std::to_string(i), /*echo=*/false).path();
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    std::set<std::string> distinct(paths.begin(), paths.end()), numbers;
    for (const auto& p : paths) numbers.insert(fs::path(p).filename().string().substr(0, 5));
    std::string first_error;
    for (const auto& e : errors)
      if (first_error.empty()) first_error = e;
    INFO("round " << round << ": " << first_error);
    REQUIRE(first_error.empty());
    REQUIRE(distinct.size() == static_cast<size_t>(kRuns));
    REQUIRE(numbers.size() == static_cast<size_t>(kRuns));
    for (const auto& p : distinct) {
      const std::string name = fs::path(p).filename().string().substr(5);
      REQUIRE((name == "-same" || name.rfind("-name", 0) == 0));
      REQUIRE(std::stoi(fs::path(p).filename().string().substr(0, 5)) >= 5);
    }
  }
  fs::remove_all(outdir);
}

namespace {
std::string read_all(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}
}  // namespace

// A full disk (here a file-size limit, in a child) used to leave half a line
// at the end of stats.jsonl or log.txt, the next tick's line glued to it, and
// the run went on with its logs silently dropped (an ofstream's failbit).
// Each line now lands whole or not at all, and the failure stops the run with
// the file named.
TEST_CASE("run folders: an outdir given with a trailing slash names its runs with one slash", "[run_dir]") {
  // As the official os.path.join: "runs/" gives runs/00000-..., not runs//00000-...
  const std::string missing = (std::filesystem::temp_directory_path() / "gf_test_no_such_outdir_xyz").string();
  CHECK(gf::next_run_path(missing + "/", "ds-tiny") == missing + "/00000-ds-tiny");
  CHECK(gf::next_run_path(missing, "ds-tiny") == missing + "/00000-ds-tiny");
}

// The next number is the largest folder's + 1, as train.py's Python ints
// count: of any length (a 20-digit one overflowed, and the next run was
// 00000), leading zeros read as the number, files not counted.
TEST_CASE("run folders: the next number follows the largest numbered folder, of any length", "[run_dir]") {
  const fs::path outdir = fs::temp_directory_path() / ("gf_test_run_numbers_" + std::to_string(::getpid()));
  fs::remove_all(outdir);
  const std::string o = outdir.string();
  auto next = [&] { return gf::next_run_path(o, "x"); };
  fs::create_directories(outdir / "00007-old");
  fs::create_directories(outdir / "12-short");
  fs::create_directories(outdir / "notes");
  std::ofstream(outdir / "99999-a-file") << "not a folder";
  CHECK(next() == o + "/00013-x");
  fs::create_directories(outdir / "0000999");
  CHECK(next() == o + "/01000-x");
  fs::create_directories(outdir / "99999999999999999999-huge");
  CHECK(next() == o + "/100000000000000000000-x");
  fs::create_directories(outdir / "000000000000000000000000123456789012345678901-zeros");
  CHECK(next() == o + "/123456789012345678902-x");
  gf::RunDir run(o, "made", /*echo=*/false);  // the folder a run makes: the same number
  CHECK(run.path() == o + "/123456789012345678902-made");
  fs::remove_all(outdir);
}

TEST_CASE("run folders: a line that does not fit in stats.jsonl or log.txt is cut back and named", "[run_dir]") {
  const fs::path outdir = fs::temp_directory_path() / ("gf_test_run_dir_full_" + std::to_string(::getpid()));
  fs::remove_all(outdir);
  gf::RunDir run(outdir.string(), "full", /*echo=*/false);
  run.append_stats({{"tick", 0}});
  run.log("tick 0");
  const std::string stats = run.file("stats.jsonl"), log = run.file("log.txt");
  CHECK(read_all(stats) == "{\"tick\":0}\n");
  for (const std::string& which : {stats, log}) {
    const pid_t child = ::fork();
    if (child == 0) {
      std::signal(SIGXFSZ, SIG_IGN);  // the write fails with EFBIG instead of killing the child
      const rlimit lim{static_cast<rlim_t>(fs::file_size(which) + 4), RLIM_INFINITY};
      ::setrlimit(RLIMIT_FSIZE, &lim);
      try {
        if (which == stats)
          run.append_stats({{"tick", 1}, {"Progress/kimg", 0.5}});
        else
          run.log("tick 1 kimg 0.5 a line longer than four bytes");
      } catch (const gf::Error& e) {
        ::_exit(std::string(e.what()) == "cannot append to " + which + ": File too large" ? 0 : 2);
      } catch (...) {
        ::_exit(3);  // never back into Catch2 in the child
      }
      ::_exit(1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  }
  CHECK(read_all(stats) == "{\"tick\":0}\n");
  CHECK(read_all(log) == "tick 0\n");
  run.append_stats({{"tick", 1}});  // room again: the next line follows the last whole one
  CHECK(read_all(stats) == "{\"tick\":0}\n{\"tick\":1}\n");
  // A log that ends in part of a line (written by another program, or cut
  // by a copy): the next line starts a line of its own, not glued to it.
  for (const std::string& which : {stats, log}) std::ofstream(which, std::ios::app) << "{\"tick\": 2, \"Prog";
  run.append_stats({{"tick", 3}});
  run.log("tick 3");
  CHECK(read_all(stats) == "{\"tick\":0}\n{\"tick\":1}\n{\"tick\": 2, \"Prog\n{\"tick\":3}\n");
  CHECK(read_all(log) == "tick 0\n{\"tick\": 2, \"Prog\ntick 3\n");
  fs::remove_all(outdir);
}

// make_report by hand during a run wrote a finished page (no reload) until
// the next tick's page: a RunDir marks its folder live for its lifetime, and
// not after (the kernel drops the lock however the process ends).
TEST_CASE("run folders: live while the RunDir that made it exists", "[run_dir]") {
  const fs::path outdir = fs::temp_directory_path() / ("gf_test_run_dir_live_" + std::to_string(::getpid()));
  fs::remove_all(outdir);
  std::string path;
  {
    gf::RunDir run(outdir.string(), "live", /*echo=*/false);
    path = run.path();
    CHECK(gf::run_is_live(path));
    CHECK(gf::run_is_live(path));  // the check itself leaves no lock behind
  }
  CHECK_FALSE(gf::run_is_live(path));
  CHECK_FALSE(gf::run_is_live((outdir / "missing").string()));
  fs::remove_all(outdir);
}

// make_report as a run ended: it decided "live" while the trainer held the
// folder, the trainer wrote its final page, then make_report replaced it
// with a reloading one (4 of 5 tries). The trainer now ends the folder's
// liveness before its final page, and write_report decides it under its
// lock on the folder.
TEST_CASE("run folders: after end_live, make_report's page is final", "[run_dir]") {
  const fs::path outdir = fs::temp_directory_path() / ("gf_test_run_dir_end_live_" + std::to_string(::getpid()));
  fs::remove_all(outdir);
  gf::RunDir run(outdir.string(), "ending", /*echo=*/false);
  run.write_json("training_options.json", {{"total_kimg", 1}});
  run.append_stats({{"kimg", 1.0}, {"timestamp", 1.0}});
  gf::ReportOptions by_hand;
  by_hand.decide_live_under_lock = true;
  gf::write_report(run.path(), by_hand);
  CHECK(read_all(run.file("report.html")).find("http-equiv=\"refresh\"") != std::string::npos);
  run.end_live();
  CHECK_FALSE(gf::run_is_live(run.path()));
  gf::write_report(run.path(), by_hand);
  CHECK(read_all(run.file("report.html")).find("http-equiv=\"refresh\"") == std::string::npos);
  fs::remove_all(outdir);
}
