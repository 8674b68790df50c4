// LmdbRecords (data/archives/lmdb_records.h): liblmdb's reading in a child process,
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
#include "data/archives/lmdb_records.h"

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

// A branch page whose second child is its first: the first leaf's records
// came again, and branch pages of such pointers made a 24 kB file enumerate
// half a billion records. The reader refuses the first key out of order.
TEST_CASE("LmdbRecords: a leaf reached twice is refused as damage", "[lmdb]") {
  test::TempDir dir("lmdb_loop");
  write_lmdb(dir.path, 200, 100);  // several leaves under one branch root
  const fs::path file = dir.path / "data.mdb";
  std::string b;
  {
    std::ifstream f(file, std::ios::binary);
    b.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto u16 = [&](size_t at) { return size_t(uint8_t(b[at])) | size_t(uint8_t(b[at + 1])) << 8; };
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | uint8_t(b[at + size_t(i)]);
    return v;
  };
  // The current meta page (the larger txnid) names the main database's root:
  // MDB_meta at byte 16 of pages 0 and 1, the main MDB_db's md_root at +112,
  // mm_txnid at +128; the page size is the meta's page distance.
  const size_t page = b.find(std::string("\xDE\xC0\xEF\xBE", 4), 17) - 16;
  const size_t meta = u64(16 + 128) >= u64(page + 16 + 128) ? 16 : page + 16;
  const size_t root = size_t(u64(meta + 112)) * page;
  REQUIRE((u16(root + 10) & 1) == 1);  // P_BRANCH
  REQUIRE((u16(root + 12) - 16) / 2 >= 3);  // at least three children
  // Node 1's child page number (mn_lo, mn_hi, mn_flags) made node 0's.
  const size_t node0 = root + u16(root + 16), node1 = root + u16(root + 18);
  b.replace(node1, 6, b.substr(node0, 6));
  {
    std::ofstream f(file, std::ios::binary | std::ios::trunc);
    f.write(b.data(), std::streamsize(b.size()));
  }
  LmdbRecords db(dir.path.string());
  std::string key;
  std::vector<uint8_t> value;
  int n = 0;
  std::string error;
  try {
    while (db.next(key, value)) ++n;
  } catch (const Error& e) {
    error = e.what();
  }
  CHECK(n > 0);
  CHECK(n < 200);
  CHECK_THAT(error, Catch::Contains("data.mdb is damaged: record " + std::to_string(n + 1) + " does not follow record " +
                                    std::to_string(n) + " in the database's order"));
}

// A DUPSORT database holds a key many times, its values ascending: every
// record is read, none taken for a page reached twice.
TEST_CASE("LmdbRecords: a DUPSORT database's repeated keys are read in order", "[lmdb]") {
  test::TempDir dir("lmdb_dupsort");
  {
    MDB_env* env = nullptr;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_mapsize(env, size_t(1) << 20) == 0);
    REQUIRE(mdb_env_open(env, dir.path.c_str(), 0, 0644) == 0);
    MDB_txn* txn = nullptr;
    REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, nullptr, MDB_DUPSORT, &dbi) == 0);
    for (const char* key : {"b", "a"})
      for (const char* value : {"v3", "v1", "v2"}) {  // stored sorted whatever the order put
        MDB_val k{1, const_cast<char*>(key)}, v{2, const_cast<char*>(value)};
        REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
      }
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
  }
  LmdbRecords db(dir.path.string());
  std::string key, got;
  std::vector<uint8_t> value;
  while (db.next(key, value)) got += key + ":" + std::string(value.begin(), value.end()) + " ";
  CHECK(got == "a:v1 a:v2 a:v3 b:v1 b:v2 b:v3 ");
}
