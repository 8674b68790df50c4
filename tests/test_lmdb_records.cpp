// LmdbRecords (train/lmdb_records.h): liblmdb's reading in a child process,
// which must behave as the program would alone: every record in key order,
// and the signals the program ignores ignored there too.
#include <catch2/catch.hpp>
#include <lmdb.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testing.h"
#include "train/lmdb_records.h"

using namespace gf;
namespace fs = std::filesystem;

namespace {

// An LMDB environment in `dir` of n records of `bytes` bytes each, keys k0000...
void write_lmdb(const fs::path& dir, int n, size_t bytes) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  REQUIRE(mdb_env_set_mapsize(env, size_t(n + 1) * (bytes + 8192) + (1 << 20)) == 0);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0644) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, nullptr, 0, &dbi) == 0);
  for (int i = 0; i < n; ++i) {
    char key[16];
    std::snprintf(key, sizeof key, "k%04d", i);
    std::string value(bytes, char('a' + i % 26));
    MDB_val k{std::string(key).size(), key}, v{value.size(), value.data()};
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  }
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

// The processes whose parent is this one (from /proc/<pid>/stat).
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream f(e.path() / "stat");
    std::string line;
    if (!std::getline(f, line)) continue;
    const size_t close = line.rfind(')');  // the command may hold spaces and parentheses
    int ppid = 0;
    char state = 0;
    if (close != std::string::npos && std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2 &&
        ppid == ::getpid())
      out.push_back(std::stoi(name));
  }
  return out;
}

// Whether process pid ignores sig (its SigIgn mask in /proc/<pid>/status).
bool ignores(pid_t pid, int sig) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.rfind("SigIgn:", 0) == 0) return (std::stoull(line.substr(7), nullptr, 16) >> (sig - 1)) & 1;
  return false;
}

}  // namespace

// Under nohup (SIGHUP ignored) a terminal's hangup stopped the child's
// reading, and the conversion failed with "stopped by SIGHUP": the child had
// set every guarded signal to its default action.
TEST_CASE("LmdbRecords: the reader ignores what the program ignores, and sends every record", "[lmdb]") {
  test::TempDir dir("lmdb_records");
  const size_t bytes = 256 << 10;  // more than a pipe holds: the child is still sending when checked
  write_lmdb(dir.path, 6, bytes);
  struct sigaction ignore {}, before {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  REQUIRE(::sigaction(SIGHUP, &ignore, &before) == 0);
  {
    LmdbRecords db(dir.path.string());
    CHECK(db.entries() == 6);
    const std::vector<pid_t> kids = children();
    REQUIRE(kids.size() == 1);
    CHECK(ignores(kids[0], SIGHUP));
    std::string key;
    std::vector<uint8_t> value;
    int n = 0;
    while (db.next(key, value)) {
      CHECK(key == "k000" + std::to_string(n));
      CHECK(value == std::vector<uint8_t>(bytes, uint8_t('a' + n)));
      ++n;
    }
    CHECK(n == 6);
  }
  ::sigaction(SIGHUP, &before, nullptr);
  CHECK(children().empty());  // reaped
}
