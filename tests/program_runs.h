// How the bad-input tests (test_program_flags.cpp, test_input_contents.cpp, test_output_paths.cpp,
// test_python_tools.cpp, test_training_edge_cases.cpp) run the programs a user runs: where they are, one
// temporary folder for the test process, a command's exit status and output, the images they give them.
// GF_BIN_DIR, GF_SOURCE_DIR and GF_PYTHON3 come from tests/cli/bad_input.cmake.
#pragma once
#include <catch2/catch.hpp>
#include <stb_image_write.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <vector>

#include "tests/testing.h"

namespace gf::test {

inline const std::string kBin = GF_BIN_DIR, kSource = GF_SOURCE_DIR, kPython = GF_PYTHON3;
// Fixed for this process (its id: concurrent runs of the suite never share
// it), wiped at the start of each case that writes there. One folder for
// every file that includes this (an inline variable: one object).
inline const std::filesystem::path kBase =
    std::filesystem::temp_directory_path() / ("gf_test_bad_input_" + std::to_string(::getpid()));
// Removed when the test binary exits (destroyed before kBase, declared after it;
// an inline variable too, so one remover).
struct RemoveBaseAtExit {
  ~RemoveBaseAtExit() {
    std::error_code ignored;
    std::filesystem::remove_all(kBase, ignored);
  }
};
inline RemoveBaseAtExit remove_base_at_exit;

inline std::string quoted(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
  int lines() const { return static_cast<int>(std::count(out.begin(), out.end(), '\n')); }
};

inline Result run(const std::string& command) {
  std::filesystem::create_directories(kBase);
  const std::filesystem::path log = kBase / ("run_" + std::to_string(::getpid()) + ".log");
  Result r;
  r.code = gf::test::shell("OMP_NUM_THREADS=1 " + command + " > " + log.string() + " 2>&1");
  r.out = file_bytes(log);
  std::filesystem::remove(log);
  return r;
}

inline bool have_python() { return ::access(kPython.c_str(), X_OK) == 0; }

inline std::string png(int w, int h, int c, const std::vector<uint8_t>& px, bool bmp = false) {
  std::string out;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((char*)data, size); };
  if (bmp) REQUIRE(stbi_write_bmp_to_func(append, &out, w, h, c, px.data()));
  else REQUIRE(stbi_write_png_to_func(append, &out, w, h, c, px.data(), w * c));
  return out;
}

inline void write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace gf::test
