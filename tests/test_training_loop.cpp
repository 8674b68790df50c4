// The shared tick loop (train/training_loop.h) around a stand-in run: where
// the metrics hook's results land, and that a failing grid, snapshot or
// metrics hook still leaves its tick's stats.jsonl line.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <fstream>
#include <cmath>
#include <csignal>
#include <sstream>
#include <iterator>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "engine/io/atomic_file.h"
#include "tests/testing.h"
#include "train/report.h"
#include "train/run_dir.h"
#include "train/run_main.h"
#include "train/stop_signal.h"
#include "train/training_loop.h"

using namespace gf;
using gf::test::ChildEnd;
using gf::test::run_in_child;
namespace fs = std::filesystem;

namespace {

// Four images a step; files are not written, snapshots are counted.
class StandInRun : public TrainingRun {
 public:
  void step() override { nimg_ += 4; }
  int64_t cur_nimg() const override { return nimg_; }
  Device device() const override { return Device::cpu(); }
  TickStats take_stats() override {
    TickStats s;
    s.fields = {{"loss_G", 0.5}};
    if (!tick_losses.empty()) s.fields["loss_G"] = tick_losses.at(taken);
    ++taken;
    return s;
  }
  std::vector<double> tick_losses;  // loss_G of each tick (0.5 when empty)
  size_t taken = 0;
  void write_reals(const std::string&, int, int) override {}
  void write_fakes(const std::string& path, int, int) override {
    fake_grids.push_back(fs::path(path).filename().string());
    if (++fakes == fail_fakes) throw std::runtime_error("disk full");
  }
  bool tick0_after_first_step() const override { return tick0; }
  std::string initial_fakes_name() const override { return initial_fakes; }
  bool snapshot_at_first_tick() const override { return snapshot_at_tick1; }
  std::vector<std::string> fake_grids;
  bool tick0 = true, snapshot_at_tick1 = false;
  std::string initial_fakes = "fakes_init.png";
  void write_snapshot(const std::string& path) override { snapshots.push_back(path); }
  void write_checkpoint(const std::string&) override {}
  std::vector<std::string> snapshots;
  int fakes = 0, fail_fakes = 0;  // the fail_fakes-th grid write throws (0: none)

 private:
  int64_t nimg_ = 0;
};

std::vector<nlohmann::json> stats_lines(const std::string& run_dir) {
  std::vector<nlohmann::json> out;
  std::ifstream f(run_dir + "/stats.jsonl");
  for (std::string l; std::getline(f, l);) out.push_back(nlohmann::json::parse(l));
  return out;
}

}  // namespace

