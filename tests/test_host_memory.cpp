// usable_host_memory: RAM, or the tightest control-group limit on the way
// from this process's groups to the root, on fake /proc and /sys trees.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "engine/host_memory.h"
#include "tests/testing.h"

namespace fs = std::filesystem;

namespace {

// A temporary folder standing for "/": write("proc/self/cgroup", ...).
struct FakeRoot : gf::test::TempDir {
  FakeRoot() : TempDir("host_memory") {}
  void write(const std::string& rel, const std::string& text) const {
    fs::create_directories((path / rel).parent_path());
    std::ofstream(path / rel) << text;
  }
  std::string root() const { return path.string(); }
};

uint64_t ram() { return uint64_t(::sysconf(_SC_PHYS_PAGES)) * uint64_t(::sysconf(_SC_PAGE_SIZE)); }

}  // namespace

TEST_CASE("usable_host_memory is RAM without any cgroup limit", "[host_memory]") {
  FakeRoot t;
  gf::HostMemory m = gf::usable_host_memory(t.root());
  CHECK(m.bytes == ram());
  CHECK(m.limited == "physical memory");
  // "max" (v2) and v1's page-rounded 2^63 both mean no limit.
  t.write("proc/self/cgroup", "4:memory:/job\n0::/user.slice/app\n");
  t.write("sys/fs/cgroup/user.slice/memory.max", "max\n");
  t.write("sys/fs/cgroup/memory/job/memory.limit_in_bytes", "9223372036854771712\n");
  m = gf::usable_host_memory(t.root());
  CHECK(m.bytes == ram());
}

TEST_CASE("usable_host_memory takes the tightest limit of a group and its ancestors", "[host_memory]") {
  FakeRoot t;
  SECTION("cgroup v2, a limit on the parent") {
    t.write("proc/self/cgroup", "0::/kubepods/pod1/ctr\n");
    t.write("sys/fs/cgroup/kubepods/pod1/ctr/memory.max", "max\n");
    t.write("sys/fs/cgroup/kubepods/pod1/memory.max", "1073741824\n");
    t.write("sys/fs/cgroup/kubepods/memory.max", "2147483648\n");
    const gf::HostMemory m = gf::usable_host_memory(t.root());
    CHECK(m.bytes == 1073741824u);
    CHECK(m.limited == "/sys/fs/cgroup/kubepods/pod1/memory.max");
  }
  SECTION("cgroup v2 in its own namespace: the limit at the mount's root") {
    t.write("proc/self/cgroup", "0::/\n");
    t.write("sys/fs/cgroup/memory.max", "536870912\n");
    CHECK(gf::usable_host_memory(t.root()).bytes == 536870912u);
  }
  SECTION("cgroup v1, memory among other controllers, the group itself limited") {
    t.write("proc/self/cgroup", "7:cpu,cpuacct:/docker/abc\n5:blkio,memory:/docker/abc\n");
    t.write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "805306368\n");
    t.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    const gf::HostMemory m = gf::usable_host_memory(t.root());
    CHECK(m.bytes == 805306368u);
    CHECK(m.limited == "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes");
  }
  SECTION("a hybrid machine: v2 under unified/, the smaller of both kinds wins") {
    t.write("proc/self/cgroup", "3:memory:/slurm/job7\n0::/slurm/job7\n");
    t.write("sys/fs/cgroup/memory/slurm/job7/memory.limit_in_bytes", "3221225472\n");
    t.write("sys/fs/cgroup/unified/slurm/memory.max", "2147483648\n");
    CHECK(gf::usable_host_memory(t.root()).bytes == 2147483648u);
  }
}

TEST_CASE("usable_host_memory ignores unreadable and malformed limits", "[host_memory]") {
  FakeRoot t;
  t.write("proc/self/cgroup", "garbage line\n0::/a\n2:memory:/b\n");
  t.write("sys/fs/cgroup/a/memory.max", "-5\n");
  t.write("sys/fs/cgroup/memory.max", "12abc\n");
  t.write("sys/fs/cgroup/memory/b/memory.limit_in_bytes", "\n");
  t.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "0\n");
  CHECK(gf::usable_host_memory(t.root()).bytes == ram());
}

// Under an address-space limit (ulimit -v) what is left of it past the
// process's mappings is the usable amount, named so; in a forked child, so
// the limit stays there. The fake /proc's statm says 1000 pages are mapped.
TEST_CASE("usable_host_memory takes what an address-space limit leaves", "[host_memory]") {
  FakeRoot t;
  t.write("proc/self/statm", "1000 200 100 10 0 300 0\n");
  const uint64_t page = uint64_t(::sysconf(_SC_PAGE_SIZE));
  const gf::test::ChildEnd end = gf::test::run_in_child([&] {
    // 2 GiB past what this process maps now: below this machine's RAM.
    const uint64_t limit = gf::test::limit_address_space(uint64_t(1) << 31);
    if (limit == 0) ::_exit(4);
    const gf::HostMemory m = gf::usable_host_memory(t.root());
    ::_exit(m.bytes == limit - 1000 * page && m.limited == "the address-space limit, ulimit -v" ? 0 : 5);
  });
  REQUIRE(WIFEXITED(end.status));
  CHECK(WEXITSTATUS(end.status) == 0);
  // Without the limit, RAM as before.
  CHECK(gf::usable_host_memory(t.root()).limited == "physical memory");
}

