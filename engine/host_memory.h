// How much memory this process may use: the machine's physical RAM, or less
// where a control group caps it (a Docker or Kubernetes memory limit, a
// systemd slice, a batch scheduler's job). Checks that refuse an input too
// large to hold (data/dataset.cpp) ask this, so inside a container the
// refusal is one line instead of the kernel's OOM killer.
#pragma once
#include <cstdint>
#include <string>

namespace gf {

struct HostMemory {
  uint64_t bytes = 0;   // the usable amount; 0 when not even RAM could be read
  std::string limited;  // what sets it: "physical memory" or the limiting cgroup file
};

// The smallest of physical RAM, every memory limit on the way from this
// process's control groups up to the root, in cgroup v2 (memory.max) and v1
// (memory.limit_in_bytes), and what an address-space limit (RLIMIT_AS,
// ulimit -v) leaves past what the process has mapped. "max", unreadable
// files and v1's "unlimited" (a page-rounded 2^63) leave RAM as the answer.
// `root` prefixes /proc and /sys for tests ("" for the real ones).
HostMemory usable_host_memory(const std::string& root = "");

// How much more this process can take now before the kernel's OOM killer
// would end it: the smallest of /proc/meminfo's MemAvailable + SwapFree
// (+ ZFS's ARC past its floor, which MemAvailable leaves out),
// what each memory-limited control group on the way up leaves past its
// usage (its file pages, page cache the kernel reclaims, counted as free;
// v2 memory.max, memory.current, memory.stat; v1 limit_in_bytes,
// usage_in_bytes, total_*_file) plus the swap it may still use (the
// machine's SwapFree, within v2's memory.swap.max and v1's memsw limit),
// and what an address-space limit leaves.
// `limited` names the tightest ("/proc/meminfo (MemAvailable + SwapFree)",
// a limit file, or "the address-space limit, ulimit -v").
// bytes is UINT64_MAX where none could be read. The CPU allocator asks it
// before a large block (engine/allocator.cpp): with the kernel's overcommit
// a block past it is handed out, and the process killed when it is used.
HostMemory available_host_memory(const std::string& root = "");

}  // namespace gf