TEST_CASE("run_training: the metrics join their snapshot tick's stats line; a failing hook keeps the line",
          "[training_loop]") {
  const fs::path base = fs::temp_directory_path() / ("gf_training_loop_" + std::to_string(::getpid()));
  fs::remove_all(base);
  LoopOptions lo;
  lo.total_kimg = 0.016;  // ticks 0 (after one step), 1, 2 and 3 (the end)
  lo.tick_kimg = 0.004;
  lo.snap_ticks = 2;
  int calls = 0;
  lo.after_snapshot = [&](const std::string& snapshot) {
    ++calls;
    CHECK(fs::path(snapshot).filename().string().rfind("network-snapshot-", 0) == 0);
    return nlohmann::json{{"fid50k_full", 10.0 + calls}};
  };
  {
    StandInRun t;
    RunDir run((base / "ok").string(), "standin", /*echo=*/false);
    run_training(t, run, lo);
    const auto lines = stats_lines(run.path());
    REQUIRE(lines.size() == 4);
    REQUIRE(t.snapshots.size() == 3);  // ticks 0, 2 and the end
    // The official loop's grid of the untrained G, before the first step.
    REQUIRE(!t.fake_grids.empty());
    CHECK(t.fake_grids.front() == "fakes_init.png");
    int with = 0;
    for (const auto& l : lines) {
      const bool snap_tick = l["tick"].get<int>() % 2 == 0 || &l == &lines.back();
      CHECK(l.contains("fid50k_full") == snap_tick);
      with += l.contains("fid50k_full");
      CHECK(l["loss_G"] == 0.5);
    }
    CHECK(with == calls);
    CHECK(lines.front()["fid50k_full"] == 11.0);
    // Beside the last checkpoint, its tick's line as it stood before the
    // metrics (carry_earlier_stats takes it when the process died before the line).
    std::ifstream tick_file(run.path() + "/" + kCheckpointTickFile);
    std::string tick_line;
    REQUIRE(std::getline(tick_file, tick_line));
    nlohmann::json without_metrics = lines.back();
    without_metrics.erase("fid50k_full");
    CHECK(nlohmann::json::parse(tick_line) == without_metrics);
  }
  // The second evaluation throws: the run ends with it, and its tick's line is there.
  calls = 0;
  lo.after_snapshot = [&](const std::string&) -> nlohmann::json {
    if (++calls == 2) throw std::runtime_error("detector failed");
    return {{"fid50k_full", 1.0}};
  };
  StandInRun t;
  RunDir run((base / "failing").string(), "standin", /*echo=*/false);
  CHECK_THROWS_WITH(run_training(t, run, lo), Catch::Contains("detector failed"));
  const auto lines = stats_lines(run.path());
  REQUIRE(lines.size() == 3);  // ticks 0, 1 and 2, where the hook threw
  CHECK(lines.back()["tick"] == 2);
  CHECK(!lines.back().contains("fid50k_full"));
  CHECK(lines.front()["fid50k_full"] == 1.0);

  // The same for a grid write that fails (the fourth: fakes_init.png, then ticks 0, 1 and 2): its tick's line stays.
  lo.after_snapshot = nullptr;
  StandInRun g;
  g.fail_fakes = 4;
  RunDir grid_run((base / "grid").string(), "standin", /*echo=*/false);
  lo.image_snap_ticks = 1;
  CHECK_THROWS_WITH(run_training(g, grid_run, lo), Catch::Contains("disk full"));
  const auto grid_lines = stats_lines(grid_run.path());
  REQUIRE(grid_lines.size() == 3);
  CHECK(grid_lines.back()["tick"] == 2);

  // StyleGAN (v1)'s loop: ticks from 1, a snapshot at tick 1 whatever the
  // interval, and its grid before the first step under the resume kimg's name.
  lo.image_snap_ticks = 0;
  lo.snap_ticks = 10;
  StandInRun v1;
  v1.tick0 = false;
  v1.snapshot_at_tick1 = true;
  v1.initial_fakes = "fakes000000.png";
  RunDir v1_run((base / "v1").string(), "standin", /*echo=*/false);
  run_training(v1, v1_run, lo);
  REQUIRE(v1.snapshots.size() == 2);  // tick 1 and the end (tick 4)
  CHECK(fs::path(v1.snapshots.front()).filename() == "network-snapshot-000000.bin");
  CHECK(v1.fake_grids.front() == "fakes000000.png");
  fs::remove_all(base);
}

TEST_CASE("run_training: the log warns at each tick where the statistics stop being finite", "[training_loop]") {
  const fs::path base = fs::temp_directory_path() / ("gf_training_loop_nan_" + std::to_string(::getpid()));
  fs::remove_all(base);
  LoopOptions lo;
  lo.total_kimg = 0.024;  // ticks 0 to 5
  lo.tick_kimg = 0.004;
  lo.snap_ticks = 0;
  StandInRun t;
  const double nan = std::nan(""), inf = HUGE_VAL;
  t.tick_losses = {0.5, nan, -nan, 0.25, inf, 1e30};
  RunDir run((base / "run").string(), "standin", /*echo=*/false);
  run_training(t, run, lo);
  REQUIRE(t.taken == 6);
  std::ifstream f(run.path() + "/log.txt");
  std::vector<std::string> warnings;
  for (std::string l; std::getline(f, l);)
    if (l.rfind("warning: ", 0) == 0) warnings.push_back(l);
  // Once where the run turns (tick 1), not again while it stays so (tick 2),
  // and again where it turns a second time (tick 4); a huge finite loss is no turn.
  REQUIRE(warnings.size() == 2);
  CHECK(warnings[0] == "warning: loss_G not finite at tick 1: the run may have diverged; it trains on, as the official loop does");
  CHECK(warnings[1].rfind("warning: loss_G not finite at tick 4: ", 0) == 0);
  fs::remove_all(base);
}

