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

TEST_CASE("run folders: runs started at once in one outdir each get their own numbered folder", "[run_dir]") {
  const fs::path outdir = fs::temp_directory_path() / ("gf_test_run_dir_" + std::to_string(::getpid()));
  fs::remove_all(outdir);
  fs::create_directories(outdir / "00004-other");  // the numbering continues after any run's number
  constexpr int kRuns = 8;
  std::vector<std::string> paths(kRuns), errors(kRuns);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kRuns; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < kRuns) {}  // all scan the outdir at about the same moment
      try {
        paths[i] = gf::RunDir(outdir.string(), "same", /*echo=*/false).path();
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  std::set<std::string> distinct;
  for (int i = 0; i < kRuns; ++i) {
    INFO(errors[i]);
    CHECK(errors[i].empty());
    distinct.insert(paths[i]);
  }
  CHECK(distinct.size() == static_cast<size_t>(kRuns));
  for (const auto& p : distinct) {
    CHECK(fs::path(p).filename().string().substr(5) == "-same");
    CHECK(std::stoi(fs::path(p).filename().string().substr(0, 5)) >= 5);
  }
  fs::remove_all(outdir);
}
