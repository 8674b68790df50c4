// write_atomic: the file appears whole or not at all, and the old one
// survives a failed write.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "engine/error.h"
#include "engine/io/atomic_file.h"

namespace fs = std::filesystem;

namespace {
std::string read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("write_atomic replaces a file whole, and a failed write keeps the old one", "[atomic_file]") {
  const fs::path dir = fs::temp_directory_path() / ("gf_test_atomic_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / "f.txt").string();
  // The temporary carries the process id, so two suites writing the same path cannot collide.
  const std::string tmp = path + "." + std::to_string(::getpid()) + ".tmp";
  CHECK(gf::io::temp_name(path) == tmp);
  gf::io::write_atomic(path, [&](std::ostream& o) {
    CHECK(fs::exists(tmp));
    o << "first";
  }, "test");
  CHECK(read_all(path) == "first");
  CHECK_FALSE(fs::exists(tmp));
  gf::io::write_atomic(path, [](std::ostream& o) { o << "second"; }, "test");
  CHECK(read_all(path) == "second");

  // The writer fails half-way: the old file stays, no temporary is left.
  CHECK_THROWS_WITH(gf::io::write_atomic(path,
                                         [](std::ostream& o) {
                                           o << "partial";
                                           throw std::runtime_error("disk gone");
                                         },
                                         "test"),
                    "disk gone");
  CHECK(read_all(path) == "second");
  CHECK_FALSE(fs::exists(tmp));

  // An unwritable place: one error naming the caller and the file.
  const std::string nowhere = (dir / "no-such-dir" / "f.txt").string();
  CHECK_THROWS_WITH(gf::io::write_atomic(nowhere, [](std::ostream& o) { o << "x"; }, "save_thing"),
                    Catch::StartsWith("save_thing: cannot write " + nowhere + ": ") &&
                        Catch::EndsWith("No such file or directory"));
  fs::remove_all(dir);
}