TEST_CASE("status_fixed, status_general and non_finite_fields: a diverging run's numbers keep the status line short",
          "[training_loop]") {
  CHECK(status_fixed(0.69314718, 4) == "0.6931");
  CHECK(status_fixed(-999999.25, 2) == "-999999.25");
  CHECK(status_fixed(1.234567e29, 4) == "1.2346e+29");  // %.4f printed 30 digits
  CHECK(status_fixed(-std::nan(""), 3) == "nan");       // printf writes "-nan"
  CHECK(status_fixed(-HUGE_VAL, 3) == "-inf");
  CHECK(status_general(-std::nan("")) == "nan");
  CHECK(status_general(1.5e-7) == "1.5e-07");
  const nlohmann::json fields = {{"a", 1.0}, {"b", std::nan("")}, {"c", 3}, {"d", HUGE_VAL}, {"e", "text"}};
  CHECK(non_finite_fields(fields) == "b, d");
  CHECK(non_finite_fields(fields, 1) == "b, ...");
  CHECK(non_finite_fields({{"a", 1.0}}).empty());
}

TEST_CASE("run_training: a stop signal ends the run between steps with Interrupted, and record_run_stopped marks "
          "the folder",
          "[training_loop]") {
  const fs::path base = fs::temp_directory_path() / ("gf_training_loop_stop_" + std::to_string(::getpid()));
  fs::remove_all(base);
  LoopOptions lo;
  lo.total_kimg = 1;
  lo.tick_kimg = 0.004;
  lo.snap_ticks = 0;
  struct StopAfter : StandInRun {
    void step() override {
      StandInRun::step();
      if (cur_nimg() == 12) set_stop_signal_for_test(SIGTERM);  // as the handler does
    }
  } t;
  RunDir run((base / "stopped").string(), "standin", /*echo=*/false);
  std::ofstream(run.file("training_options.json")) << "{\"total_kimg\": 1}";
  try {
    run_training(t, run, lo);
    FAIL("run_training returned");
  } catch (const Interrupted& e) {
    CHECK(std::string(e.what()) == "Interrupted by SIGTERM");
    CHECK(e.signal == SIGTERM);
  }
  set_stop_signal_for_test(0);
  CHECK(t.cur_nimg() == 12);  // no step after the signal
  REQUIRE(fs::exists(run.file("report.html")));
  record_run_stopped("train_x: error: Interrupted by SIGTERM");
  std::ifstream log(run.file("log.txt"));
  std::string last;
  for (std::string l; std::getline(log, l);) last = l;
  CHECK(last == "train_x: error: Interrupted by SIGTERM");
  std::ifstream page(run.file("report.html"));
  std::stringstream ss;
  ss << page.rdbuf();
  CHECK(ss.str().find("Stopped: Interrupted by SIGTERM") != std::string::npos);
  fs::remove_all(base);
}

TEST_CASE("run_training: a stop signal during the final snapshot ends the complete run by the signal, and says so",
          "[training_loop]") {
  // The signal comes after the last step's check: nothing is left to stop,
  // the process ends by it (as without the handler), and stderr and log.txt
  // say that the run is complete; the page stays "Finished".
  const fs::path base = fs::temp_directory_path() / ("gf_training_loop_late_" + std::to_string(::getpid()));
  fs::remove_all(base);
  const std::string run_path = (base / "late").string();
  const ChildEnd end = run_in_child([&] {
    ::signal(SIGTERM, SIG_DFL);
    struct SignalInFinalCheckpoint : StandInRun {
      void write_checkpoint(const std::string&) override {
        if (cur_nimg() >= 8) set_stop_signal_for_test(SIGTERM);  // as the handler does
      }
    } t;
    LoopOptions lo;
    lo.total_kimg = 0.008;
    lo.tick_kimg = 0.004;
    lo.snap_ticks = 1;
    RunDir run(run_path, "standin", /*echo=*/false);
    run_training(t, run, lo);  // its end raises the signal: no return
  });
  CHECK((WIFSIGNALED(end.status) ? WTERMSIG(end.status) : -1) == SIGTERM);
  INFO(end.err);
  CHECK(end.err.find("Interrupted by SIGTERM during the final snapshot, with no step left to stop: the run is complete") !=
        std::string::npos);
  fs::path folder;
  for (const auto& e : fs::directory_iterator(run_path)) folder = e.path();
  std::ifstream log(folder / "log.txt");
  std::string last;
  for (std::string l; std::getline(log, l);) last = l;
  CHECK(last.rfind("Interrupted by SIGTERM during the final snapshot, with no step left", 0) == 0);
  std::ifstream page(folder / "report.html");
  std::stringstream ss;
  ss << page.rdbuf();
  CHECK(ss.str().find("Stopped:") == std::string::npos);
  fs::remove_all(base);
}

