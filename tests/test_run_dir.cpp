// RunDir (train/run_dir.h): the numbered run folders of the official layout.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "train/run_dir.h"

namespace fs = std::filesystem;

// Runs started at once scan the outdir before either makes its folder; each
// must still get a folder of its own. One round of threads rarely interleaves
// the scan and the mkdir on a 2-core machine, so the test races many rounds
// (before the fix about half of them failed).
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
          paths[i] = gf::RunDir(outdir.string(), "same", /*echo=*/false).path();
        } catch (const std::exception& e) {
          errors[i] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    std::set<std::string> distinct(paths.begin(), paths.end());
    std::string first_error;
    for (const auto& e : errors)
      if (first_error.empty()) first_error = e;
    INFO("round " << round << ": " << first_error);
    REQUIRE(first_error.empty());
    REQUIRE(distinct.size() == static_cast<size_t>(kRuns));
    for (const auto& p : distinct) {
      REQUIRE(fs::path(p).filename().string().substr(5) == "-same");
      REQUIRE(std::stoi(fs::path(p).filename().string().substr(0, 5)) >= 5);
    }
  }
  fs::remove_all(outdir);
}