// available_host_memory: what the process may still take before the OOM
// killer would end it, the smallest of /proc/meminfo's and each limited
// group's, a group's file pages (page cache the kernel takes back) free.
TEST_CASE("available_host_memory: MemAvailable + SwapFree, or a group's limit's rest", "[host_memory]") {
  FakeRoot t;
  CHECK(gf::available_host_memory(t.root()).bytes == UINT64_MAX);  // nothing to read: no refusal
  t.write("proc/meminfo", "MemTotal:       24563380 kB\nMemFree:          100000 kB\nMemAvailable:    2000000 kB\n"
                          "SwapTotal:       1048576 kB\nSwapFree:         48576 kB\n");
  gf::HostMemory m = gf::available_host_memory(t.root());
  CHECK(m.bytes == (2000000ull + 48576ull) * 1024);
  CHECK(m.limited == "/proc/meminfo (MemAvailable + SwapFree)");
  SECTION("cgroup v2: the limit less what the group holds past its file pages, and the swap it may use") {
    const uint64_t swap_free = 48576ull * 1024;
    t.write("proc/self/cgroup", "0::/job\n");
    t.write("sys/fs/cgroup/job/memory.max", "1073741824\n");
    t.write("sys/fs/cgroup/job/memory.current", "943718400\n");  // 900 MiB, 400 of them page cache
    t.write("sys/fs/cgroup/job/memory.stat", "anon 524288000\nfile 419430400\nactive_file 314572800\n"
                                              "inactive_file 104857600\nshmem 0\n");
    t.write("sys/fs/cgroup/job/memory.swap.max", "0\n");  // no swap for this group
    m = gf::available_host_memory(t.root());
    CHECK(m.bytes == 1073741824ull - (943718400ull - 419430400ull));
    CHECK(m.limited == "/sys/fs/cgroup/job/memory.max");
    // Swap allowed: the machine's free swap, or what the group's swap limit leaves of it.
    t.write("sys/fs/cgroup/job/memory.swap.max", "max\n");
    CHECK(gf::available_host_memory(t.root()).bytes == 1073741824ull - (943718400ull - 419430400ull) + swap_free);
    t.write("sys/fs/cgroup/job/memory.swap.max", "20971520\n");
    t.write("sys/fs/cgroup/job/memory.swap.current", "10485760\n");
    CHECK(gf::available_host_memory(t.root()).bytes == 1073741824ull - (943718400ull - 419430400ull) + 10485760);
    t.write("sys/fs/cgroup/job/memory.swap.max", "0\n");
    // Without memory.stat the whole usage counts: less is left.
    fs::remove(t.path / "sys/fs/cgroup/job/memory.stat");
    CHECK(gf::available_host_memory(t.root()).bytes == 1073741824ull - 943718400ull);
    // A group past its limit leaves nothing.
    t.write("sys/fs/cgroup/job/memory.current", "2000000000\n");
    CHECK(gf::available_host_memory(t.root()).bytes == 0);
  }
  SECTION("cgroup v1, the total_ file pages") {
    t.write("proc/self/cgroup", "5:memory:/docker/abc\n");
    t.write("sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes", "805306368\n");
    t.write("sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes", "805306368\n");
    t.write("sys/fs/cgroup/memory/docker/abc/memory.stat", "cache 300000000\ntotal_active_file 100000000\n"
                                                            "total_inactive_file 200000000\n");
    // Swap not limited for the group: the machine's free swap on top.
    m = gf::available_host_memory(t.root());
    CHECK(m.bytes == 300000000u + 48576ull * 1024);
    CHECK(m.limited == "/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes");
    // memory and swap capped together: what that cap leaves.
    t.write("sys/fs/cgroup/memory/docker/abc/memory.memsw.limit_in_bytes", "825306368\n");
    t.write("sys/fs/cgroup/memory/docker/abc/memory.memsw.usage_in_bytes", "805306368\n");
    CHECK(gf::available_host_memory(t.root()).bytes == 825306368u - (805306368u - 300000000u));
  }
  SECTION("ZFS's cache past its floor counts as available, as the page cache does") {
    t.write("proc/spl/kstat/zfs/arcstats", "13 1 0x01 123 33456 1234 5678\n"
                                           "name                            type data\n"
                                           "hits                            4    1000\n"
                                           "c_min                           4    1048576\n"
                                           "size                            4    5242880\n");
    CHECK(gf::available_host_memory(t.root()).bytes == (2000000ull + 48576ull) * 1024 + 4194304);
  }
  SECTION("an unlimited group leaves /proc/meminfo's answer") {
    t.write("proc/self/cgroup", "0::/job\n");
    t.write("sys/fs/cgroup/job/memory.max", "max\n");
    t.write("sys/fs/cgroup/job/memory.current", "943718400\n");
    CHECK(gf::available_host_memory(t.root()).bytes == (2000000ull + 48576ull) * 1024);
  }
}