TEST_CASE("run_main ends by a pending stop signal even when another error ended the run", "[training_loop]") {
  // A signal asked the run to stop, then something else failed first (the
  // final snapshot's write): the process still dies of the signal (130/143).
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGTERM, SIG_DFL);
    ::setenv("GOMP_SPINCOUNT", "0", 1);  // or run_main would execute gf_tests again to set it
    set_stop_signal_for_test(SIGTERM);
    cli::run_main("test", []() -> int { throw Error("a full disk"); });
    ::_exit(2);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK((WIFSIGNALED(status) ? WTERMSIG(status) : -1) == SIGTERM);
}

TEST_CASE("run_main says out of memory in words, not std::bad_alloc", "[training_loop]") {
  // A failed allocation outside the engine's allocator (a std::vector of a
  // large grid) ended "error: std::bad_alloc".
  const ChildEnd end = run_in_child([] {
    ::setenv("GOMP_SPINCOUNT", "0", 1);  // or run_main would execute gf_tests again to set it
    ::_exit(cli::run_main("test", []() -> int { throw std::bad_alloc(); }));
  });
  CHECK(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 1);
  INFO(end.err);  // a warning of a run folder an earlier test left registered may come first
  CHECK(end.err.find("test: error: out of memory (an allocation failed") != std::string::npos);
  CHECK(end.err.find("bad_alloc") == std::string::npos);
}

TEST_CASE("StopOnSignal: the first signal only asks; a second during a write removes its temporary and ends the "
          "process by the signal",
          "[training_loop]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_stop_signal_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string path = (dir / "checkpoint.bin").string();
  io::write_atomic(path, [](std::ostream& o) { o << "the earlier complete file"; }, "test");
  for (const int sig : {SIGINT, SIGTERM}) {
    INFO("signal " << sig);
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      ::signal(SIGINT, SIG_DFL);  // Catch2 handles these in the test process; a program starts with the defaults
      ::signal(SIGTERM, SIG_DFL);
      ::close(ready[0]);
      const StopOnSignal stop;
      try {
        io::write_atomic(path, [&](std::ostream& o) {
          o << std::string(1 << 16, 'x');
          o.flush();
          if (::write(ready[1], "w", 1) != 1) ::_exit(3);
          bool told = false;
          for (int k = 0; k < 300; ++k) {  // 30 s at most; the second signal ends it
            ::usleep(100 * 1000);
            try {
              throw_if_stop_requested();
            } catch (const Interrupted&) {
              if (!told && ::write(ready[1], "s", 1) != 1) ::_exit(3);
              told = true;  // the first signal: the write goes on
            }
          }
          ::_exit(2);
        }, "test");
      } catch (...) {
      }
      ::_exit(2);
    }
    ::close(ready[1]);
    char c = 0;
    CHECK(::read(ready[0], &c, 1) == 1);
    const std::string tmp = path + "." + std::to_string(child) + ".tmp";  // io::temp_name in the child
    CHECK(fs::exists(tmp));
    ::kill(child, sig);
    CHECK(::read(ready[0], &c, 1) == 1);  // seen by the writer, which is still alive and writing
    CHECK(c == 's');
    CHECK(fs::exists(tmp));
    ::kill(child, sig);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    ::close(ready[0]);
    CHECK((WIFSIGNALED(status) ? WTERMSIG(status) : -1) == sig);
    CHECK_FALSE(fs::exists(tmp));
    std::ifstream f(path);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    CHECK(all == "the earlier complete file");
  }
  fs::remove_all(dir);
}
